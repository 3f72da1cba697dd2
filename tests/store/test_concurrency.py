"""Concurrent ingestions and failures half-way: one row per order, a consistent log,
and nothing half-written."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from itertools import pairwise
from typing import Any

import pytest
from pydantic_core import PydanticSerializationError
from sqlalchemy import event

from ordergraph.models import Order, OrderStatus
from ordergraph.store import EventSource, OrderStore, StoredEvent
from tests.store.builders import make_order, minutes


async def _log_by_order(store: OrderStore, tenant: str) -> dict[str, list[StoredEvent]]:
    by_order: dict[str, list[StoredEvent]] = defaultdict(list)
    for stored_event in await store.events_after(tenant, None, limit=10_000):
        by_order[stored_event.order_id].append(stored_event)
    return by_order


async def test_same_orders_ingested_ten_times_at_once(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    orders = [make_order(f"o{i}", created_at=minutes(i)) for i in range(20)]

    results = await asyncio.gather(
        *(store.ingest(tenant, connection_id, orders, EventSource.WEBHOOK) for _ in range(10))
    )

    assert sum(r.inserted for r in results) == 20
    assert sum(r.unchanged for r in results) == 20 * 9
    page = await store.page(tenant, first=100, with_total=True)
    assert page.total_count == 20
    log = await _log_by_order(store, tenant)
    assert len(log) == 20
    assert all(
        [(e.previous_status, e.new_status) for e in events] == [(None, OrderStatus.OPEN)]
        for events in log.values()
    )
    # One of the ten changed anything; every one reports the version it left.
    assert {r.data_version for r in results} == {await store.data_version(tenant)}


async def test_racing_status_changes_leave_a_consistent_chain(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    remote_ids = [f"o{i}" for i in range(10)]
    await store.ingest(tenant, connection_id, [make_order(r) for r in remote_ids], EventSource.POLL)
    targets = [OrderStatus.IN_PROGRESS, OrderStatus.COMPLETED, OrderStatus.FAILED] * 2

    await asyncio.gather(
        *(
            store.ingest(
                tenant,
                connection_id,
                [make_order(r, status=status) for r in remote_ids],
                EventSource.WEBHOOK,
            )
            for status in targets
        )
    )

    rows = await store.get(tenant, [f"{connection_id}:{r}" for r in remote_ids])
    log = await _log_by_order(store, tenant)
    for order_id, events in log.items():
        assert events[0].previous_status is None
        for earlier, later in pairwise(events):
            assert later.previous_status == earlier.new_status
            assert later.previous_status != later.new_status
        assert events[-1].new_status == rows[order_id].order.status
        assert rows[order_id].version == len(events)
    # Versions and event ids grow in commit order within the tenant.
    ids = [e.id for events in log.values() for e in events]
    assert len(ids) == len(set(ids))


async def test_failure_before_writing_leaves_nothing(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    unserialisable = Order.model_validate(
        {"provider": "unified", "remote_id": "bad", "status": "OPEN", "raw": {"x": object()}}
    )
    batch = [make_order("ok1"), make_order("ok2"), unserialisable, make_order("ok3")]

    with pytest.raises(PydanticSerializationError):
        await store.ingest(tenant, connection_id, batch, EventSource.WEBHOOK)

    assert (await store.page(tenant, first=10, with_total=True)).total_count == 0
    assert await store.events_after(tenant, None) == []
    assert await store.data_version(tenant) == 0


async def test_failure_mid_transaction_rolls_everything_back(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    first = await store.ingest(tenant, connection_id, [make_order("known")], EventSource.POLL)
    before = await store.get(tenant, [f"{connection_id}:known"])
    batch = [make_order("known", status=OrderStatus.COMPLETED), make_order("new")]

    # Fail the event append, after this ingestion's order rows have been written.
    def fail_event_insert(
        _conn: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ORDER_EVENTS"):
            raise RuntimeError("injected failure")

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", fail_event_insert)
    try:
        with pytest.raises(RuntimeError, match="injected failure"):
            await store.ingest(tenant, connection_id, batch, EventSource.WEBHOOK)
    finally:
        event.remove(engine, "before_cursor_execute", fail_event_insert)

    after = await store.get(tenant, [f"{connection_id}:known", f"{connection_id}:new"])
    assert after == before
    assert len(await store.events_after(tenant, None)) == 1
    assert await store.data_version(tenant) == first.data_version
    # And the store still works afterwards.
    retried = await store.ingest(tenant, connection_id, batch, EventSource.WEBHOOK)
    assert (retried.inserted, retried.updated, len(retried.events)) == (1, 1, 2)
