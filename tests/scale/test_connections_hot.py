"""Connections added, paused and removed while two ``ordergraph serve`` processes run
over PostgreSQL and Redis: no restart, and both processes agree within seconds.

- a Kombo connect link completed by the customer (the sandbox plays them): the
  connection and its orders are visible on both processes within 10 s;
- ``addConnection`` of a Unified account on one process: its webhook is registered
  and its orders arrive (at the other process's public URL, visible on both);
- ``removeConnection(purgeOrders: true)``: polling stops, its webhooks are 404 on both
  processes, its orders are gone;
- another tenant's admin key finds none of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ordergraph.keys import hash_api_key
from ordergraph.models import ProviderName
from ordergraph.sandbox.kombo import sign as kombo_sign
from ordergraph.store import Store
from ordergraph.sync.lifecycle import connection_id_for
from tests.conftest import Sandbox
from tests.kombo_events import order_received
from tests.serve_support import SECRETS, ServeProcess, free_port, start_serve

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

ADMIN = {
    "acme": "hot-acme-admin-key-0123456789abcdef",
    "globex": "hot-globex-admin-key-0123456789ab",
}
CONNECTIONS = "{ connections { id provider account state origin } }"
# One process each: these processes stand for separate hosts.
ONE = ("--workers", "1")


@dataclass
class Pair:
    """Two serve processes; ``a``'s address is the public URL vendors call back."""

    a: ServeProcess
    b: ServeProcess
    session: aiohttp.ClientSession

    async def gql(
        self, process: ServeProcess, document: str, variables: dict[str, Any] | None = None,
        *, tenant: str = "globex",
    ) -> dict[str, Any]:  # fmt: skip
        async with self.session.post(
            process.url + "/graphql",
            json={"query": document, "variables": variables or {}},
            headers={"Authorization": f"Bearer {ADMIN[tenant]}", "Cache-Control": "no-cache"},
        ) as response:
            body: dict[str, Any] = await response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def connections(
        self, process: ServeProcess, tenant: str = "globex"
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await self.gql(process, CONNECTIONS, tenant=tenant))[
            "connections"
        ]
        return found

    async def order_count(self, process: ServeProcess, connection_id: str) -> int:
        data = await self.gql(
            process,
            "query($c: [ID!]) { orders(filter: {connectionIds: $c}) { totalCount } }",
            {"c": [connection_id]},
        )
        return int(data["orders"]["totalCount"])


async def _workspace_id(sandbox: Sandbox, account: dict[str, Any]) -> str:
    async with sandbox.session.get(
        f"{sandbox.base('unified')}/unified/connection/{account['account']}",
        headers=account["headers"],
    ) as response:
        return str((await response.json())["workspace_id"])


