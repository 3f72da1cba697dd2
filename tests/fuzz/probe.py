"""Raw HTTP against a running gateway, with what every answer must satisfy.

Every response is recorded for the secret scan. ``assert_clean`` is the fuzz oracle:
never a 5xx, never a stack trace, a file path or an internal error in the body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.secrets_scan import Captured

__all__ = ["Probe", "Reply", "assert_clean", "assert_graphql_shaped"]

# What a stack trace or an internal detail looks like in a body.
_INTERNALS = re.compile(
    r"Traceback|File \"|\.py\b|site-packages|/work/|/usr/lib|sqlalchemy|asyncpg|aiosqlite"
    r"|Unexpected error\.|Internal server error",
    re.IGNORECASE,
)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Probe:
    """Sends requests to ``url`` and records every answer into ``captured``."""

    url: str
    session: aiohttp.ClientSession
    captured: Captured

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        data: bytes | str | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        async with self.session.request(
            method,
            self.url + path,
            headers=headers,
            data=data,
            params=params,
            skip_auto_headers=("Content-Type",),
        ) as response:
            text = await response.text(errors="replace")
            reply = Reply(response.status, dict(response.headers), text)
        self.captured.response(f"{method} {path}", reply.status, reply.headers, reply.text)
        return reply

    async def graphql(
        self, document: str, variables: dict[str, Any] | None = None, *, key: str
    ) -> dict[str, Any]:
        """A well-formed POST; the answer must be clean and GraphQL-shaped."""
        sent = json.dumps({"query": document, "variables": variables or {}})
        reply = await self.send(
            "POST",
            "/graphql",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            data=sent,
        )
        assert_clean(reply, sent)
        body = assert_graphql_shaped(reply)
        return body


def assert_clean(reply: Reply, sent: str = "") -> None:
    """No 5xx, and nothing internal in the body (unless the request itself said it:
    a syntax error quotes the client's own text back)."""
    assert reply.status < 500, (reply.status, reply.text[:500])
    echoed = sent.lower()
    for found in _INTERNALS.finditer(reply.text):
        assert found.group(0).lower() in echoed, (found.group(0), reply.text[:500])


def assert_graphql_shaped(reply: Reply) -> dict[str, Any]:
    """A JSON object with ``data`` and/or a non-empty ``errors`` list of messages."""
    body = reply.json()
    assert isinstance(body, dict), reply.text[:200]
    assert "data" in body or "errors" in body, reply.text[:200]
    assert set(body) <= {"data", "errors", "extensions"}, reply.text[:200]
    if "errors" in body:
        errors = body["errors"]
        assert isinstance(errors, list), reply.text[:200]
        assert errors, reply.text[:200]
        for error in errors:
            assert isinstance(error, dict), reply.text[:200]
            assert isinstance(error.get("message"), str), reply.text[:200]
    if reply.status >= 400:
        assert "errors" in body, reply.text[:200]
    return body
