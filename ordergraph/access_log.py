"""The request id and the one access line per request.

``request_id_middleware`` takes the client's ``X-Request-Id`` when it is a sane token
(else makes one), echoes it in the response and keeps it in ``logs.REQUEST_ID`` while
the request is handled, so every line logged for it carries it; when the request is
answered it logs one line: method, route template, status and duration (never the
query string, which may carry a document's values). Probes and scrapes log at DEBUG.

The line is made without a ``LogRecord`` when our buffered handler is the only place
the record could go (``access_sink``): half of a cache hit's logging cost was the
record's machinery, and the line is the same either way (tests/test_access_lines.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ordergraph.logs import (
    REQUEST_ID,
    TRUSTED,
    BufferedStreamHandler,
    JsonFormatter,
    TextFormatter,
)
from ordergraph.metrics import route_template

__all__ = ["REQUEST_ID_HEADER", "access_sink", "request_id_for", "request_id_middleware"]

REQUEST_ID_HEADER = "X-Request-Id"

# A client's request id is kept only if it is short and plain (no spaces, quotes or
# control characters that could forge log structure).
_SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Methods logged as they are on a trusted line (any other is redacted like text).
_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)
# Probes and scrapes come every few seconds; their lines would drown the rest.
_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})

logger = logging.getLogger("ordergraph.requests")


def access_sink(source: logging.Logger, level: int) -> BufferedStreamHandler | None:
    """The one handler a record of ``source`` at ``level`` would reach, when it is our
    buffered handler with one of our formatters and nothing could filter, change or
    also receive the record on the way; else None (log the record as usual).

    Tests capturing records (pytest's ``caplog``) add a handler, so they see records.
    """
    if source.filters or source.disabled or logging.getLogRecordFactory() is not logging.LogRecord:
        return None
    found: logging.Handler | None = None
    current: logging.Logger | None = source
    while current is not None:
        for handler in current.handlers:
            if found is not None:
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    if type(found) is not BufferedStreamHandler or found.filters or level < found.level:
        return None
    if type(found.formatter) not in (TextFormatter, JsonFormatter):
        return None
    return found


def request_id_for(request: web.Request) -> str:
    """The client's ``X-Request-Id`` when sane, else a fresh one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if given and _SANE_ID.match(given):
        return given
    # Unique, not secret: an id names a request in the logs and grants nothing. The
    # random module's generator is reseeded in every forked worker; ``os.urandom`` (a
    # system call per request) was ~3% of a cache hit's samples.
    return f"{random.getrandbits(128):032x}"


def request_id_middleware() -> Middleware:
    """Gives each request an id (see the module docstring) and logs one line when it
    is answered: method, route template, status and duration (never the query string,
    which may carry a document's values)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = request_id_for(request)
        token = REQUEST_ID.set(request_id)
        started = time.monotonic()
        status = 500
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                status = exc.status
                exc.headers[REQUEST_ID_HEADER] = request_id
                raise
            except asyncio.CancelledError:
                status = 499  # the client went away before the answer (nginx's code)
                raise
            status = response.status
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            route = route_template(request)
            level = logging.DEBUG if route in _PROBES else logging.INFO
            if logger.isEnabledFor(level):
                method = request.method
                fields = {
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                }
                # A template, a status, a number and a standard method: no secret.
                trusted = method in _KNOWN_METHODS
                sink = access_sink(logger, level) if trusted else None
                if sink is not None:
                    sink.emit_access(level, logger.name, f"{method} {route} {status}", fields)
                else:
                    logger.log(
                        level, "%s %s %d", method, route, status, extra={**fields, TRUSTED: trusted}
                    )
            REQUEST_ID.reset(token)

    return middleware
