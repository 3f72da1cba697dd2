"""Slow clients are timed out (``ordergraph.api.deadlines``): a request head that does
not arrive within ``server.header_timeout`` closes the connection, a body that does not
arrive within ``server.body_timeout`` is answered 408; nothing else is cut off."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from ordergraph.api import add_graphql_routes
from ordergraph.api.deadlines import runner_options
from ordergraph.serve import bind_socket
from ordergraph.server import create_app
from ordergraph.settings import ServerSettings
from tests.api.conftest import KEYS, Api
from tests.api.ws_client import connect
from tests.waiting import eventually

TIMEOUT = 0.5
"""Both timeouts, in seconds; each test waits at most ten times that."""
WAIT = 10 * TIMEOUT


@pytest.fixture
async def slow_api(api: Api) -> AsyncIterator[Api]:
    """The gateway as ``serve`` runs it (its runner options), with short timeouts."""
    server = ServerSettings.model_validate(
        {**api.services.settings.server.model_dump(), "header_timeout": TIMEOUT}
        | {"body_timeout": TIMEOUT}
    )
    api.services.settings = api.services.settings.model_copy(update={"server": server})
    app = create_app(api.services, background=False)
    add_graphql_routes(app)
    runner = web.AppRunner(app, handle_signals=False, **runner_options(server))
    await runner.setup()
    sock = bind_socket("127.0.0.1", 0)
    await web.SockSite(runner, sock).start()
    port = sock.getsockname()[1]
    try:
        yield Api(f"http://127.0.0.1:{port}", api.services, api.session)
    finally:
        await runner.cleanup()
        sock.close()


async def _raw(api: Api, data: bytes) -> tuple[bytes, bool]:
    """Send ``data`` and stall; what came back and whether the server closed."""
    host, port = api.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    received = b""
    closed = False
    try:
        async with asyncio.timeout(WAIT):
            while chunk := await reader.read(65536):
                received += chunk
            closed = True
    except TimeoutError:
        pass
    finally:
        writer.close()
    return received, closed


async def test_half_a_request_line_is_closed_after_the_header_timeout(slow_api: Api) -> None:
    received, closed = await _raw(slow_api, b"POST /graph")
    assert closed
    assert received == b""


async def test_headers_that_never_end_are_closed_too(slow_api: Api) -> None:
    received, closed = await _raw(
        slow_api, b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    )
    assert closed
    assert received == b""


async def test_a_body_that_does_not_arrive_is_answered_408(slow_api: Api) -> None:
    head = (
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {KEYS['acme']}\r\nContent-Length: 200\r\n\r\n"
    )
    received, closed = await _raw(slow_api, head.encode() + b'{"query": "{ conn')
    assert closed
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within 0.5 seconds" in received


async def test_prompt_requests_and_long_lived_websockets_are_not_cut_off(slow_api: Api) -> None:
    # a request sent in full is answered, and the kept-alive connection serves another
    query: dict[str, Any] = {"query": "{ connections { id } }"}
    for _ in range(2):
        body = await slow_api.query(query["query"])
        assert "errors" not in body, body
    # a WebSocket outlives both timeouts
    async with connect(slow_api.session, slow_api.url) as client:
        assert await client.init({"authorization": f"Bearer {KEYS['acme']}"}) == {
            "type": "connection_ack"
        }
        await asyncio.sleep(3 * TIMEOUT)
        await client.subscribe("1", query["query"])
        message = await client.message("1")
        assert message["type"] == "next", message


def test_runner_options_carry_the_header_timeout() -> None:
    options = runner_options(ServerSettings(header_timeout=7.5, body_timeout=1.0))
    assert options == {"keepalive_timeout": 7.5, "lingering_time": 1.0}


async def test_a_client_gone_before_its_body_ended_is_no_failure(
    slow_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that closes its side before its Content-Length is in: a 400 in the
    access log, no traceback at ERROR, and the gateway goes on serving."""
    host, port = slow_api.url.removeprefix("http://").split(":")
    head = (
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {KEYS['acme']}\r\nContent-Length: 200\r\n\r\n"
    )
    with caplog.at_level(logging.INFO):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(head.encode() + b'{"query": "{ conn')
        await writer.drain()
        writer.write_eof()
        async with asyncio.timeout(WAIT):
            await reader.read()  # whatever comes back, until the server closes
        writer.close()

        def answered() -> list[logging.LogRecord]:
            return [r for r in caplog.records if getattr(r, "route", None) == "/graphql"]

        async def logged() -> bool:
            return bool(answered())

        await eventually(logged, within=WAIT, what="the cut-short request's access line")
    assert [getattr(r, "status", None) for r in answered()] == [400]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    body = await slow_api.query("{ connections { id } }")
    assert "errors" not in body, body
