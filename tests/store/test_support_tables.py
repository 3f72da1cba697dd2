"""Sync state, idempotency keys and the pending delivery queue."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from ordergraph.store import DeliveryState, OrderStore, Store, SyncState, SyncStateStore
from ordergraph.store.idempotency import IdempotencyStore
from tests.store.builders import T0, minutes


async def test_sync_state_round_trip_and_replace(store: OrderStore, connection_id: str) -> None:
    states = SyncStateStore(store.engine)
    assert await states.get(connection_id) is None

    await states.put(SyncState(connection_id, cursor="c1", details={"pages": 3}))
    await states.put(
        SyncState(connection_id, cursor="c2", last_synced_at=T0, last_error="HTTP 503")
    )

    assert await states.get(connection_id) == SyncState(
        connection_id, cursor="c2", last_synced_at=T0, last_error="HTTP 503", details={}
    )


async def test_idempotency_put_keeps_the_first(store: OrderStore, tenant: str) -> None:
    keys = IdempotencyStore(store.engine)
    assert await keys.get(tenant, "k1") is None

    first = await keys.put(
        tenant, "k1", operation="submitResult", request_hash="h1", response={"ok": 1}, now=T0
    )
    second = await keys.put(
        tenant, "k1", operation="submitResult", request_hash="h2", response={"ok": 2}
    )

    assert first == second == await keys.get(tenant, "k1")
    assert (first.request_hash, first.response, first.created_at) == ("h1", {"ok": 1}, T0)
    assert await keys.get(f"{tenant}-other", "k1") is None


async def test_idempotency_racing_puts_agree(store: OrderStore, tenant: str) -> None:
    keys = IdempotencyStore(store.engine)

    records = await asyncio.gather(
        *(
            keys.put(tenant, "race", operation="op", request_hash=f"h{i}", response=i)
            for i in range(8)
        )
    )

    assert len({r.request_hash for r in records}) == 1


async def test_idempotency_purge(store: OrderStore, tenant: str) -> None:
    keys = IdempotencyStore(store.engine)
    await keys.put(tenant, "old", operation="op", request_hash="h", response=None, now=T0)

    assert await keys.purge(minutes(1)) >= 1
    assert await keys.get(tenant, "old") is None


async def test_delivery_life_cycle(fresh_store: Store) -> None:
    queue = fresh_store.deliveries
    first = await queue.enqueue("acme", "c:o1", "c", {"score": 1}, now=T0)
    second = await queue.enqueue("acme", "c:o2", "c", {"score": 2}, now=minutes(1))

    assert [d.id for d in await queue.claim(limit=1, now=minutes(2))] == [first.id]
    claimed = await queue.claim(limit=5, now=minutes(2), lease=timedelta(minutes=1))
    assert [(d.id, d.state, d.attempts) for d in claimed] == [
        (second.id, DeliveryState.IN_FLIGHT, 1)
    ]
    assert await queue.claim(now=minutes(2)) == []  # both leased

    assert await queue.fail(first.id, "HTTP 503", retry_at=minutes(10), now=minutes(3))
    assert await queue.complete(second.id, now=minutes(3))
    assert not await queue.complete(second.id)  # only an in-flight delivery completes
    assert await queue.claim(now=minutes(9)) == []
    [retry] = await queue.claim(now=minutes(10))
    assert (retry.id, retry.attempts, retry.last_error) == (first.id, 2, "HTTP 503")
    assert await queue.fail(first.id, "HTTP 422", retry_at=None, now=minutes(11))

    listed = await queue.list("acme")
    assert [(d.state, d.attempts) for d in listed] == [
        (DeliveryState.FAILED, 2),
        (DeliveryState.DELIVERED, 1),
    ]
    assert await queue.list("acme", states=[DeliveryState.FAILED], order_id="c:o1") == listed[:1]


async def test_expired_lease_makes_a_delivery_due_again(fresh_store: Store) -> None:
    queue = fresh_store.deliveries
    queued = await queue.enqueue("acme", "c:o1", "c", {}, now=T0)
    await queue.claim(now=T0, lease=timedelta(minutes=1))

    [again] = await queue.claim(now=minutes(1))

    assert (again.id, again.attempts) == (queued.id, 2)


async def test_concurrent_claims_never_share_a_delivery(fresh_store: Store) -> None:
    queue = fresh_store.deliveries
    for i in range(20):
        await queue.enqueue("acme", f"c:o{i}", "c", {"i": i}, now=T0)

    batches = await asyncio.gather(*(queue.claim(limit=3, now=minutes(1)) for _ in range(10)))

    ids = [d.id for batch in batches for d in batch]
    assert len(ids) == len(set(ids)) == 20
