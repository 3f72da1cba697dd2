"""The admin mutations over a tenant's provider connections: add, pause, resume,
remove (with and without purging orders), the ``admin`` scope, tenant isolation, and
a second process following the changes without a restart."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from ordergraph.errors import ConfigError
from ordergraph.services import Services
from ordergraph.settings import Settings, load_settings
from ordergraph.store import EventSource
from tests.api.conftest import CURSOR_SECRET, serving
from tests.api.helpers import node_key, unified_order
from tests.conftest import Sandbox
from tests.tenants import tenant_entries

KEYS = {"acme": "key-acme-admin", "globex": "key-globex-admin"}
WRITE_KEY = "key-acme-write-only"
ADMIN_ONLY_KEY = "key-acme-admin-only"
EXTRA = {"acme": {WRITE_KEY: ["read", "write"], ADMIN_ONLY_KEY: ["admin"]}}

ADD = """
mutation($input: AddConnectionInput!) {
  addConnection(input: $input) {
    connection { id provider account name state origin }
    errors { code message field }
  }
}
"""
PAUSE = """
mutation($id: ID!) { pauseConnection(id: $id) {
  connection { id state } errors { code field } } }
"""
RESUME = """
mutation($id: ID!) { resumeConnection(id: $id) {
  connection { id state } errors { code field } } }
"""
REMOVE = """
mutation($id: ID!, $purge: Boolean!) {
  removeConnection(id: $id, purgeOrders: $purge) {
    removedConnectionId purgedOrders errors { code field } } }
"""
CONNECTIONS = "{ connections { id provider account state origin } }"


@dataclass
class Gateway:
    url: str
    services: Services
    session: aiohttp.ClientSession

    async def post(
        self, document: str, variables: dict[str, Any] | None = None, *, key: str
    ) -> tuple[int, dict[str, Any]]:
        async with self.session.post(
            self.url + "/graphql",
            json={"query": document, "variables": variables or {}},
            headers={"Authorization": f"Bearer {key}"},
        ) as response:
            return response.status, await response.json()

    async def data(
        self, document: str, variables: dict[str, Any] | None = None, *, tenant: str = "acme"
    ) -> dict[str, Any]:
        status, body = await self.post(document, variables, key=KEYS[tenant])
        assert status == 200, body
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]
        return result


def _token(account: dict[str, Any]) -> str:
    value = str(account["headers"]["Authorization"]).split(" ", 1)[1]
    if account["provider"] == "stackone":
        return base64.b64decode(value).decode().split(":", 1)[0]
    return value


async def admin_settings(
    sandbox: Sandbox,
    store_url: str,
    *,
    providers: tuple[str, ...] = ("unified", "stackone", "kombo"),
    public_url: str | None = None,
    unified_workspace: str | None = None,
    extra_connections: tuple[dict[str, Any], ...] = (),
) -> Settings:
    """Provider sections from the sandbox's workspace keys; acme's three connections in
    the file (each provider's first account), the second accounts free to connect."""
    sections: dict[str, Any] = {}
    connections: list[dict[str, Any]] = []
    for provider in ("unified", "stackone", "kombo"):
        first = (await sandbox.accounts(provider))[0]
        section = {
            "base_url": sandbox.base(provider),
            "api_key": _token(first),
            "webhook_secret": first["webhook_secret"] or None,
            "max_retry_delay": 0.2,
            "poll_interval": 3600,
        }
        if provider in providers:
            sections[provider] = dict(section)
            if provider == "unified" and unified_workspace:
                sections[provider]["workspace_id"] = unified_workspace
        connections.append(
            {
                "id": f"acme-{provider}",
                "tenant": "acme",
                "provider": provider,
                "account": first["account"],
                **section,
            }
        )
    return load_settings(
        environ={},
        overrides={
            "store": {"url": store_url, "cursor_secret": CURSOR_SECRET},
            "tenants": tenant_entries(KEYS, extra=EXTRA),
            "providers": sections,
            "connections": connections + list(extra_connections),
            "sync": {"connections_refresh_interval": 0.2},
            "server": {"public_url": public_url} if public_url else {},
        },
    )


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Gateway]:
    """A gateway process's worth of services over ``settings`` (no background sync)."""
    async with serving(await Services.open(settings)) as api:
        yield Gateway(api.url, api.services, api.session)


@pytest.fixture
async def gateway(sandbox: Sandbox, fresh_store_url: str) -> AsyncIterator[Gateway]:
    async with running(await admin_settings(sandbox, fresh_store_url)) as started:
        yield started


