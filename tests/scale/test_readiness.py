"""``/readyz`` asks the store, the cache and the broker; a 503 names what is down and
shows no URL or secret. Outages are real: a private redis-server that is killed, and
a PostgreSQL URL where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from ordergraph.broker_factory import create_broker
from ordergraph.cache import create_cache
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry
from tests.scale.conftest import RedisServer

CURSOR_SECRET = "readiness-cursor-secret"
PASSWORD = "db-password-7f3e"


@asynccontextmanager
async def _gateway(store_url: str, redis_url: str | None) -> AsyncIterator[Callable[[], Any]]:
    backend = redis_url or "memory://"
    settings = load_settings(
        environ={},
        overrides={
            "store": {"url": store_url, "cursor_secret": CURSOR_SECRET},
            "cache": {"url": backend},
            "broker": {"url": backend},
        },
    )
    services = Services(
        settings=settings,
        store=Store.from_engine(create_engine(store_url), cursor_secret=CURSOR_SECRET),
        broker=create_broker(backend),
        connections=ConnectionRegistry.from_settings(()),
        cache=create_cache(backend),
    )
    server = TestServer(create_app(services, background=False), host="127.0.0.1")
    await server.start_server()
    session = aiohttp.ClientSession()

    async def readyz() -> tuple[int, dict[str, Any], str]:
        async with session.get(server.make_url("/readyz")) as response:
            text = await response.text()
            return response.status, await response.json(), text

    try:
        yield readyz
    finally:
        await session.close()
        await server.close()
        await services.close()


async def test_redis_going_away_makes_cache_and_broker_not_ready(
    redis_server: RedisServer, fresh_store_url: str
) -> None:
    await redis_server.start()
    async with _gateway(fresh_store_url, redis_server.url) as readyz:
        status, body, _ = await readyz()
        assert status == 200
        assert body["checks"] == {"store": "ok", "cache": "ok", "broker": "ok"}

        await redis_server.stop()
        status, body, text = await readyz()
        assert status == 503
        assert body["status"] == "not ready"
        assert body["checks"] == {"store": "ok", "cache": "unavailable", "broker": "unavailable"}
        assert body["not_ready"] == ["cache", "broker"]
        assert "redis" not in text
        assert str(redis_server.port) not in text

        await redis_server.start()  # same port: it comes back
        status, body, _ = await readyz()
        assert status == 200


async def test_an_unreachable_store_is_named_without_its_url() -> None:
    # A port bound here and never listened on: connections to it are refused, and no
    # other test can start a server on it meanwhile.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        url = f"postgresql://ordergraph:{PASSWORD}@127.0.0.1:{port}/ordergraph"
        async with _gateway(url, None) as readyz:
            status, body, text = await readyz()
    assert status == 503
    assert body["checks"] == {"store": "unavailable", "cache": "ok", "broker": "ok"}
    assert PASSWORD not in text
    assert str(port) not in text
    assert "postgresql" not in text
