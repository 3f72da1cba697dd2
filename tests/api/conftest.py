"""A gateway with GraphQL over a real store, wired to the sandbox (no background sync)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ordergraph.api import add_graphql_routes
from ordergraph.broker import MemoryBroker
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry
from tests.conftest import Sandbox
from tests.tenants import tenant_entries

CURSOR_SECRET = "api-test-cursor-secret"
# Each tenant's main key holds every scope; acme also has keys with fewer.
KEYS = {"acme": "key-acme", "globex": "key-globex"}
READ_ONLY_KEY = "key-acme-read"
NO_PII_KEY = "key-acme-read-write"
WRITE_ONLY_KEY = "key-acme-write"
EXTRA_KEYS = {
    "acme": {READ_ONLY_KEY: ["read"], NO_PII_KEY: ["read", "write"], WRITE_ONLY_KEY: ["write"]}
}


def plain_api_keys() -> dict[str, str]:
    """Every API key the gateway fixture accepts, named for a secret scan: the settings
    hold only their hashes, so a scan must be told the keys themselves."""
    keys = {f"api key of {tenant}": key for tenant, key in KEYS.items()}
    for tenant, extra in EXTRA_KEYS.items():
        keys |= {f"api key of {tenant} ({'+'.join(s)})": key for key, s in extra.items()}
    return keys


def _key(account: dict[str, Any]) -> str:
    return str(account["headers"]["Authorization"]).split(" ", 1)[1]


async def two_tenant_connections(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Six connections: one per provider per tenant, on the sandbox's accounts."""
    connections: list[dict[str, Any]] = []
    for provider in ("unified", "stackone", "kombo"):
        accounts = await sandbox.accounts(provider)
        for tenant, account in zip(("acme", "globex"), accounts, strict=False):
            if provider == "stackone":
                import base64

                basic = str(account["headers"]["Authorization"]).split(" ", 1)[1]
                api_key = base64.b64decode(basic).decode().split(":", 1)[0]
            else:
                api_key = _key(account)
            connections.append(
                {
                    "id": f"{tenant}-{provider}",
                    "tenant": tenant,
                    "provider": provider,
                    "base_url": sandbox.base(provider),
                    "api_key": api_key,
                    "account": account["account"],
                    "webhook_secret": account["webhook_secret"] or None,
                    "max_retry_delay": 0.2,
                    "poll_interval": 3600,
                }
            )
    return connections


async def provider_sections(sandbox: Sandbox) -> dict[str, Any]:
    """``[providers.<name>]``: each sandbox provider's workspace key and secret (what
    connections added at run time use; the file's connections carry their own)."""
    sections: dict[str, Any] = {}
    for connection in await two_tenant_connections(sandbox):
        sections.setdefault(
            connection["provider"],
            {
                "base_url": connection["base_url"],
                "api_key": connection["api_key"],
                "webhook_secret": connection["webhook_secret"],
            },
        )
    return sections


@dataclass
class Api:
    """A running gateway: GraphQL calls as a tenant, and its services."""

    url: str
    services: Services
    session: aiohttp.ClientSession
    app: web.Application | None = None
    """The application served, where a test reaches into it (``GRAPHQL_HTTP``)."""

    async def query(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        tenant: str | None = "acme",
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST ``document`` with ``key`` (default: the tenant's main key; no tenant: none)."""
        key = key if key is not None else KEYS[tenant] if tenant else None
        sent = {"Authorization": f"Bearer {key}"} if key else {}
        async with self.session.post(
            self.url + "/graphql",
            json={"query": document, "variables": variables or {}},
            headers={**sent, **(headers or {})},
        ) as response:
            body: dict[str, Any] = await response.json()
            return body


@pytest.fixture
async def api(
    request: pytest.FixtureRequest, sandbox: Sandbox, fresh_store_url: str
) -> AsyncIterator[Api]:
    # ``limits`` settings may come by indirect parametrisation; the defaults otherwise.
    limits: dict[str, Any] = getattr(request, "param", {})
    settings = load_settings(
        environ={},
        overrides={
            "store": {"url": fresh_store_url, "cursor_secret": CURSOR_SECRET},
            "limits": limits,
            "tenants": tenant_entries(KEYS, extra=EXTRA_KEYS),
            "providers": await provider_sections(sandbox),
            "connections": await two_tenant_connections(sandbox),
        },
    )
    store = Store.from_engine(create_engine(fresh_store_url), cursor_secret=CURSOR_SECRET)
    services = Services(
        settings=settings,
        store=store,
        broker=MemoryBroker(),
        connections=ConnectionRegistry.from_settings(settings.connections),
    )
    # As Services.open does: the file's connections recorded in the store (so the
    # admin mutations find them), and the registry following it.
    await store.connections.import_file_connections(settings.connections)
    await services.lifecycle.refresh()
    async with serving(services) as api:
        yield api


@asynccontextmanager
async def serving(services: Services) -> AsyncIterator[Api]:
    """``services``' GraphQL application on loopback (no background sync) for the block;
    the server and then the services are closed after it."""
    app = create_app(services, background=False)
    add_graphql_routes(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield Api(str(server.make_url("")).rstrip("/"), services, session, app)
    finally:
        await server.close()
        await services.close()
