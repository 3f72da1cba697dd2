"""Hostile webhook bodies: huge, deeply nested, not UTF-8; unsigned and signed.

Each gets a 4xx with a short JSON error, stores nothing, and logs exactly one WARNING
line without a traceback. The server here takes bodies up to 3 MB, so a 2 MB body is
read whole and refused for what it is, not for its size.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from ordergraph.sandbox.unified import webhook_signature
from tests.conftest import Sandbox
from tests.sync.conftest import Gateway
from tests.sync.signed import account, kombo_signed_bytes, unified_order

UNIFIED = "/webhooks/unified/acme-unified"
KOMBO = "/webhooks/kombo"
TWO_MB = 2 * 1024 * 1024
DEEP = 100_000


@pytest.fixture
async def roomy(gateway_factory: Callable[..., Any], sandbox: Sandbox) -> AsyncIterator[Gateway]:
    server, services = await gateway_factory(background=False, max_body_bytes=3 * 1024 * 1024)
    async with aiohttp.ClientSession() as session:
        url = str(server.make_url("")).rstrip("/")
        yield Gateway(url, services, session, sandbox, server.app)
    await server.close()
    await services.close()


def _unsigned_unified(gateway: Gateway, size: int) -> bytes:
    """A well-formed Unified delivery of about ``size`` bytes, without a ``sig``."""
    owner = account(gateway, "acme-unified")
    item = unified_order(owner, "ord_big")
    one = len(json.dumps(item)) + 2
    data = [item | {"id": f"ord_{i}"} for i in range(size // one)]
    return json.dumps({"data": data, "nonce": "n", "type": "VIRTUAL"}).encode()


def _wrongly_signed_unified(gateway: Gateway, size: int) -> bytes:
    payload = json.loads(_unsigned_unified(gateway, size))
    payload["sig"] = webhook_signature("not-the-secret", payload["data"], "n")
    payload["webhook"] = {
        "connection_id": account(gateway, "acme-unified"),
        "object_type": "assessment_order",
        "event": "updated",
    }
    return json.dumps(payload).encode()


def _deep(opening: bytes = b"[") -> bytes:
    return opening * DEEP


def _deep_in_data() -> bytes:
    # Nested where a signature would be computed: inside ``data``.
    return b'{"data": ' + b"[" * DEEP + b"]" * DEEP + b', "nonce": "n", "sig": "x"}'


async def _post(gateway: Gateway, path: str, body: bytes, headers: dict[str, str]) -> Any:
    # As a stream: aiohttp warns about (and tests fail on) megabytes of raw bytes.
    async with gateway.session.post(
        gateway.url + path,
        data=io.BytesIO(body),
        headers={"Content-Type": "application/json", **headers},
    ) as response:
        text = await response.text()
        return response.status, text


async def _refused_once(
    gateway: Gateway,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: bytes,
    headers: dict[str, str],
    expected: tuple[int, str],
) -> None:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="ordergraph"):
        status, text = await _post(gateway, path, body, headers)
    answer = json.loads(text)
    assert (status, answer["error"]["code"]) == expected, text[:300]
    assert len(text) < 300  # a short error, never a traceback
    mine = [r for r in caplog.records if r.name.startswith("ordergraph.sync")]
    assert [r.levelno for r in mine] == [logging.WARNING], [r.getMessage() for r in mine]
    assert mine[0].exc_info is None
    assert "Traceback" not in caplog.text
    assert await gateway.order_count() == 0
    assert await gateway.services.store.webhook_receipts.count() == 0


async def test_unsigned_two_megabyte_bodies_are_refused(
    roomy: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    unified = _unsigned_unified(roomy, TWO_MB)
    assert len(unified) > TWO_MB * 0.95
    await _refused_once(roomy, caplog, UNIFIED, unified, {}, (401, "BAD_SIGNATURE"))
    wrong = _wrongly_signed_unified(roomy, TWO_MB)
    await _refused_once(roomy, caplog, UNIFIED, wrong, {}, (401, "BAD_SIGNATURE"))
    kombo_headers = {"X-Kombo-Signature": "AAAA"}
    for headers in ({}, kombo_headers):
        await _refused_once(roomy, caplog, KOMBO, unified, headers, (401, "BAD_SIGNATURE"))


async def test_a_two_megabyte_body_over_the_limit_is_413(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    big = _unsigned_unified(gateway, TWO_MB)
    for path in (UNIFIED, KOMBO):
        await _refused_once(gateway, caplog, path, big, {}, (413, "BODY_TOO_LARGE"))


@pytest.mark.parametrize(
    "body", [_deep(), _deep(b"{"), _deep(b'{"a":'), _deep_in_data()], ids=["[", "{", "obj", "data"]
)
async def test_deeply_nested_unified_bodies_are_refused(
    roomy: Gateway, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    await _refused_once(roomy, caplog, UNIFIED, body, {}, (400, "BAD_PAYLOAD"))


@pytest.mark.parametrize("body", [_deep(), _deep(b"{"), _deep_in_data()], ids=["[", "{", "data"])
async def test_deeply_nested_kombo_bodies_are_refused_unsigned_and_signed(
    roomy: Gateway, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    # Unsigned: refused on the raw bytes, never parsed.
    await _refused_once(roomy, caplog, KOMBO, body, {}, (401, "BAD_SIGNATURE"))
    # Signed with the real secret (only Kombo could): still refused before json.loads.
    signed, headers = kombo_signed_bytes(roomy, body)
    await _refused_once(roomy, caplog, KOMBO, signed, headers, (400, "BAD_PAYLOAD"))


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{\x00}\x00",  # UTF-16 with a byte order mark
        b'{"data": ["\xc3\x28"], "nonce": "n", "sig": "x"}',  # invalid UTF-8
        b'{"data": [' + b"9" * 5000 + b'], "nonce": "n", "sig": "x"}',  # past int digit limit
        b"\x00" * 1000,
    ],
    ids=["utf16", "bad-utf8", "huge-int", "nul"],
)
async def test_odd_encodings_are_refused(
    roomy: Gateway, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="ordergraph"):
        status, text = await _post(roomy, UNIFIED, body, {})
        signed, headers = kombo_signed_bytes(roomy, body)
        kombo_status, kombo_text = await _post(roomy, KOMBO, signed, headers)
    assert status in (400, 401), text
    assert kombo_status == 400, kombo_text
    assert "Traceback" not in caplog.text + text + kombo_text
    assert await roomy.order_count() == 0
