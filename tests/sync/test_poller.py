"""The Kombo poller against the Kombo simulator: a first full walk, then cheap cycles
that find new orders and status changes, with events only for real changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ordergraph.store import EventSource
from ordergraph.sync.poller import OrderPoller
from tests.conftest import Sandbox
from tests.sync.conftest import TENANT, Gateway, eventually


def _poller(gateway: Gateway, clock: Any = None) -> OrderPoller:
    connection = gateway.services.connections.get("acme-kombo")
    assert connection is not None
    store = gateway.services.store
    kwargs = {"clock": clock} if clock else {}
    return OrderPoller(
        connection, gateway.services.ingestor, store.orders, store.sync_state, interval=1, **kwargs
    )


async def _account(gateway: Gateway) -> str:
    connection = gateway.services.connections.get("acme-kombo")
    assert connection is not None
    return connection.settings.account


def _route_count(stats: dict[str, Any], route: str) -> int:
    return int(stats["requests"].get("kombo", {}).get(route, 0))


async def test_first_poll_walks_everything_then_a_quiet_cycle_changes_nothing(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    account = await _account(gateway)
    truth = (await sandbox.control("GET", f"orders?provider=kombo&account={account}"))["orders"]
    poller = _poller(gateway)

    first = await poller.poll_once()
    assert first.initial
    assert await gateway.order_count("acme-kombo") == len(truth)
    assert first.events == len(truth)

    second = await poller.poll_once()
    assert not second.initial
    assert second.events == 0
    # no order left OPEN, so nothing is read back by id
    assert second.orders_read_by_id == 0
    assert second.id_batches == 0
    events = await gateway.events()
    assert len(events) == len(truth)
    assert {e.source for e in events} == {EventSource.POLL}


async def test_an_order_that_left_open_is_read_back_by_ids_and_gives_one_event(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    account = await _account(gateway)
    truth = (await sandbox.control("GET", f"orders?provider=kombo&account={account}"))["orders"]
    poller = _poller(gateway)
    await poller.poll_once()
    open_ids = [o["id"] for o in truth if o["status"] == "OPEN"]
    assert len(open_ids) >= 2
    before = await sandbox.stats()

    for order_id in open_ids[:2]:
        await sandbox.control(
            "PATCH",
            "orders",
            {"provider": "kombo", "account": account, "id": order_id, "status": "CANCELLED"},
        )
    report = await poller.poll_once()

    assert report.events == 2
    assert report.orders_read_by_id == 2
    assert report.id_batches == 1
    after = await sandbox.stats()
    # one listing of new orders, one of OPEN orders, one ids look-up: three GETs
    assert (
        _route_count(after, "GET /assessment/orders")
        - _route_count(before, "GET /assessment/orders")
        == 3
    )
    changed = [e for e in await gateway.events() if e.previous_status is not None]
    assert sorted(e.order_id for e in changed) == sorted(f"acme-kombo:{i}" for i in open_ids[:2])
    assert {(e.previous_status, e.new_status) for e in changed} == {("OPEN", "CANCELLED")}


async def test_new_orders_are_discovered_without_webhooks(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    account = await _account(gateway)
    poller = _poller(gateway)
    await poller.poll_once()
    indexed = await gateway.order_count("acme-kombo")

    created = (
        await sandbox.control(
            "POST", "orders", {"provider": "kombo", "account": account, "count": 4}
        )
    )["orders"]
    report = await poller.poll_once()

    assert report.events == 4
    assert await gateway.order_count("acme-kombo") == indexed + 4
    stored = await gateway.services.store.orders.get(
        TENANT, [f"acme-kombo:{o['id']}" for o in created]
    )
    assert len(stored) == 4


async def test_a_provider_failure_is_recorded_and_the_next_cycle_recovers(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    poller = _poller(gateway)
    await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))

    async def error_recorded() -> bool:
        state = await gateway.services.store.sync_state.get("acme-kombo")
        return state is not None and state.last_error is not None

    await eventually(error_recorded)
    stop.set()
    await task
    state = await gateway.services.store.sync_state.get("acme-kombo")
    assert state is not None
    assert state.last_error is not None
    assert "503" in state.last_error
    assert "Bearer" not in state.last_error
    await sandbox.faults({})
    report = await poller.poll_once()
    assert report.initial
    state = await gateway.services.store.sync_state.get("acme-kombo")
    assert state is not None
    assert state.last_error is None


async def test_discovery_window_overlaps_the_previous_cycle(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    moments = iter(
        [datetime(2026, 5, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=m) for m in range(0, 60)]
    )
    poller = _poller(gateway, clock=lambda: next(moments))
    await poller.poll_once()
    await poller.poll_once()
    state = await gateway.services.store.sync_state.get("acme-kombo")
    assert state is not None
    assert state.details["initial_sync_complete"] is True
    assert state.details["discovered_from"].startswith("2026-05-01T12:0")
