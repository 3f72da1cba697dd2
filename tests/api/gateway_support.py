"""A gateway like the ``api`` fixture's, with its connections' settings changed: for
tests of connection settings (a StackOne API version, a connection pointed at a server
of the test's own)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from ordergraph.broker import MemoryBroker
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry
from tests.api.conftest import CURSOR_SECRET, KEYS, Api, serving, two_tenant_connections
from tests.conftest import Sandbox
from tests.tenants import tenant_entries

ConnectionChange = Callable[[dict[str, Any]], dict[str, Any]]


def stackone_api_version(version: str | None) -> ConnectionChange:
    """StackOne connections speaking ``version`` (None: the setting left out)."""

    def change(connection: dict[str, Any]) -> dict[str, Any]:
        if connection["provider"] != "stackone":
            return connection
        return {**connection, "api_version": version}

    return change


@asynccontextmanager
async def gateway_with(
    sandbox: Sandbox, store_url: str, change: ConnectionChange
) -> AsyncIterator[Api]:
    """Start a gateway on the sandbox's six connections, each passed through ``change``."""
    connections = [change(c) for c in await two_tenant_connections(sandbox)]
    settings = load_settings(
        environ={},
        overrides={
            "store": {"url": store_url, "cursor_secret": CURSOR_SECRET},
            "tenants": tenant_entries(KEYS),
            "connections": connections,
        },
    )
    services = Services(
        settings=settings,
        store=Store.from_engine(create_engine(store_url), cursor_secret=CURSOR_SECRET),
        broker=MemoryBroker(),
        connections=ConnectionRegistry.from_settings(settings.connections),
    )
    async with serving(services) as api:
        yield api