async def second_account(sandbox: Sandbox, provider: str) -> str:
    return str((await sandbox.accounts(provider))[1]["account"])


async def add(gateway: Gateway, provider: str, account: str, tenant: str = "globex") -> Any:
    data = await gateway.data(
        ADD,
        {"input": {"provider": provider.upper(), "account": account, "name": "Customer"}},
        tenant=tenant,
    )
    return data["addConnection"]


# --- adding ----------------------------------------------------------------------------


async def test_an_admin_key_connects_an_account_its_tenant_then_sees(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    # given globex has no connection and Kombo's second account is free
    assert (await gateway.data(CONNECTIONS, tenant="globex"))["connections"] == []
    account = await second_account(sandbox, "kombo")
    # when globex's admin key connects it
    payload = await add(gateway, "kombo", account)
    # then the connection is there, ACTIVE, from the API, for globex only
    assert payload["errors"] == []
    connection = payload["connection"]
    assert (connection["provider"], connection["account"], connection["name"]) == (
        "KOMBO",
        account,
        "Customer",
    )
    assert (connection["state"], connection["origin"]) == ("ACTIVE", "API")
    listed = (await gateway.data(CONNECTIONS, tenant="globex"))["connections"]
    assert [c["id"] for c in listed] == [connection["id"]]
    acme = (await gateway.data(CONNECTIONS))["connections"]
    assert connection["id"] not in {c["id"] for c in acme}
    assert {c["origin"] for c in acme} == {"FILE"}
    # and its adapter reaches the provider (the sandbox answers its package list)
    live = gateway.services.connections.get(acme_key := _key(connection["id"]))
    assert live is not None, acme_key
    assert live.tenant == "globex"
    assert await live.provider.list_packages()


def _key(global_id: str) -> str:
    return node_key(global_id)


async def test_adding_again_is_the_same_connection_and_another_tenant_is_refused(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    account = await second_account(sandbox, "unified")
    first = await add(gateway, "unified", account)
    # when globex adds it again
    again = await add(gateway, "unified", account)
    # then it is the same connection
    assert again["errors"] == []
    assert again["connection"]["id"] == first["connection"]["id"]
    # and acme is refused, told nothing about who holds it
    refused = await add(gateway, "unified", account, tenant="acme")
    assert refused["connection"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("ALREADY_CONNECTED", ["input", "account"])
    ]
    assert "globex" not in refused["errors"][0]["message"]


async def test_a_provider_without_credentials_cannot_be_connected(
    sandbox: Sandbox, fresh_store_url: str
) -> None:
    settings = await admin_settings(sandbox, fresh_store_url, providers=("unified", "kombo"))
    async with running(settings) as gateway:
        payload = await add(gateway, "stackone", await second_account(sandbox, "stackone"))
        assert payload["connection"] is None
        assert [e["code"] for e in payload["errors"]] == ["PROVIDER_NOT_CONFIGURED"]


async def test_bad_accounts_are_refused_as_input(gateway: Gateway) -> None:
    for account in ("", " padded ", "x" * 201, "line\nbreak"):
        payload = await add(gateway, "kombo", account)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID_INPUT", ["input", "account"])
        ], account


# --- scopes ----------------------------------------------------------------------------


async def test_admin_mutations_need_the_admin_scope_and_others_write(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    account = await second_account(sandbox, "kombo")
    variables = {"input": {"provider": "KOMBO", "account": account}}
    # a read+write key cannot add a connection
    status, body = await gateway.post(ADD, variables, key=WRITE_KEY)
    assert status == 403
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "FORBIDDEN", "requiredScope": "admin"}
    ]
    # an admin-only key may, and sees ids and errors of what it touched
    status, body = await gateway.post(
        "mutation($input: AddConnectionInput!) { addConnection(input: $input) "
        "{ connection { id } errors { code } } }",
        variables,
        key=ADMIN_ONLY_KEY,
    )
    assert status == 200, body
    assert body["data"]["addConnection"]["errors"] == []
    # but not a write mutation
    status, body = await gateway.post(
        "mutation { refreshOrders(ids: []) { errors { code } } }", key=ADMIN_ONLY_KEY
    )
    assert status == 403
    assert body["errors"][0]["extensions"]["requiredScope"] == "write"
    # and a document with both needs both
    status, body = await gateway.post(
        "mutation($id: ID!) { refreshOrders(ids: []) { errors { code } } "
        "pauseConnection(id: $id) { errors { code } } }",
        {"id": body_id(await gateway.data(CONNECTIONS))},
        key=WRITE_KEY,
    )
    assert status == 403
    assert body["errors"][0]["extensions"]["requiredScope"] == "admin"


