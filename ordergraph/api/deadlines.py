"""Slow clients: how long a request's headers and body may take to arrive.

aiohttp's server has no read timeout of its own beyond ``keepalive_timeout``, which
it arms when a connection opens and after each response, and which closes the
connection if no complete request head has arrived by then (its ``_process_keepalive``
closes whenever the handler still waits for a message). So ``server.header_timeout``
is passed as ``keepalive_timeout`` (``runner_options``): a client that sends half a
request line and stalls, or trickles its headers, is closed after it, as is an idle
kept-alive connection. A request being handled (a long query, a WebSocket) is not
affected: the check only closes a connection waiting for a request head.

Nothing in aiohttp bounds the body, so ``body_deadline`` does: once a request's head
is in, its body must arrive within ``server.body_timeout``, or the request is answered
408 and the connection closed (after at most ``LINGERING_TIME`` more, see there).
Only arrival is timed: a body that is all there
(``content.is_eof()``) while a slow handler runs is never cut off.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ordergraph.settings import ServerSettings

__all__ = ["body_deadline", "runner_options"]

logger = logging.getLogger(__name__)


LINGERING_TIME: Final = 2.0
"""Seconds aiohttp keeps reading (and dropping) a body nobody read after answering
(413, 408), so the client is not reset before it reads the answer; aiohttp's default
is 10 s, which a stalled client would hold on to."""


def runner_options(settings: ServerSettings) -> dict[str, Any]:
    """Keyword arguments of aiohttp's ``AppRunner`` (the request handler's knobs)."""
    return {
        "keepalive_timeout": settings.header_timeout,
        "lingering_time": min(LINGERING_TIME, settings.body_timeout),
    }


def body_deadline(timeout: float) -> Middleware:
    """A middleware answering 408 to a request whose body is not in after ``timeout``."""

    @web.middleware
    async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists or request.content.is_eof():
            # No body, or all of it in already (most requests: it came with the head):
            # nothing to wait for, no timer to set and cancel. Checked before asking
            # for the task: Python 3.11's ``current_task`` was ~3% of a cache hit.
            return await handler(request)
        task = asyncio.current_task()
        if task is None:
            return await handler(request)
        expired = False

        def expire() -> None:
            nonlocal expired
            if request.content.is_eof():
                return  # the whole body arrived; the handler may take its time
            expired = True
            task.cancel()

        timer = asyncio.get_running_loop().call_later(timeout, expire)
        try:
            return await handler(request)
        except asyncio.CancelledError:
            if not expired:
                raise
            task.uncancel()
            logger.info("request body not received within %ss: answered 408", timeout)
            response = web.Response(
                status=408,
                text=f"the request body did not arrive within {timeout:g} seconds",
            )
            response.force_close()
            return response
        finally:
            timer.cancel()

    return deadline
