"""``ResultLedger`` and the delivery queue's per-order rules, on SQLite and PostgreSQL:
a result and its delivery commit together; a newer result supersedes an older one that
has not started and waits behind one in flight; an older one found due after a newer
was queued is dropped; a stale claim cannot finish; idempotency claims can be taken
over exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from ordergraph.models import AssessmentResult, Order, OrderStatus
from ordergraph.store import DeliveryState, EventSource, Store
from tests.store.builders import kombo_order, minutes

LEASE = timedelta(minutes=2)
KEY = "c:o1"


def _with_score(score: float) -> Callable[[Order], Order]:
    def update(order: Order) -> Order:
        result = AssessmentResult(status=OrderStatus.COMPLETED, score=score, url="https://r/1")
        return order.model_copy(update={"result": result})

    return update


async def _indexed(store: Store) -> None:
    await store.orders.ingest("acme", "c", [kombo_order("o1")], EventSource.POLL, now=minutes(0))


async def test_a_result_and_its_delivery_are_recorded_together(fresh_store: Store) -> None:
    await _indexed(fresh_store)
    version = await fresh_store.orders.data_version("acme")

    recorded = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(1)
    )

    assert recorded is not None

    assert recorded.claimed
    assert recorded.delivery.state is DeliveryState.IN_FLIGHT
    assert recorded.delivery.attempts == 1
    stored = (await fresh_store.orders.get("acme", [KEY]))[KEY]
    assert stored.order.result is not None
    assert stored.order.result.score == 1
    assert stored.order.status is OrderStatus.OPEN  # the provider's, until delivered
    assert await fresh_store.orders.data_version("acme") == version + 1
    assert [e.source for e in await fresh_store.orders.events_after("acme", None)] == [
        EventSource.POLL
    ]
    # an unknown order, or another tenant's, records nothing
    for tenant, key in (("acme", "c:nope"), ("globex", KEY)):
        assert (
            await fresh_store.results.record(
                tenant, "c", key, {"score": 2}, update=_with_score(2), lease=LEASE
            )
            is None
        )
    assert len(await fresh_store.deliveries.list("acme")) == 1
    assert await fresh_store.deliveries.list("globex") == []


async def test_delivered_records_the_providers_status_with_one_event(fresh_store: Store) -> None:
    await _indexed(fresh_store)
    recorded = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(1)
    )
    assert recorded is not None

    ingest = await fresh_store.results.delivered(
        recorded.delivery,
        update=lambda o: o.model_copy(update={"status": OrderStatus.COMPLETED}),
        now=minutes(2),
    )

    assert ingest is not None
    assert [(e.previous_status, e.new_status, e.source) for e in ingest.events] == [
        (OrderStatus.OPEN, OrderStatus.COMPLETED, EventSource.MUTATION)
    ]
    [delivery] = await fresh_store.deliveries.list("acme")
    assert delivery.state is DeliveryState.DELIVERED
    stored = (await fresh_store.orders.get("acme", [KEY]))[KEY]
    assert stored.order.result is not None
    assert stored.order.result.score == 1
    # the same claim cannot finish twice
    assert await fresh_store.results.delivered(recorded.delivery, update=lambda o: o) is None


async def test_a_newer_result_supersedes_a_pending_one_and_waits_behind_one_in_flight(
    fresh_store: Store,
) -> None:
    await _indexed(fresh_store)
    queue = fresh_store.deliveries
    # given: the first result in flight (claimed by its submitter)
    first = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(1)
    )
    assert first is not None
    assert first.claimed

    # when: two newer results arrive while it is in flight
    second = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 2}, update=_with_score(2), lease=LEASE, now=minutes(1.5)
    )
    third = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 3}, update=_with_score(3), lease=LEASE, now=minutes(2)
    )

    # then: neither is claimed for its submitter; the third replaced the second
    assert second is not None
    assert not second.claimed
    assert third is not None
    assert not third.claimed
    assert [d.payload["score"] for d in await queue.list("acme")] == [1, 3]
    # and the third waits while the first is in flight under its lease
    assert await queue.claim(now=minutes(2.5), lease=LEASE) == []

    # when: the first is delivered (the order carrying it, with the provider's status)
    done = await fresh_store.results.delivered(
        first.delivery,
        update=lambda o: _with_score(1)(o).model_copy(update={"status": OrderStatus.COMPLETED}),
    )

    # then: the order takes the status the provider now holds, but keeps showing the
    # third result, whose delivery follows
    assert done is not None
    assert [(e.previous_status, e.new_status) for e in done.events] == [
        (OrderStatus.OPEN, OrderStatus.COMPLETED)
    ]
    stored = (await fresh_store.orders.get("acme", [KEY]))[KEY]
    assert stored.order.result is not None
    assert stored.order.result.score == 3
    assert stored.order.status is OrderStatus.COMPLETED
    # and the third goes next, keeping the first as the accepted result to fall back to
    [claimed] = await queue.claim(now=minutes(2.5), lease=LEASE)
    assert claimed.id == third.delivery.id
    assert claimed.accepted is not None
    assert claimed.accepted.result is not None
    assert claimed.accepted.result["score"] == 1


async def test_an_older_claim_whose_worker_died_is_dropped_for_the_newer(
    fresh_store: Store,
) -> None:
    await _indexed(fresh_store)
    queue = fresh_store.deliveries
    first = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(1)
    )
    newer = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 2}, update=_with_score(2), lease=LEASE, now=minutes(2)
    )
    assert first is not None
    assert newer is not None

    # when: the first one's lease has run out (its process died) and a worker claims
    claimed = await queue.claim(now=minutes(10), lease=LEASE)

    # then: only the newer one goes; the older is gone, and its stale claim cannot finish
    assert [d.id for d in claimed] == [newer.delivery.id]
    assert [d.id for d in await queue.list("acme")] == [newer.delivery.id]
    assert not await queue.fail(first.delivery.id, "late", retry_at=None, attempt=1)


async def test_a_stale_claim_cannot_finish_a_reclaimed_delivery(fresh_store: Store) -> None:
    queue = fresh_store.deliveries
    queued = await queue.enqueue("acme", KEY, "c", {}, now=minutes(0))
    [old] = await queue.claim(now=minutes(0), lease=LEASE)
    [new] = await queue.claim(now=minutes(5), lease=LEASE)  # the lease ran out

    assert not await queue.complete(queued.id, attempt=old.attempts)
    assert await queue.release(queued.id, attempt=new.attempts, now=minutes(6))
    [released] = await queue.list("acme")
    assert (released.state, released.attempts) == (DeliveryState.PENDING, 2)


async def test_backlog_and_newest_per_order(fresh_store: Store) -> None:
    queue = fresh_store.deliveries
    a1 = await queue.enqueue("acme", "c:a", "c", {"n": 1}, now=minutes(0))
    a2 = await queue.enqueue("acme", "c:a", "c", {"n": 2}, now=minutes(1))
    b = await queue.enqueue("acme", "c:b", "c", {"n": 3}, now=minutes(2))
    await queue.enqueue("globex", "d:x", "d", {"n": 4}, now=minutes(3))
    newest = await queue.newest_for_orders("acme", ["c:a", "c:b", "c:none", "d:x"])
    assert {k: d.id for k, d in newest.items()} == {"c:a": a2.id, "c:b": b.id}

    # a1 is due first, but a2 replaced it: the claim drops a1 and takes a2
    assert [d.id for d in await queue.claim(limit=2, now=minutes(4), lease=LEASE)] == [a2.id]
    assert a1.id not in [d.id for d in await queue.list("acme")]
    backlog = await queue.backlog("acme")
    assert (backlog.pending, backlog.in_flight, backlog.total) == (1, 1, 2)
    assert backlog.oldest_created_at == a2.created_at
    assert (await queue.backlog()).total == 3


async def test_an_idempotency_claim_is_taken_over_exactly_once(fresh_store: Store) -> None:
    keys = fresh_store.idempotency
    await keys.put("acme", "k", operation="op", request_hash="h", response={"claim": "dead"})

    won = await asyncio.gather(
        *(keys.take_over("acme", "k", claim="dead", response={"claim": f"c{i}"}) for i in range(5))
    )

    assert sorted(won) == [False, False, False, False, True]
    record = await keys.get("acme", "k")
    assert record is not None
    assert record.response["claim"] in {f"c{i}" for i in range(5)}
    assert not await keys.take_over("acme", "k", claim="dead", response={"claim": "late"})


async def test_a_delivery_failed_for_good_puts_the_accepted_result_back(
    fresh_store: Store,
) -> None:
    await _indexed(fresh_store)
    # given: a first result the provider took
    first = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(1)
    )
    assert first is not None
    assert first.delivery.accepted is not None
    assert first.delivery.accepted.result is None  # the order had none before
    assert await fresh_store.results.delivered(first.delivery, update=lambda o: o) is not None
    # and a second one, shown while it is on its way
    second = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 2}, update=_with_score(2), lease=LEASE, now=minutes(2)
    )
    assert second is not None
    assert second.claimed
    shown = (await fresh_store.orders.get("acme", [KEY]))[KEY].order.result
    assert shown is not None
    assert shown.score == 2

    # when: the provider refuses the second
    ingest = await fresh_store.results.failed(second.delivery, "refused", now=minutes(3))

    # then: failed, and the order shows the first again, without a status event
    assert ingest is not None
    assert ingest.events == ()
    [_, failed] = await fresh_store.deliveries.list("acme")
    assert (failed.state, failed.last_error) == (DeliveryState.FAILED, "refused")
    shown = (await fresh_store.orders.get("acme", [KEY]))[KEY].order.result
    assert shown is not None
    assert shown.score == 1
    # and the same claim cannot fail twice
    assert await fresh_store.results.failed(second.delivery, "again") is None


async def test_a_first_result_failed_for_good_leaves_the_order_without_one(
    fresh_store: Store,
) -> None:
    await _indexed(fresh_store)
    recorded = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(1)
    )
    assert recorded is not None

    assert await fresh_store.results.failed(recorded.delivery, "refused") is not None

    assert (await fresh_store.orders.get("acme", [KEY]))[KEY].order.result is None
    # and resubmitting it after FAILED queues it anew, on top of no accepted result
    again = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(2)
    )
    assert again is not None
    assert not again.repeated
    assert again.delivery.accepted is not None
    assert again.delivery.accepted.result is None


async def test_an_identical_resubmission_is_a_repeat_whatever_accepted_result_it_keeps(
    fresh_store: Store,
) -> None:
    await _indexed(fresh_store)
    first = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(1)
    )
    assert first is not None
    assert await fresh_store.results.delivered(first.delivery, update=lambda o: o) is not None

    # the order now holds the delivered result, so a new delivery would keep another
    # accepted result than the first did; the payloads sent are still the same
    again = await fresh_store.results.record(
        "acme", "c", KEY, {"score": 1}, update=_with_score(1), lease=LEASE, now=minutes(2)
    )

    assert again is not None
    assert again.repeated
    assert len(await fresh_store.deliveries.list("acme")) == 1
