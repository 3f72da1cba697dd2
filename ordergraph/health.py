"""Liveness and readiness: ``GET /healthz`` and ``GET /readyz``.

Readiness asks the store (``SELECT 1``), the cache and the broker (Redis: ``PING``;
in-memory backends are always ready), all at once and each under a short timeout, so a
load balancer's probe never hangs on a dead dependency. A 503 names the parts that are
not ready and nothing else: no URL, host or error text (they can carry credentials).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["READY_TIMEOUT", "check_ready", "healthz", "ready_response", "store_ping"]

logger = logging.getLogger(__name__)

READY_TIMEOUT = 2.0
"""Seconds each dependency may take to answer a readiness check."""

Check = Callable[[], Awaitable[None]]


def store_ping(engine: AsyncEngine) -> Check:
    async def ping() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    return ping


async def _one(name: str, check: Check, seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            await check()
    except Exception as exc:
        # The exception text may hold a URL with a password: only its type is logged.
        logger.warning("readiness: %s is not reachable (%s)", name, type(exc).__name__)
        return "unavailable"
    return "ok"


async def check_ready(
    checks: dict[str, Check], *, seconds: float = READY_TIMEOUT
) -> dict[str, str]:
    """``{"store": "ok", "cache": "unavailable", ...}``: each check gets ``seconds``."""
    names = list(checks)
    # Plain gather: ``_one`` never raises (each check has its own timeout), and the
    # checks are few and fixed, so neither a bound nor sibling cancellation applies.
    results = await asyncio.gather(*(_one(n, checks[n], seconds) for n in names))
    return dict(zip(names, results, strict=True))


def ready_response(results: dict[str, str]) -> web.Response:
    ready = all(value == "ok" for value in results.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": results}
    if not ready:
        body["not_ready"] = [name for name, value in results.items() if value != "ok"]
    return web.json_response(body, status=200 if ready else 503)


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving (liveness): no dependency is asked."""
    return web.json_response({"status": "ok"})
