"""Two ``ordergraph serve`` processes sharing PostgreSQL and Redis, as deployed.

One polls the Kombo connection (it holds the lease); a webhook taken by one process
wakes subscribers of the other; killing the poller (-9) hands polling to the other
within the lease TTL plus one interval; no event is lost or written twice."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ordergraph.broker_redis import RedisBroker
from ordergraph.sandbox.kombo import sign as kombo_sign
from ordergraph.store import EventSource, Store
from tests.conftest import Sandbox
from tests.kombo_events import order_received
from tests.serve_support import (
    SECRETS,
    ServeProcess,
    account_key,
    serve_env,
    start_serve,
    write_config,
)

ROOT = Path(__file__).resolve().parents[2]
TTL = 2.0
INTERVAL = 0.5
LOG_POLL = 30.0
CURSOR_SECRET = SECRETS["OG_CURSOR_SECRET"]

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@dataclass
class Cluster:
    config: Path
    env: dict[str, str]
    folder: Path
    store: Store
    kombo_account: str
    processes: list[ServeProcess]

    async def start(self, name: str) -> ServeProcess:
        # One process each: these tests are about processes as separate hosts (and
        # compare the poller's pid with the process's).
        started = await start_serve(
            self.config, self.env, self.folder / f"{name}.log", "--workers", "1"
        )
        self.processes.append(started)
        return started

    async def poller_pid(self) -> int | None:
        state = await self.store.sync_state.get("acme-kombo")
        if state is None or "polled_by" not in state.details:
            return None
        return int(state.details["polled_by"]["pid"])

    async def last_synced(self) -> float:
        state = await self.store.sync_state.get("acme-kombo")
        if state is None or state.last_synced_at is None:
            return 0.0
        return state.last_synced_at.timestamp()


async def _until(predicate: Any, within: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {within}s")


@pytest.fixture
async def cluster(
    sandbox: Sandbox,
    fresh_store_url: str,
    redis_url: str,
    cache_url: str,
    prefix: str,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    kombo = (await sandbox.accounts("kombo"))[0]
    unified = (await sandbox.accounts("unified"))[0]
    config = write_config(
        tmp_path / "ordergraph.toml",
        store_url=fresh_store_url,
        sections={
            "cache": {"url": cache_url},
            "broker": {"url": redis_url, "channel_prefix": prefix},
            "sync": {"kombo_poll_interval": INTERVAL, "poller_lease_ttl": TTL},
            # Far longer than any wait below: a prompt event can only come from a
            # broker wake-up.
            "subscriptions": {"poll_interval": LOG_POLL},
        },
        connections=[
            {
                "id": "acme-kombo",
                "tenant": "acme",
                "provider": "kombo",
                "base_url": sandbox.base("kombo"),
                "api_key": "${OG_KOMBO_KEY}",
                "account": kombo["account"],
                "webhook_secret": "${OG_KOMBO_WEBHOOK_SECRET}",
            },
            {
                "id": "acme-unified",
                "tenant": "acme",
                "provider": "unified",
                "base_url": sandbox.base("unified"),
                "api_key": "${OG_UNIFIED_KEY}",
                "account": unified["account"],
                "webhook_secret": "${OG_UNIFIED_WEBHOOK_SECRET}",
                "manage_webhook": False,
            },
        ],
    )
    env = serve_env(
        OG_KOMBO_KEY=account_key(kombo),
        OG_KOMBO_WEBHOOK_SECRET=kombo["webhook_secret"],
        OG_UNIFIED_KEY=account_key(unified),
        OG_UNIFIED_WEBHOOK_SECRET=unified["webhook_secret"] or "unused",
    )
    store = await Store.open(fresh_store_url, cursor_secret=CURSOR_SECRET)
    cluster = Cluster(config, env, tmp_path, store, kombo["account"], [])
    try:
        yield cluster
    finally:
        for process in cluster.processes:
            await process.stop(within=15)
        await store.close()


async def _ground_truth(sandbox: Sandbox, account: str) -> dict[str, str]:
    rows = (await sandbox.control("GET", f"orders?provider=kombo&account={account}"))["orders"]
    return {row["id"]: row["status"] for row in rows}


async def _deliver_kombo_webhook(sandbox: Sandbox, url: str, account: str) -> str:
    """POST a signed Kombo order-received webhook for a new order straight to one process.

    The order exists only in the webhook (the simulator does not hold it), so the
    poller cannot find it first: its event comes from this webhook and this process.
    """
    secret = next(
        a["webhook_secret"] for a in await sandbox.accounts("kombo") if a["account"] == account
    )
    remote_id = f"ko_webhook_{random.randrange(10**9)}"
    body = json.dumps(order_received(account, remote_id)).encode()
    async with sandbox.session.post(
        f"{url}/webhooks/kombo",
        data=body,
        headers={"Content-Type": "application/json", "X-Kombo-Signature": kombo_sign(secret, body)},
    ) as response:
        assert response.status == 200, await response.text()
    return remote_id


async def _events_by_remote_id(store: Store) -> dict[str, list[tuple[str, EventSource]]]:
    events = await store.orders.events_after("acme", None, limit=10_000)
    orders = await store.orders.get("acme", {e.order_id for e in events})
    by_remote: dict[str, list[tuple[str, EventSource]]] = {}
    for event in events:
        remote = orders[event.order_id].order.remote_id
        by_remote.setdefault(remote, []).append((str(event.new_status), event.source))
    return by_remote


async def test_two_processes_share_polling_wake_ups_and_take_over(
    cluster: Cluster, sandbox: Sandbox, redis_url: str, prefix: str
) -> None:
    store = cluster.store
    poller = await cluster.start("first")
    await _until(lambda: _is(cluster.poller_pid(), poller.pid), 10, "the first process polls")
    other = await cluster.start("second")

    # Exactly one process polls: the first keeps the lease over several intervals.
    synced = await cluster.last_synced()
    for _ in range(int(TTL * 2 / 0.25)):
        await asyncio.sleep(0.25)
        assert await cluster.poller_pid() == poller.pid
    assert await cluster.last_synced() > synced  # and it does keep polling
    assert "took lease" in poller.output()
    assert "took lease" not in other.output()

    # A webhook taken by the process that does not poll wakes a subscriber elsewhere
    # (here: a RedisBroker in the test process, as any other process has).
    listener = RedisBroker(redis_url, channel_prefix=prefix)
    try:
        async with listener.subscribe("acme") as wakeups:
            await _until(_true_when(lambda: listener.connected), 5, "listener connects")
            seen = await store.orders.latest_event_id("acme")
            created = await _deliver_kombo_webhook(sandbox, other.url, cluster.kombo_account)
            woken: int | None = None
            deadline = time.monotonic() + 5
            while woken is None and time.monotonic() < deadline:
                woken = await wakeups.wait(seen, 1)
            assert woken is not None, "no wake-up crossed processes"
            events = await _events_by_remote_id(store)
            assert events[created] == [("OPEN", EventSource.WEBHOOK)]
            assert woken >= await store.orders.latest_event_id("acme")
    finally:
        await listener.close()

    # Status changes the poller finds (Kombo sends no webhook for them).
    truth = await _ground_truth(sandbox, cluster.kombo_account)
    open_ids = [order_id for order_id, status in truth.items() if status == "OPEN"]
    assert len(open_ids) >= 6
    for order_id in open_ids[:3]:
        await sandbox.control(
            "PATCH",
            "orders",
            {"provider": "kombo", "account": cluster.kombo_account, "id": order_id,
             "status": "COMPLETED"},
        )  # fmt: skip

    async def changes_ingested(ids: list[str]) -> bool:
        events = await _events_by_remote_id(store)
        return all(len(events.get(i, [])) == 2 for i in ids)

    await _until(lambda: changes_ingested(open_ids[:3]), 5, "the poller ingests changes")

    # kill -9 the poller: the other process takes over within the TTL and an interval.
    poller.process.send_signal(signal.SIGKILL)
    await poller.process.wait()
    killed = time.monotonic()
    for order_id in open_ids[3:6]:
        await sandbox.control(
            "PATCH",
            "orders",
            {"provider": "kombo", "account": cluster.kombo_account, "id": order_id,
             "status": "CANCELLED"},
        )  # fmt: skip
    await _until(
        lambda: _is(cluster.poller_pid(), other.pid), TTL + TTL / 3 + INTERVAL + 3, "takeover"
    )
    await _until(lambda: changes_ingested(open_ids[3:6]), 5, "the new poller ingests")
    takeover = time.monotonic() - killed
    assert takeover <= TTL + TTL / 3 + INTERVAL + 2, takeover
    assert "took lease" in other.output()

    # Nothing lost, nothing twice: the log holds exactly the changes the sandbox made.
    await asyncio.sleep(INTERVAL * 3)  # a few more cycles must add nothing
    truth = await _ground_truth(sandbox, cluster.kombo_account)
    events = await _events_by_remote_id(store)
    # every order the simulator holds, plus the one that existed only in our webhook
    assert set(events) == set(truth) | {created}
    changed = set(open_ids[:6])
    for order_id, status in truth.items():
        statuses = [new for new, _ in events[order_id]]
        if order_id in changed:
            assert statuses == ["OPEN", status], (order_id, statuses)
        else:  # inserted once, never changed
            assert statuses == [status], (order_id, statuses)
    assert events[created] == [("OPEN", EventSource.WEBHOOK)]
    assert sum(len(v) for v in events.values()) == len(truth) + len(changed) + 1


async def _is(value: Any, expected: int) -> bool:
    return bool(await value == expected)


def _true_when(check: Any) -> Any:
    async def predicate() -> bool:
        return bool(check())

    return predicate


SUBSCRIPTIONS_READY = "type Subscription" in (ROOT / "schema.graphql").read_text()


async def _until_live(
    ws: aiohttp.ClientWebSocketResponse, sandbox: Sandbox, url: str, account: str
) -> None:
    """A subscription starts from the log's end once it runs: probe webhooks are sent
    until it sends one (not a sleep that a loaded machine outlasts)."""
    for _ in range(30):
        probe = await _deliver_kombo_webhook(sandbox, url, account)
        try:
            while True:
                message = await ws.receive_json(timeout=1.5)
                assert message["type"] == "next", message
                if message["payload"]["data"]["orderEvents"]["order"]["remoteId"] == probe:
                    return
        except TimeoutError:
            continue
    raise AssertionError("the subscription never sent an event")


@pytest.mark.skipif(not SUBSCRIPTIONS_READY, reason="waiting for subscriptions")
async def test_a_webhook_on_one_process_reaches_a_graphql_subscriber_on_another(
    cluster: Cluster, sandbox: Sandbox
) -> None:
    first = await cluster.start("first")
    second = await cluster.start("second")
    ws_url = second.url.replace("http://", "ws://") + "/graphql"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, protocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send_json(
            {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"},
            }
        )
        ack = await ws.receive_json(timeout=5)
        assert ack["type"] == "connection_ack", ack
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": "subscription { orderEvents { newStatus source order { remoteId } } }"
                },
            }
        )
        await _until_live(ws, sandbox, first.url, cluster.kombo_account)
        sent = time.monotonic()
        created = await _deliver_kombo_webhook(sandbox, first.url, cluster.kombo_account)
        while True:
            message = await ws.receive_json(timeout=10)
            assert message["type"] == "next", message
            event = message["payload"]["data"]["orderEvents"]
            if event["order"]["remoteId"] == created:
                break
        latency = time.monotonic() - sent
        assert latency < 3, latency  # woken through Redis, not by a periodic log read
        assert event["newStatus"] == "OPEN"
        assert event["source"] == "WEBHOOK"
