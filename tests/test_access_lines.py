"""The access line made without a LogRecord (``access_log.access_sink``,
``BufferedStreamHandler.emit_access``) is the line the record would have made, and it
is made that way only where the record could go nowhere else: no other handler, no
filter, no formatter or record factory of someone else's."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ordergraph.access_log import access_sink, request_id_middleware
from ordergraph.logs import (
    REQUEST_ID,
    TRUSTED,
    BufferedStreamHandler,
    JsonFormatter,
    TextFormatter,
    configure_logging,
)

FIELDS = {"method": "POST", "route": "/graphql", "status": 200, "duration_ms": 1.3}
MESSAGE = "POST /graphql 200"
# Within a millisecond of a second's end, on one, and one where binary fractions round.
CREATED = (1_700_000_000.9996, 1_700_000_001.0, 1_700_000_000.123, 1_699_999_999.25)


def _record_line(formatter: logging.Formatter, created: float) -> str:
    """What logging makes of the access log's record, at ``created``."""
    source = logging.Logger("ordergraph.requests")
    record = source.makeRecord(
        source.name,
        logging.INFO,
        "",
        0,
        "%s %s %d",
        ("POST", "/graphql", 200),
        None,
        extra={**FIELDS, TRUSTED: True},
    )
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    return formatter.format(record)


@pytest.fixture(params=["text", "json"])
def formatter(request: pytest.FixtureRequest) -> TextFormatter | JsonFormatter:
    return TextFormatter() if request.param == "text" else JsonFormatter()


@pytest.mark.parametrize("request_id", [None, "req-42"])
def test_the_line_without_a_record_is_the_records_line(
    formatter: TextFormatter | JsonFormatter, request_id: str | None
) -> None:
    token = REQUEST_ID.set(request_id)
    try:
        for created in CREATED:
            made = formatter.access_line(
                created, logging.INFO, "ordergraph.requests", MESSAGE, FIELDS
            )
            assert made == _record_line(formatter, created)
    finally:
        REQUEST_ID.reset(token)
    if isinstance(formatter, JsonFormatter):
        assert list(json.loads(made)) == [
            "timestamp",
            "level",
            "logger",
            "message",
            "request_id",
            *FIELDS,
        ]


@pytest.fixture
def source() -> Iterator[logging.Logger]:
    """A logger tree of its own: parent <- source, the parent holding one buffered
    handler."""
    parent = logging.Logger("parent")
    child = logging.Logger("parent.requests")
    child.parent = parent
    handler = BufferedStreamHandler(io.StringIO())
    handler.setFormatter(TextFormatter())
    parent.addHandler(handler)
    yield child
    handler.close()


def test_the_sink_is_the_one_buffered_handler_a_record_would_reach(source: logging.Logger) -> None:
    assert source.parent is not None
    [handler] = source.parent.handlers
    assert access_sink(source, logging.INFO) is handler


@pytest.mark.parametrize(
    "change",
    [
        "second handler",
        "handler below",
        "logger filter",
        "handler filter",
        "handler level",
        "formatter subclass",
        "plain handler",
        "record factory",
        "disabled",
    ],
)
def test_anything_else_on_the_way_keeps_the_record(source: logging.Logger, change: str) -> None:
    parent = source.parent
    assert parent is not None
    [handler] = parent.handlers
    factory = logging.getLogRecordFactory()
    if change == "second handler":
        parent.addHandler(logging.NullHandler())
    elif change == "handler below":
        source.addHandler(logging.NullHandler())
    elif change == "logger filter":
        source.addFilter(lambda record: True)
    elif change == "handler filter":
        handler.addFilter(lambda record: True)
    elif change == "handler level":
        handler.setLevel(logging.WARNING)
    elif change == "formatter subclass":

        class Mine(TextFormatter):
            pass

        handler.setFormatter(Mine())
    elif change == "plain handler":
        parent.removeHandler(handler)
        parent.addHandler(logging.StreamHandler(io.StringIO()))
    elif change == "record factory":
        logging.setLogRecordFactory(lambda *a, **k: logging.LogRecord(*a, **k))
    elif change == "disabled":
        source.disabled = True
    try:
        assert access_sink(source, logging.INFO) is None
    finally:
        logging.setLogRecordFactory(factory)


def test_a_logger_that_does_not_propagate_ends_the_walk(source: logging.Logger) -> None:
    source.propagate = False
    assert access_sink(source, logging.INFO) is None  # no handler at all: lastResort's
    mine = BufferedStreamHandler(io.StringIO())
    mine.setFormatter(JsonFormatter())
    source.addHandler(mine)
    assert access_sink(source, logging.INFO) is mine


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """``configure_logging`` as ``serve`` calls it, writing to a string; the root's
    handlers and level put back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    installed = configure_logging(level="INFO", fmt="json", stream=stream)
    try:
        yield stream
    finally:
        installed.close()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


async def _serve_one(path: str, method: str = "GET") -> None:
    async def answer(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(middlewares=[request_id_middleware()])
    app.router.add_route("*", "/things/{id}", answer)
    async with (
        TestClient(TestServer(app)) as client,
        client.request(method, path, headers={"X-Request-Id": "abc-1"}) as response,
    ):
        assert response.status == 200, await response.text()


async def test_served_requests_write_the_access_line_with_its_fields(
    configured: io.StringIO,
) -> None:
    # pytest's own capturing handlers are on the root during a test: off for this one.
    root = logging.getLogger()
    captured = [h for h in root.handlers if not isinstance(h, BufferedStreamHandler)]
    for handler in captured:
        root.removeHandler(handler)
    try:
        assert access_sink(logging.getLogger("ordergraph.requests"), logging.INFO) is not None
        await _serve_one("/things/7?secret=x")
    finally:
        for handler in captured:
            root.addHandler(handler)
    for handler in root.handlers:
        handler.flush()
    lines = [json.loads(line) for line in configured.getvalue().splitlines()]
    [line] = [line for line in lines if line["logger"] == "ordergraph.requests"]
    expected: dict[str, Any] = {
        "level": "INFO",
        "message": "GET /things/{id} 200",
        "request_id": "abc-1",
        "method": "GET",
        "route": "/things/{id}",
        "status": 200,
    }
    assert {k: line[k] for k in expected} == expected
    assert isinstance(line["duration_ms"], float)


async def test_an_unknown_method_is_logged_as_a_record_and_redacted(
    configured: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ordergraph.requests")
    # A method the parser knows that is not a standard one (WebDAV's).
    await _serve_one("/things/7", method="PROPFIND")
    [record] = [r for r in caplog.records if r.name == "ordergraph.requests"]
    assert getattr(record, TRUSTED) is False
