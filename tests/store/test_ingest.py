"""Ingestion: one upsert-and-append operation for every source."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from ordergraph.models import OrderStatus
from ordergraph.store import (
    CreatedAtSource,
    EventSource,
    OrderStore,
    TenantConflictError,
)
from tests.store.builders import T0, kombo_order, make_order, minutes


async def test_new_order_is_inserted_with_one_event(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    result = await store.ingest(
        tenant, connection_id, [make_order("o1")], EventSource.WEBHOOK, now=minutes(5)
    )

    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 0)
    assert result.changed_ids == (f"{connection_id}:o1",)
    [event] = result.events
    assert event.order_id == f"{connection_id}:o1"
    assert event.previous_status is None
    assert event.new_status is OrderStatus.OPEN
    assert event.source is EventSource.WEBHOOK
    assert event.occurred_at == minutes(5)
    assert result.data_version == 1 == await store.data_version(tenant)
    stored = (await store.get(tenant, [f"{connection_id}:o1"]))[f"{connection_id}:o1"]
    assert stored.order == make_order("o1")
    assert stored.created_at == T0
    assert stored.created_at_source is CreatedAtSource.PROVIDER
    assert (stored.first_seen_at, stored.ingested_at, stored.version) == (minutes(5), minutes(5), 1)


async def test_same_content_again_writes_nothing(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.WEBHOOK)

    again = await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.POLL)

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert again.events == ()
    assert not again.changed
    assert again.data_version == 1
    assert len(await store.events_after(tenant, None)) == 1


async def test_status_change_updates_and_appends_event(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.CREATE)

    result = await store.ingest(
        tenant,
        connection_id,
        [make_order("o1", status=OrderStatus.COMPLETED, provider_status="done")],
        EventSource.MUTATION,
    )

    [event] = result.events
    assert (event.previous_status, event.new_status) == (OrderStatus.OPEN, OrderStatus.COMPLETED)
    assert event.source is EventSource.MUTATION
    assert result.updated == 1
    stored = (await store.get(tenant, [event.order_id]))[event.order_id]
    assert stored.order.status is OrderStatus.COMPLETED
    assert stored.order.provider_status == "done"
    assert stored.version == 2
    log = await store.events_after(tenant, None)
    assert [(e.previous_status, e.new_status, e.source) for e in log] == [
        (None, OrderStatus.OPEN, EventSource.CREATE),
        (OrderStatus.OPEN, OrderStatus.COMPLETED, EventSource.MUTATION),
    ]


async def test_other_change_updates_row_without_event(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(tenant, connection_id, [make_order("o1", name="Ann")], EventSource.WEBHOOK)

    result = await store.ingest(
        tenant, connection_id, [make_order("o1", name="Ann Lee")], EventSource.WEBHOOK
    )

    assert (result.updated, result.events) == (1, ())
    assert result.data_version == 2  # caches must still see the change
    stored = (await store.get(tenant, [f"{connection_id}:o1"]))[f"{connection_id}:o1"]
    assert stored.order.candidate is not None
    assert stored.order.candidate.name == "Ann Lee"
    assert stored.version == 2


async def test_order_without_created_at_keeps_first_seen(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(tenant, connection_id, [kombo_order("k1")], EventSource.POLL, now=minutes(1))
    await store.ingest(tenant, connection_id, [kombo_order("k1")], EventSource.POLL, now=minutes(2))
    await store.ingest(
        tenant,
        connection_id,
        [kombo_order("k1", status=OrderStatus.IN_PROGRESS)],
        EventSource.WEBHOOK,
        now=minutes(3),
    )

    stored = (await store.get(tenant, [f"{connection_id}:k1"]))[f"{connection_id}:k1"]
    assert stored.order.created_at is None  # the order stays as the provider said
    assert stored.created_at == minutes(1)
    assert stored.created_at_source is CreatedAtSource.FIRST_SEEN
    assert stored.first_seen_at == minutes(1)
    assert stored.ingested_at == minutes(3)
    page = await store.page(tenant, first=10)
    assert page.edges[0].node.created_at == minutes(1)


async def test_older_update_is_skipped_as_stale(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    newer = make_order("o1", status=OrderStatus.COMPLETED, updated_at=minutes(10))
    older = make_order("o1", status=OrderStatus.IN_PROGRESS, updated_at=minutes(5))
    await store.ingest(tenant, connection_id, [newer], EventSource.WEBHOOK)

    result = await store.ingest(tenant, connection_id, [older], EventSource.WEBHOOK)

    assert (result.stale, result.updated, result.events) == (1, 0, ())
    stored = await store.get(tenant, [f"{connection_id}:o1"])
    assert stored[f"{connection_id}:o1"].order.status is OrderStatus.COMPLETED


async def test_order_twice_in_one_batch_is_applied_in_order(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    batch = [make_order("o1"), make_order("o1", status=OrderStatus.COMPLETED)]

    result = await store.ingest(tenant, connection_id, batch, EventSource.WEBHOOK)

    assert (result.inserted, result.updated) == (1, 0)
    assert [(e.previous_status, e.new_status) for e in result.events] == [
        (None, OrderStatus.OPEN),
        (OrderStatus.OPEN, OrderStatus.COMPLETED),
    ]
    stored = await store.get(tenant, [f"{connection_id}:o1"])
    assert stored[f"{connection_id}:o1"].order.status is OrderStatus.COMPLETED


async def test_order_of_another_tenant_is_refused(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.WEBHOOK)
    intruder = f"{tenant}-other"

    with pytest.raises(TenantConflictError):
        await store.ingest(
            intruder,
            connection_id,
            [make_order("o2"), make_order("o1", status=OrderStatus.FAILED)],
            EventSource.WEBHOOK,
        )

    assert await store.get(intruder, [f"{connection_id}:o1", f"{connection_id}:o2"]) == {}
    assert await store.get(tenant, [f"{connection_id}:o2"]) == {}
    assert await store.events_after(intruder, None) == []


async def test_get_returns_only_the_tenants_known_orders(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(
        tenant, connection_id, [make_order(f"o{i}") for i in range(3)], EventSource.POLL
    )

    found = await store.get(
        tenant, [f"{connection_id}:o2", f"{connection_id}:o0", f"{connection_id}:nope"]
    )
    assert set(found) == {f"{connection_id}:o0", f"{connection_id}:o2"}
    assert await store.get("someone-else", [f"{connection_id}:o0"]) == {}


async def test_events_after_filters_and_limits(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    other_connection = f"{connection_id}-2"
    await store.ingest(tenant, connection_id, [make_order("a"), make_order("b")], EventSource.POLL)
    await store.ingest(tenant, other_connection, [make_order("c")], EventSource.POLL)
    done = await store.ingest(
        tenant,
        connection_id,
        [make_order("a", status=OrderStatus.COMPLETED)],
        EventSource.WEBHOOK,
    )

    everything = await store.events_after(tenant, None)
    assert [e.id for e in everything] == sorted(e.id for e in everything)
    assert len(everything) == 4
    assert await store.events_after(tenant, everything[1].id) == everything[2:]
    assert await store.events_after(tenant, None, limit=2) == everything[:2]
    by_connection = await store.events_after(tenant, None, connection_ids=[other_connection])
    assert [e.order_id for e in by_connection] == [f"{other_connection}:c"]
    by_status = await store.events_after(tenant, None, statuses=[OrderStatus.COMPLETED])
    assert by_status == list(done.events)
    by_order = await store.events_after(tenant, None, order_ids=[f"{connection_id}:a"])
    assert len(by_order) == 2
    assert await store.latest_event_id(tenant) == done.events[-1].id
    assert await store.latest_event_id() >= done.events[-1].id
    assert await store.events_after("someone-else", None) == []
    assert await store.data_version("someone-else") == 0


async def test_timestamps_round_trip_in_utc(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    plus_two = timezone(timedelta(hours=2))
    # 13:30+02:00 is 11:30Z: earlier than T0 (12:00Z) although its wall time is later.
    early = make_order("early", created_at=T0.replace(hour=13, minute=30, tzinfo=plus_two))
    await store.ingest(tenant, connection_id, [make_order("late"), early], EventSource.POLL)

    page = await store.page(tenant, first=10)

    assert [e.node.order.remote_id for e in page.edges] == ["early", "late"]
    assert page.edges[0].node.created_at == T0 - timedelta(minutes=30)
    assert page.edges[0].node.created_at.utcoffset() == timedelta(0)


async def test_empty_batch_writes_nothing(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.POLL)

    result = await store.ingest(tenant, connection_id, [], EventSource.POLL)

    assert (result.inserted, result.events, result.data_version) == (0, (), 1)


async def test_nul_characters_are_stored_as_replacement_characters(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    # Found by tests/fuzz: PostgreSQL refuses NUL in text and jsonb, so a webhook whose
    # candidate name held one failed with 503 on every retry.
    order = make_order("nul\x00id", first_name="Ada\x00", emails=("a\x00@example.com",))
    result = await store.ingest(tenant, connection_id, [order], EventSource.WEBHOOK)
    assert result.changed_ids == (f"{connection_id}:nul\ufffdid",)
    stored = (await store.get(tenant, list(result.changed_ids)))[result.changed_ids[0]]
    assert stored.order.candidate is not None
    assert stored.order.candidate.first_name == "Ada\ufffd"
    assert stored.order.candidate.emails == ("a\ufffd@example.com",)
    # the same delivery again changes nothing
    again = await store.ingest(tenant, connection_id, [order], EventSource.WEBHOOK)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
