"""Ingestion: one upsert-and-append operation for every source."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from ordergraph.models import AssessmentResult, OrderStatus, ResultAttribute
from ordergraph.store import (
    CreatedAtSource,
    EventSource,
    OrderStore,
    Store,
    TenantConflictError,
)
from ordergraph.store.ingest_plan import CurrentRow, plan_ingest
from ordergraph.store.rows import PreparedOrder, prepare_order, stored_result, with_kept_result
from ordergraph.store.tables import tenant_state
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
    # A tenant's first write starts its count at a random point (store/versions.py).
    assert result.data_version == await store.data_version(tenant) > 0
    stored = (await store.get(tenant, [f"{connection_id}:o1"]))[f"{connection_id}:o1"]
    assert stored.order == make_order("o1")
    assert stored.created_at == T0
    assert stored.created_at_source is CreatedAtSource.PROVIDER
    assert (stored.first_seen_at, stored.ingested_at, stored.version) == (minutes(5), minutes(5), 1)


async def test_same_content_again_writes_nothing(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    first = await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.WEBHOOK)

    again = await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.POLL)

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert again.events == ()
    assert not again.changed
    assert again.data_version == first.data_version
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
    first = await store.ingest(
        tenant, connection_id, [make_order("o1", name="Ann")], EventSource.WEBHOOK
    )

    result = await store.ingest(
        tenant, connection_id, [make_order("o1", name="Ann Lee")], EventSource.WEBHOOK
    )

    assert (result.updated, result.events) == (1, ())
    assert result.data_version == first.data_version + 1  # caches must still see the change
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
    first = await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.POLL)

    result = await store.ingest(tenant, connection_id, [], EventSource.POLL)

    assert (result.inserted, result.events, result.data_version) == (0, (), first.data_version)


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


# -- results a read does not carry are kept -----------------------------------------

SCORED = AssessmentResult(
    status=OrderStatus.COMPLETED,
    score=87.5,
    max_score=100.0,
    url="https://vendor.example/r/1",
    completed_at=minutes(3),
    attributes=(ResultAttribute(label="note", value="solid"),),
)


def _current(prepared: PreparedOrder, result: AssessmentResult | None) -> CurrentRow:
    """The row ``prepared`` would be stored as, carrying ``result``."""
    kept = prepared if result is None else with_kept_result(prepared, stored_result(result))
    return CurrentRow(
        tenant="t",
        status=prepared.status,
        created_at=T0,
        created_at_source=str(CreatedAtSource.PROVIDER),
        first_seen_at=T0,
        updated_at=None,
        content_hash=kept.content_hash,
        version=3,
        result=stored_result(result) if result is not None else None,
    )


def test_plan_keeps_the_stored_result_of_a_read_without_one() -> None:
    read = prepare_order("c", make_order("o1"))
    stored = {read.id: _current(read, SCORED)}

    plan = plan_ingest("t", [read], stored, EventSource.POLL, minutes(9))

    # The read with the result kept hashes as the stored row: nothing to write.
    assert (plan.unchanged, plan.inserts, plan.updates, plan.events) == (1, [], [], [])
    assert read.content_hash != stored[read.id].content_hash


def test_plan_writes_a_changed_read_with_the_stored_result() -> None:
    stored_read = prepare_order("c", make_order("o1"))
    stored = {stored_read.id: _current(stored_read, SCORED)}
    read = prepare_order("c", make_order("o1", status=OrderStatus.COMPLETED))

    plan = plan_ingest("t", [read], stored, EventSource.POLL, minutes(9))

    [update] = plan.updates
    assert update["status"] == "COMPLETED"
    assert update["data"]["result"] == stored_result(SCORED)
    assert update["content_hash"] == with_kept_result(read, stored_result(SCORED)).content_hash
    assert [(e["previous_status"], e["new_status"]) for e in plan.events] == [("OPEN", "COMPLETED")]


def test_plan_lets_a_read_with_a_result_replace_ours() -> None:
    stored_read = prepare_order("c", make_order("o1"))
    stored = {stored_read.id: _current(stored_read, SCORED)}
    theirs = SCORED.model_copy(update={"score": 12.0})
    read = prepare_order("c", make_order("o1", result=theirs))

    plan = plan_ingest("t", [read], stored, EventSource.WEBHOOK, minutes(9))

    [update] = plan.updates
    assert update["data"]["result"]["score"] == 12.0


def test_plan_keeps_a_result_from_earlier_in_the_same_batch() -> None:
    batch = [
        prepare_order("c", make_order("o1", result=SCORED)),
        prepare_order("c", make_order("o1", status=OrderStatus.COMPLETED)),
    ]

    plan = plan_ingest("t", batch, {}, EventSource.WEBHOOK, minutes(9))

    [insert] = plan.inserts
    assert (insert["status"], insert["data"]["result"]) == ("COMPLETED", stored_result(SCORED))


async def test_read_without_a_result_keeps_the_stored_one(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    key = f"{connection_id}:k1"
    await store.ingest(tenant, connection_id, [kombo_order("k1")], EventSource.POLL)
    scored = kombo_order("k1").model_copy(update={"result": SCORED})
    await store.ingest(tenant, connection_id, [scored], EventSource.MUTATION)
    version = await store.data_version(tenant)

    again = await store.ingest(tenant, connection_id, [kombo_order("k1")], EventSource.POLL)

    # Unchanged (the hash covers the kept result): no write, no event, same version.
    assert (again.unchanged, again.updated, again.events) == (1, 0, ())
    assert again.data_version == version == await store.data_version(tenant)
    stored = (await store.get(tenant, [key]))[key]
    assert stored.order.result == SCORED
    assert stored.version == 2


async def test_status_change_without_a_result_keeps_the_stored_one(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    key = f"{connection_id}:k1"
    scored = kombo_order("k1").model_copy(update={"result": SCORED})
    await store.ingest(tenant, connection_id, [scored], EventSource.MUTATION)

    changed = await store.ingest(
        tenant, connection_id, [kombo_order("k1", status=OrderStatus.COMPLETED)], EventSource.POLL
    )
    again = await store.ingest(
        tenant, connection_id, [kombo_order("k1", status=OrderStatus.COMPLETED)], EventSource.POLL
    )

    assert [(e.previous_status, e.new_status) for e in changed.events] == [
        (OrderStatus.OPEN, OrderStatus.COMPLETED)
    ]
    assert (again.unchanged, again.events) == (1, ())
    stored = (await store.get(tenant, [key]))[key]
    assert (stored.order.status, stored.order.result) == (OrderStatus.COMPLETED, SCORED)


async def test_read_with_a_result_replaces_the_stored_one(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    key = f"{connection_id}:o1"
    await store.ingest(
        tenant, connection_id, [make_order("o1", result=SCORED)], EventSource.MUTATION
    )
    theirs = SCORED.model_copy(update={"score": 12.0, "attributes": ()})

    result = await store.ingest(
        tenant, connection_id, [make_order("o1", result=theirs)], EventSource.WEBHOOK
    )

    assert result.updated == 1
    assert (await store.get(tenant, [key]))[key].order.result == theirs


# -- a read begun before a delivered result cannot put the old status back ------------


def _delivered(prepared: PreparedOrder, at: datetime) -> CurrentRow:
    """``prepared`` stored as COMPLETED by a delivery recorded ``at``, with its result."""
    completed = prepare_order(
        "c", prepared.order.model_copy(update={"status": OrderStatus.COMPLETED})
    )
    return replace(_current(completed, SCORED), provider_status=None, delivered_at=at)


def test_plan_keeps_the_status_of_a_read_begun_before_the_delivery() -> None:
    read = prepare_order("c", make_order("o1"))  # OPEN, as before the delivery
    stored = {read.id: _delivered(read, minutes(5))}

    plan = plan_ingest("t", [read], stored, EventSource.POLL, minutes(9), read_at=minutes(4))

    assert (plan.unchanged, plan.updates, plan.events) == (1, [], [])


def test_plan_applies_the_rest_of_a_read_begun_before_the_delivery() -> None:
    before = prepare_order("c", make_order("o1"))
    stored = {before.id: _delivered(before, minutes(5))}
    read = prepare_order("c", make_order("o1", name="Ada"))  # OPEN, and a new name

    plan = plan_ingest("t", [read], stored, EventSource.POLL, minutes(9), read_at=minutes(4))

    [update] = plan.updates
    assert (update["status"], update["candidate_name"], plan.events) == ("COMPLETED", "Ada", [])
    assert update["data"]["status"] == "COMPLETED"
    assert update["data"]["result"] == stored_result(SCORED)


def test_plan_takes_the_status_of_a_read_begun_after_the_delivery_or_of_unknown_time() -> None:
    read = prepare_order("c", make_order("o1"))
    stored = {read.id: _delivered(read, minutes(5))}

    for read_at in (minutes(5), minutes(6), None):
        plan = plan_ingest("t", [read], stored, EventSource.POLL, minutes(9), read_at=read_at)

        [update] = plan.updates
        assert update["status"] == "OPEN", read_at
        assert [(e["previous_status"], e["new_status"]) for e in plan.events] == [
            ("COMPLETED", "OPEN")
        ]


async def test_a_read_begun_before_a_delivery_keeps_its_status(fresh_store: Store) -> None:
    key = "c:k1"
    await fresh_store.orders.ingest("acme", "c", [kombo_order("k1")], EventSource.POLL)
    recorded = await fresh_store.results.record(
        "acme",
        "c",
        key,
        {"score": 87.5},
        update=lambda o: o.model_copy(update={"result": SCORED}),
        lease=timedelta(minutes=2),
        now=minutes(1),
    )
    assert recorded is not None
    await fresh_store.results.delivered(
        recorded.delivery,
        update=lambda o: o.model_copy(update={"status": OrderStatus.COMPLETED}),
        now=minutes(3),
    )
    version = await fresh_store.orders.data_version("acme")

    # a poll page read at minute 2 (Kombo still OPEN), ingested after the delivery
    late = await fresh_store.orders.ingest(
        "acme", "c", [kombo_order("k1")], EventSource.POLL, now=minutes(4), read_at=minutes(2)
    )
    # a read begun after the delivery is the provider's word, whatever it shows
    fresh = await fresh_store.orders.ingest(
        "acme", "c", [kombo_order("k1")], EventSource.POLL, now=minutes(6), read_at=minutes(5)
    )

    assert (late.unchanged, late.events) == (1, ())
    assert [(e.previous_status, e.new_status) for e in fresh.events] == [
        (OrderStatus.COMPLETED, OrderStatus.OPEN)
    ]
    assert await fresh_store.orders.data_version("acme") == version + 1
    stored = (await fresh_store.orders.get("acme", [key]))[key]
    assert (stored.order.status, stored.order.result) == (OrderStatus.OPEN, SCORED)


# -- while our result is on its way, a read's older result does not replace it -------


def test_plan_keeps_our_result_over_a_reads_while_ours_is_being_delivered() -> None:
    theirs = SCORED.model_copy(update={"score": 12.0})
    read = prepare_order("c", make_order("o1", result=theirs))
    ours = prepare_order("c", make_order("o1"))
    pending = {read.id: replace(_current(ours, SCORED), result_pending=True)}
    settled = {read.id: _current(ours, SCORED)}

    kept = plan_ingest("t", [read], pending, EventSource.WEBHOOK, minutes(9))
    replaced = plan_ingest("t", [read], settled, EventSource.WEBHOOK, minutes(9))

    assert (kept.unchanged, kept.updates) == (1, [])
    assert replaced.updates[0]["data"]["result"]["score"] == 12.0


async def test_a_webhook_with_the_providers_old_result_waits_for_ours(fresh_store: Store) -> None:
    key = "c:o1"
    theirs = SCORED.model_copy(update={"score": 12.0, "attributes": ()})
    await fresh_store.orders.ingest("acme", "c", [make_order("o1")], EventSource.WEBHOOK)
    recorded = await fresh_store.results.record(
        "acme",
        "c",
        key,
        {"score": 87.5},
        update=lambda o: o.model_copy(update={"result": SCORED}),
        lease=timedelta(minutes=2),
        now=minutes(1),
    )
    assert recorded is not None

    # while ours is in flight, a webhook shows the result the provider held before it
    early = await fresh_store.orders.ingest(
        "acme", "c", [make_order("o1", result=theirs)], EventSource.WEBHOOK, now=minutes(2)
    )
    held = (await fresh_store.orders.get("acme", [key]))[key].order.result
    await fresh_store.results.delivered(recorded.delivery, update=lambda o: o, now=minutes(3))
    # once ours was taken, what the provider then says is its word
    later = await fresh_store.orders.ingest(
        "acme", "c", [make_order("o1", result=theirs)], EventSource.WEBHOOK, now=minutes(4)
    )

    assert (early.unchanged, early.events) == (1, ())
    assert held == SCORED
    assert later.updated == 1
    assert (await fresh_store.orders.get("acme", [key]))[key].order.result == theirs


async def test_a_recreated_tenant_state_never_repeats_its_earlier_versions(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    """A store built anew (a restore, a reset) while a shared response cache keeps its
    entries: the new count must not meet the old one (store/versions.py)."""
    earlier = []
    for n in range(3):
        earlier.append(
            (
                await store.ingest(tenant, connection_id, [make_order(f"a{n}")], EventSource.POLL)
            ).data_version
        )
    async with store.engine.begin() as conn:
        await conn.execute(sa.delete(tenant_state).where(tenant_state.c.tenant == tenant))
    assert await store.data_version(tenant) == 0

    again = await store.ingest(tenant, connection_id, [make_order("b0")], EventSource.POLL)

    assert earlier == [earlier[0], earlier[0] + 1, earlier[0] + 2]
    assert again.data_version not in earlier
    assert again.data_version > 0
