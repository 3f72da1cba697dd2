"""A real ordergraph server on loopback, wired to the sandbox and a fresh store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ordergraph.broker import MemoryBroker
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import OrderFilter, Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry
from tests.conftest import Sandbox
from tests.serve_support import BoundServer
from tests.tenants import tenant_entries
from tests.waiting import eventually as _eventually

CURSOR_SECRET = "sync-test-cursor-secret"
TENANT = "acme"


def _secret(account: dict[str, Any]) -> str:
    return str(account["webhook_secret"])


def _key(account: dict[str, Any]) -> str:
    auth = str(account["headers"]["Authorization"])
    return auth.split(" ", 1)[1]


async def connection_settings(sandbox: Sandbox) -> list[dict[str, Any]]:
    """One connection per provider on the sandbox's first account of each."""
    unified = (await sandbox.accounts("unified"))[0]
    kombo = (await sandbox.accounts("kombo"))[0]
    return [
        {
            "id": "acme-unified",
            "tenant": TENANT,
            "provider": "unified",
            "base_url": sandbox.base("unified"),
            "api_key": _key(unified),
            "account": unified["account"],
            "webhook_secret": _secret(unified),
            "max_retry_delay": 0.5,
        },
        {
            "id": "acme-kombo",
            "tenant": TENANT,
            "provider": "kombo",
            "base_url": sandbox.base("kombo"),
            "api_key": _key(kombo),
            "account": kombo["account"],
            "webhook_secret": _secret(kombo),
            "max_retry_delay": 0.5,
            # Tests drive polling by hand (poll_once); the loop must not race them.
            "poll_interval": 3600,
        },
    ]


@dataclass
class Gateway:
    """A running ordergraph server: its URL, its services and a client session."""

    url: str
    services: Services
    session: aiohttp.ClientSession
    sandbox: Sandbox
    # The application served (its webhook intake counts outcomes).
    app: web.Application | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
        async with self.session.post(
            self.url + path,
            data=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        ) as response:
            return response.status, await response.json()

    async def order_count(self, connection_id: str | None = None) -> int:
        where = OrderFilter(connection_ids=[connection_id]) if connection_id else None
        return await self.services.store.orders.count(TENANT, where)

    async def events(self) -> list[Any]:
        return await self.services.store.orders.events_after(TENANT, None, limit=100_000)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Wait until ``check`` holds (webhooks arrive asynchronously)."""
    await _eventually(check, within)


@pytest.fixture
def gateway_factory(sandbox: Sandbox, fresh_store_url: str) -> Callable[..., Any]:
    """Start a gateway; ``background`` decides whether pollers/registration run."""

    async def start(
        *,
        background: bool = True,
        max_body_bytes: int = 256 * 1024,
        webhooks: dict[str, Any] | None = None,
        extra_connections: list[dict[str, Any]] | None = None,
    ) -> Any:
        server = BoundServer()
        port = server.port
        settings = load_settings(
            environ={},
            overrides={
                "server": {
                    "host": "127.0.0.1",
                    "port": port,
                    "public_url": f"http://127.0.0.1:{port}",
                    "max_body_bytes": max_body_bytes,
                },
                "store": {"url": fresh_store_url, "cursor_secret": CURSOR_SECRET},
                "tenants": tenant_entries({TENANT: "k-acme"}),
                "connections": await connection_settings(sandbox) + (extra_connections or []),
                "webhooks": webhooks or {},
            },
        )
        store = Store.from_engine(create_engine(fresh_store_url), cursor_secret=CURSOR_SECRET)
        services = Services(
            settings=settings,
            store=store,
            broker=MemoryBroker(),
            connections=ConnectionRegistry.from_settings(settings.connections),
        )
        await server.start(create_app(services, background=background))
        return server, services

    return start


@pytest.fixture
async def gateway(gateway_factory: Callable[..., Any], sandbox: Sandbox) -> AsyncIterator[Gateway]:
    server, services = await gateway_factory(background=False)
    async with aiohttp.ClientSession() as session:
        url = str(server.make_url("")).rstrip("/")
        yield Gateway(url, services, session, sandbox, server.app)
    await server.close()
    await services.close()