@pytest.fixture
async def pair(
    sandbox: Sandbox,
    fresh_store_url: str,
    redis_url: str,
    cache_url: str,
    prefix: str,
    tmp_path: Path,
) -> AsyncIterator[Pair]:
    kombo = (await sandbox.accounts("kombo"))[0]
    unified = (await sandbox.accounts("unified"))[0]
    # a's address is in the config (Unified's hook URL), so a is started on a port
    # chosen first; b binds port 0.
    port_a = free_port()
    public = f"http://127.0.0.1:{port_a}"
    sandbox.context.webhook_targets["kombo"] = f"{public}/webhooks/kombo"
    config = tmp_path / "ordergraph.toml"
    config.write_text(
        f"""
[server]
host = "127.0.0.1"
public_url = "{public}"

[store]
url = "{fresh_store_url}"
cursor_secret = "${{OG_CURSOR_SECRET}}"

[cache]
url = "{cache_url}"

[broker]
url = "{redis_url}"
channel_prefix = "{prefix}"

[sync]
poll_interval = 0.5
poller_lease_ttl = 2.0
connections_refresh_interval = 0.5

[providers.kombo]
base_url = "{sandbox.base("kombo")}"
api_key = "${{OG_KOMBO_KEY}}"
webhook_secret = "${{OG_KOMBO_WEBHOOK_SECRET}}"

[providers.unified]
base_url = "{sandbox.base("unified")}"
api_key = "${{OG_UNIFIED_KEY}}"
webhook_secret = "${{OG_UNIFIED_WEBHOOK_SECRET}}"
workspace_id = "{await _workspace_id(sandbox, unified)}"

[[tenants]]
name = "acme"
[[tenants.keys]]
hash = "{hash_api_key(ADMIN["acme"])}"
scopes = ["read", "write", "admin"]

[[tenants]]
name = "globex"
[[tenants.keys]]
hash = "{hash_api_key(ADMIN["globex"])}"
scopes = ["read", "write", "admin"]

[[connections]]
id = "acme-kombo"
tenant = "acme"
provider = "kombo"
account = "{kombo["account"]}"
"""
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ORDERGRAPH_")},
        **SECRETS,
        "OG_KOMBO_KEY": kombo["headers"]["Authorization"].split(" ", 1)[1],
        "OG_KOMBO_WEBHOOK_SECRET": kombo["webhook_secret"],
        "OG_UNIFIED_KEY": unified["headers"]["Authorization"].split(" ", 1)[1],
        "OG_UNIFIED_WEBHOOK_SECRET": unified["webhook_secret"],
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[ServeProcess] = []
    try:
        processes.append(
            await start_serve(config, env, tmp_path / "a.log", "--port", str(port_a), *ONE)
        )
        processes.append(await start_serve(config, env, tmp_path / "b.log", *ONE))
        async with aiohttp.ClientSession() as session:
            yield Pair(processes[0], processes[1], session)
    finally:
        for process in processes:
            await process.stop()


async def _until(predicate: Any, within: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not within {within}s")


async def test_connections_come_and_go_on_both_processes_without_a_restart(
    pair: Pair, sandbox: Sandbox, fresh_store_url: str
) -> None:
    # --- a Kombo customer completes a connect link asked for on process b ---------------
    made = (
        await pair.gql(
            pair.b,
            "mutation($i: CreateConnectLinkInput!) { createConnectLink(input: $i) "
            "{ url errors { code message } } }",
            {"i": {"provider": "KOMBO", "endUserEmail": "it@c.example", "organizationName": "C"}},
        )
    )["createConnectLink"]
    assert made["errors"] == [], made
    done = await sandbox.control("POST", "connect/complete", {"url": made["url"]})
    account = done["account"]
    truth = len(
        (await sandbox.control("GET", f"orders?provider=kombo&account={account}"))["orders"]
    )
    assert truth > 0

    async def kombo_everywhere() -> bool:
        for process in (pair.a, pair.b):
            listed = [c for c in await pair.connections(process) if c["account"] == account]
            if not listed or await pair.order_count(process, listed[0]["id"]) != truth:
                return False
        return True

    await _until(kombo_everywhere, 10.0, "the linked Kombo connection and its orders on both")
    [kombo] = [c for c in await pair.connections(pair.a) if c["account"] == account]
    assert (kombo["state"], kombo["origin"]) == ("ACTIVE", "PROVIDER_EVENT")

    # --- addConnection of a Unified account on process b --------------------------------
    unified_account = (await sandbox.accounts("unified"))[1]["account"]
    added = (
        await pair.gql(
            pair.b,
            "mutation($i: AddConnectionInput!) { addConnection(input: $i) "
            "{ connection { id } errors { code } } }",
            {"i": {"provider": "UNIFIED", "account": unified_account}},
        )
    )["addConnection"]
    assert added["errors"] == []
    unified_id = added["connection"]["id"]
    unified_truth = len(
        (await sandbox.control("GET", f"orders?provider=unified&account={unified_account}"))[
            "orders"
        ]
    )

    async def unified_arrived() -> bool:
        counts = [await pair.order_count(p, unified_id) for p in (pair.a, pair.b)]
        return counts == [unified_truth, unified_truth]

    await _until(unified_arrived, 15.0, "the Unified connection's orders (registered webhook)")
    stats = await sandbox.stats()
    assert stats["requests"]["unified"].get("POST /unified/webhook", 0) >= 1

    # --- another tenant finds none of it --------------------------------------------------
    assert account not in {c["account"] for c in await pair.connections(pair.a, "acme")}
    refused = (
        await pair.gql(
            pair.a,
            "mutation($id: ID!) { pauseConnection(id: $id) { errors { code } } }",
            {"id": kombo["id"]},
            tenant="acme",
        )
    )["pauseConnection"]
    assert refused["errors"] == [{"code": "NOT_FOUND"}]

    # --- removeConnection with its orders, on process a ---------------------------------
    removed = (
        await pair.gql(
            pair.a,
            "mutation($id: ID!) { removeConnection(id: $id, purgeOrders: true) "
            "{ purgedOrders errors { code } } }",
            {"id": kombo["id"]},
        )
    )["removeConnection"]
    assert removed == {"purgedOrders": truth, "errors": []}

    async def gone_everywhere() -> bool:
        for process in (pair.a, pair.b):
            if any(c["account"] == account for c in await pair.connections(process)):
                return False
        return True

    await _until(gone_everywhere, 10.0, "the removed connection gone from both")
    # polling stops: the purge deleted its sync state, and no poll writes it again
    key = connection_id_for("globex", ProviderName.KOMBO, account)
    store = await Store.open(fresh_store_url, cursor_secret=SECRETS["OG_CURSOR_SECRET"])
    try:
        await asyncio.sleep(2.5)  # several poll intervals (0.5 s) and a lease TTL
        assert await store.sync_state.get(key) is None
    finally:
        await store.close()
    # its webhooks are 404 on both processes, like an unknown integration's
    body = json.dumps(order_received(account, "ko_after_removal")).encode()
    secret = next(a["webhook_secret"] for a in await sandbox.accounts("kombo"))
    for process in (pair.a, pair.b):
        async with pair.session.post(
            f"{process.url}/webhooks/kombo",
            data=body,
            headers={"X-Kombo-Signature": kombo_sign(secret, body)},
        ) as response:
            assert response.status == 404
    assert [await pair.order_count(p, kombo["id"]) for p in (pair.a, pair.b)] == [0, 0]
