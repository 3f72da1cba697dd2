"""Serving GraphiQL: the page and its files, with the headers a browser page needs.

``load_graphiql`` reads the vendored files, checks them against the manifest and the
installed Strawberry's page, and rewrites the page. When anything does not match it
logs one warning and returns None: the server starts without GraphiQL (a browser's
``GET /graphql`` then gets what any other client gets) instead of not starting.

Every response here carries ``SECURITY_HEADERS``; the page also its
Content-Security-Policy and ``Cache-Control: no-store`` (the demo's page holds a key).
Files are cached for a year: each URL names an exact version or content hash.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from aiohttp import web

from ordergraph.graphiql.manifest import ASSETS_DIR, VendoredFile, content_type, read_vendored
from ordergraph.graphiql.page import (
    ASSETS_PREFIX,
    OwnFile,
    PageTemplate,
    build_page,
    own_files,
)
from ordergraph.graphiql.tags import strawberry_page

__all__ = [
    "GRAPHIQL_WELCOME",
    "SECURITY_HEADERS",
    "SERVE_KEY_HINT",
    "GraphiQLFiles",
    "GraphiQLWelcome",
    "load_graphiql",
]

logger = logging.getLogger(__name__)

SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_ASSET_CACHE_CONTROL: Final = "public, max-age=31536000, immutable"

SERVE_KEY_HINT: Final = (
    'Put an API key of this gateway in the Headers tab below as {"Authorization": '
    '"Bearer <key>"}; the docs pane loads the schema as soon as the key is accepted '
    "(and introspection is on). Keys are issued by the gateway's operator."
)


@dataclass(frozen=True)
class GraphiQLWelcome:
    """What the page says about API keys, and what its Headers tab starts with."""

    key_hint: str = SERVE_KEY_HINT
    # Only the demo sets this (its own, printed keys): serve never puts a key in a page.
    headers: Mapping[str, str] = field(default_factory=dict)


GRAPHIQL_WELCOME: Final = web.AppKey("graphiql_welcome", GraphiQLWelcome)
"""Set by ``ordergraph demo`` before the app starts; absent: ``GraphiQLWelcome()``."""


def _asset_handler(url: str, media_type: str, data: bytes, integrity: str) -> web.RouteDef:
    # A strong validator from the content hash (base64 is ETag-safe).
    etag = integrity.removeprefix("sha384-")
    headers = {**SECURITY_HEADERS, "Cache-Control": _ASSET_CACHE_CONTROL}

    async def serve(request: web.Request) -> web.Response:
        wanted = request.if_none_match
        if wanted and any(tag.value in (etag, "*") for tag in wanted):
            response = web.Response(status=304, headers=headers)
        else:
            response = web.Response(
                body=data, content_type=media_type, charset="utf-8", headers=headers
            )
        response.etag = etag
        return response

    return web.get(url, serve)


@dataclass(frozen=True)
class GraphiQLFiles:
    """The rewritten page and one exact route per file it loads (nothing else is
    reachable under ``ASSETS_PREFIX``); about 4 MB held in memory."""

    page: PageTemplate
    routes: tuple[web.RouteDef, ...]

    def respond(
        self, welcome: GraphiQLWelcome, *, subscription_path: str | None = None
    ) -> web.Response:
        body = self.page.render(
            key_hint=welcome.key_hint,
            headers=welcome.headers,
            subscription_path=subscription_path,
        )
        headers = {
            **SECURITY_HEADERS,
            "Content-Security-Policy": self.page.content_security_policy,
            "Cache-Control": "no-store",
        }
        return web.Response(text=body, content_type="text/html", headers=headers)


def _build(vendored: list[VendoredFile], own: list[OwnFile]) -> PageTemplate | list[str]:
    try:
        page = strawberry_page()
    except Exception as error:  # whatever a Strawberry upgrade breaks: never a failed start
        return [f"Strawberry's GraphiQL page cannot be read: {error!r}"]
    return build_page(page, vendored, own)


def load_graphiql(assets_dir: Path = ASSETS_DIR) -> GraphiQLFiles | None:
    """The page and its routes, or None (with a warning saying why and how to fix it)."""
    vendored, problems = read_vendored(assets_dir)
    try:
        own = own_files()
    except OSError as error:
        own = []
        problems.append(f"ordergraph's page script or style cannot be read: {error}")
    built = problems if problems else _build(vendored, own)
    if isinstance(built, list):
        logger.warning(
            "GraphiQL is off: its page cannot be served as vendored (%s). "
            "The GraphQL API is unaffected; run `make vendor-graphiql` from a source "
            "checkout to fix it.",
            "; ".join(built),
        )
        return None
    routes = [
        _asset_handler(ASSETS_PREFIX + file.path, file.content_type, file.data, file.integrity)
        for file in vendored
    ]
    routes += [
        _asset_handler(
            ASSETS_PREFIX + file.path, content_type(file.name), file.data, file.integrity
        )
        for file in own
    ]
    return GraphiQLFiles(built, tuple(routes))