def body_id(data: dict[str, Any]) -> str:
    return str(data["connections"][0]["id"])


# --- pause, resume, remove -------------------------------------------------------------


async def test_pause_and_resume_change_the_state_everywhere_it_shows(gateway: Gateway) -> None:
    connection_id = next(
        c["id"]
        for c in (await gateway.data(CONNECTIONS))["connections"]
        if c["provider"] == "KOMBO"
    )
    paused = (await gateway.data(PAUSE, {"id": connection_id}))["pauseConnection"]
    assert paused == {"connection": {"id": connection_id, "state": "PAUSED"}, "errors": []}
    live = gateway.services.connections.get("acme-kombo")
    assert live is not None
    assert not live.syncing
    # pausing again changes nothing and is no error
    again = (await gateway.data(PAUSE, {"id": connection_id}))["pauseConnection"]
    assert again["errors"] == []
    assert again["connection"]["state"] == "PAUSED"
    resumed = (await gateway.data(RESUME, {"id": connection_id}))["resumeConnection"]
    assert resumed["connection"]["state"] == "ACTIVE"
    assert gateway.services.connections.get("acme-kombo").syncing  # type: ignore[union-attr]


async def test_another_tenants_connection_is_unknown_to_every_admin_mutation(
    gateway: Gateway,
) -> None:
    acme_ids = [c["id"] for c in (await gateway.data(CONNECTIONS))["connections"]]
    for document, name in ((PAUSE, "pauseConnection"), (RESUME, "resumeConnection")):
        for connection_id in acme_ids:
            payload = (await gateway.data(document, {"id": connection_id}, tenant="globex"))[name]
            assert payload == {
                "connection": None,
                "errors": [{"code": "NOT_FOUND", "field": ["id"]}],
            }
    removed = (await gateway.data(REMOVE, {"id": acme_ids[0], "purge": True}, tenant="globex"))[
        "removeConnection"
    ]
    assert removed["removedConnectionId"] is None
    assert [e["code"] for e in removed["errors"]] == ["NOT_FOUND"]
    # acme's connections are untouched
    assert [c["state"] for c in (await gateway.data(CONNECTIONS))["connections"]] == [
        "ACTIVE"
    ] * len(acme_ids)


async def test_removing_forgets_the_connection_and_purging_deletes_its_orders(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    # given globex connected a Unified account and got two orders through it
    account = await second_account(sandbox, "unified")
    connection_gid = (await add(gateway, "unified", account))["connection"]["id"]
    key = _key(connection_gid)
    live = gateway.services.connections.get(key)
    assert live is not None
    created = datetime(2026, 5, 1, tzinfo=UTC)
    await gateway.services.ingestor.ingest(
        live, [unified_order(f"ORD{n}", created_at=created) for n in range(2)], _webhook()
    )
    count = "{ orders { totalCount } }"
    assert (await gateway.data(count, tenant="globex"))["orders"]["totalCount"] == 2
    # when it is removed with its orders
    removed = (await gateway.data(REMOVE, {"id": connection_gid, "purge": True}, tenant="globex"))[
        "removeConnection"
    ]
    # then it is gone: not listed, not a node, no webhook route, no orders
    assert removed == {"removedConnectionId": connection_gid, "purgedOrders": 2, "errors": []}
    assert (await gateway.data(CONNECTIONS, tenant="globex"))["connections"] == []
    node = await gateway.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": connection_gid}, tenant="globex"
    )
    assert node == {"node": None}
    assert gateway.services.connections.get(key) is None
    async with gateway.session.post(
        f"{gateway.url}/webhooks/unified/{key}", data=b"{}"
    ) as response:
        unknown = response.status
    async with gateway.session.post(
        f"{gateway.url}/webhooks/unified/no-such", data=b"{}"
    ) as response:
        assert response.status == unknown == 404
    assert (await gateway.data(count, tenant="globex"))["orders"]["totalCount"] == 0
    # and removing it again is NOT_FOUND
    again = (await gateway.data(REMOVE, {"id": connection_gid, "purge": False}, tenant="globex"))[
        "removeConnection"
    ]
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]


def _webhook() -> EventSource:
    return EventSource.WEBHOOK


async def test_removing_without_purge_keeps_the_orders_readable(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    account = await second_account(sandbox, "unified")
    connection_gid = (await add(gateway, "unified", account))["connection"]["id"]
    live = gateway.services.connections.get(_key(connection_gid))
    assert live is not None
    created = datetime(2026, 5, 1, tzinfo=UTC)
    await gateway.services.ingestor.ingest(
        live, [unified_order("KEPT", created_at=created)], _webhook()
    )
    removed = (await gateway.data(REMOVE, {"id": connection_gid, "purge": False}, tenant="globex"))[
        "removeConnection"
    ]
    assert removed["purgedOrders"] == 0
    assert removed["errors"] == []
    orders = await gateway.data(
        "{ orders { edges { node { remoteId connection { id state } } } } }", tenant="globex"
    )
    [edge] = orders["orders"]["edges"]
    assert edge["node"] == {
        "remoteId": "KEPT",
        "connection": {"id": connection_gid, "state": "REMOVED"},
    }


# --- every process ---------------------------------------------------------------------


async def test_a_second_process_follows_adds_pauses_and_removals(
    sandbox: Sandbox, fresh_store_url: str
) -> None:
    settings = await admin_settings(sandbox, fresh_store_url)
    account = await second_account(sandbox, "kombo")
    async with running(settings) as first, running(settings) as second:
        stop = asyncio.Event()
        follower = asyncio.create_task(second.services.lifecycle.run(stop))
        try:
            # when a connection is added on the first process
            connection_gid = (await add(first, "kombo", account))["connection"]["id"]
            key = _key(connection_gid)
            # then the second serves it within its refresh interval
            await _until(lambda: second.services.connections.get(key) is not None)
            listed = (await second.data(CONNECTIONS, tenant="globex"))["connections"]
            assert [c["id"] for c in listed] == [connection_gid]
            # a pause shows there too
            await first.data(PAUSE, {"id": connection_gid}, tenant="globex")
            await _until(
                lambda: not second.services.connections.get(key).syncing  # type: ignore[union-attr]
            )
            # and a removal
            await first.data(REMOVE, {"id": connection_gid, "purge": False}, tenant="globex")
            await _until(lambda: second.services.connections.get(key) is None)
            assert (await second.data(CONNECTIONS, tenant="globex"))["connections"] == []
        finally:
            stop.set()
            await follower


async def _until(condition: Any, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_a_paused_connection_refuses_its_webhooks_until_resumed(gateway: Gateway) -> None:
    from tests.sync.signed import unified_body
    from tests.sync.signed import unified_order as wire_order

    connection_id = next(
        c["id"]
        for c in (await gateway.data(CONNECTIONS))["connections"]
        if c["provider"] == "UNIFIED"
    )
    order = wire_order(account_of(gateway), "PAUSED1")
    body = unified_body(gateway, [order])  # type: ignore[arg-type]
    url = f"{gateway.url}/webhooks/unified/acme-unified"
    # given the connection is paused
    await gateway.data(PAUSE, {"id": connection_id})
    # when a signed delivery arrives, it is refused for a retry, and nothing is stored
    async with gateway.session.post(url, data=body) as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "600"
        assert (await response.json())["error"]["code"] == "PAUSED"
    assert (await gateway.data("{ orders { totalCount } }"))["orders"]["totalCount"] == 0
    # and once resumed the vendor's retry is taken
    await gateway.data(RESUME, {"id": connection_id})
    async with gateway.session.post(url, data=body) as response:
        assert response.status == 200
    assert (await gateway.data("{ orders { totalCount } }"))["orders"]["totalCount"] == 1


def account_of(gateway: Gateway) -> str:
    live = gateway.services.connections.get("acme-unified")
    assert live is not None
    return live.settings.account


async def test_a_file_connection_on_an_account_connected_at_run_time_is_refused_at_start(
    sandbox: Sandbox, fresh_store_url: str
) -> None:
    # given globex connected Kombo's second account through the API
    account = await second_account(sandbox, "kombo")
    async with running(await admin_settings(sandbox, fresh_store_url)) as gateway:
        await add(gateway, "kombo", account)
    # when the settings file then gives the same account to acme
    clash = {"id": "acme-kombo-2", "tenant": "acme", "provider": "kombo", "account": account}
    settings = await admin_settings(sandbox, fresh_store_url, extra_connections=(clash,))
    # then start-up stops with a clear error naming neither tenant's secrets
    with pytest.raises(ConfigError, match="conflict"):
        await Services.open(settings)
