"""Submitted results: the order's result and its delivery, always written together.

A result is recorded before any provider sees it: one transaction stores it on the
order (so ``Order.result`` shows it at once) and queues its delivery, so neither half
can exist without the other. When the provider has taken it, one more transaction
records the status the provider now holds (a MUTATION event when it changed) and
marks the delivery delivered, so a crash between the two cannot lose the event.

``Order.result`` shows what the provider accepted, or the result of ours still on its
way. So each delivery keeps, beside what it sends, the result the provider had last
accepted (``Delivery.accepted``): the order's result when it was recorded, or, while an
older one of ours is still on its way, the one that older delivery kept (updated when
that older one is delivered). A delivery that fails for good (refused, or out of
attempts) puts that accepted result back on the order in the same transaction that
marks it failed, unless a newer result was submitted meanwhile (that one is shown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ordergraph.models import AssessmentResult, Order
from ordergraph.store.deliveries import (
    Delivery,
    DeliveryQueue,
    DeliveryState,
    accepted_payload,
    sent_part,
)
from ordergraph.store.engine import write_transaction
from ordergraph.store.orders import OrderStore
from ordergraph.store.records import EventSource, IngestResult
from ordergraph.store.types import as_utc, utcnow

__all__ = ["RecordedResult", "ResultLedger"]

OrderUpdate = Callable[[Order], Order]
_LIVE = (DeliveryState.PENDING, DeliveryState.IN_FLIGHT)


def _result_document(order: Order) -> dict[str, Any] | None:
    return order.result.model_dump(mode="json") if order.result is not None else None


def _accepted_before(newest: Delivery | None, order: Order) -> dict[str, Any] | None:
    """The result the provider last accepted, as a new delivery is recorded: while an
    older result of ours is on its way the order shows that one, so the older
    delivery's kept result; else the order's own (accepted, or put back on failure)."""
    if newest is not None and newest.state in _LIVE:
        kept = newest.accepted
        if kept is not None:
            return kept.result
    return _result_document(order)


@dataclass(frozen=True, slots=True)
class RecordedResult:
    """What recording a result did.

    ``claimed``: the delivery was queued already in flight for the caller (its first
    attempt is the caller's to make). ``repeated``: the order's newest delivery already
    carried this very payload and had not failed, so nothing was written.
    """

    delivery: Delivery
    ingest: IngestResult | None
    claimed: bool
    repeated: bool


class ResultLedger:
    """Transactions over an order and its result deliveries."""

    def __init__(self, engine: AsyncEngine, orders: OrderStore, deliveries: DeliveryQueue) -> None:
        self._engine = engine
        self._orders = orders
        self._deliveries = deliveries

    async def record(
        self,
        tenant: str,
        connection_id: str,
        order_id: str,
        payload: Any,
        *,
        update: OrderUpdate,
        lease: timedelta,
        now: datetime | None = None,
    ) -> RecordedResult | None:
        """Store ``update(order)`` (the order carrying the new result) and queue
        ``payload`` for delivery, in one transaction; None when ``tenant`` has no such
        order.

        Older deliveries of the order that have not started are superseded. The new
        one is claimed for the caller for ``lease`` unless an older one is still in
        flight (then it waits, due, until that one ends, so writes land in order).
        """
        at = as_utc(now) if now is not None else utcnow()
        async with write_transaction(self._engine) as conn:
            # The tenant lock first: the order read below cannot change under us.
            await self._orders.lock_tenant_in(conn, tenant, now=at)
            stored = await self._orders.get_in(conn, tenant, order_id)
            if stored is None:
                return None
            newest = await self._deliveries.newest_in(conn, tenant, order_id)
            if (
                newest is not None
                and sent_part(newest.payload) == sent_part(payload)
                and newest.state is not DeliveryState.FAILED
            ):
                return RecordedResult(newest, None, claimed=False, repeated=True)
            kept = accepted_payload(payload, _accepted_before(newest, stored.order))
            ingest = await self._orders.ingest_in(
                conn, tenant, connection_id, [update(stored.order)], EventSource.MUTATION, now=at
            )
            await self._deliveries.supersede_in(conn, tenant, order_id)
            busy = await self._deliveries.busy_in(conn, tenant, order_id, now=at)
            delivery = await self._deliveries.enqueue_in(
                conn,
                tenant,
                order_id,
                connection_id,
                kept,
                claim_for=None if busy else lease,
                now=at,
            )
        return RecordedResult(delivery, ingest, claimed=not busy, repeated=False)

    async def delivered(
        self, delivery: Delivery, *, update: OrderUpdate, now: datetime | None = None
    ) -> IngestResult | None:
        """Record that the provider took ``delivery`` (claimed as ``delivery.attempts``):
        store ``update(order)`` (the status the provider now holds) and mark it delivered.

        When a newer result was submitted meanwhile the order keeps showing that one
        (its own delivery follows) and takes only the status; the newer deliveries keep
        this result as the accepted one to fall back to. Returns the ingestion, or None
        when nothing was ingested (the claim had passed to another worker).
        """
        at = as_utc(now) if now is not None else utcnow()
        async with write_transaction(self._engine) as conn:
            await self._orders.lock_tenant_in(conn, delivery.tenant, now=at)
            done = await self._deliveries.complete_in(
                conn, delivery.id, attempt=delivery.attempts, now=at
            )
            if not done:
                return None
            stored = await self._orders.get_in(conn, delivery.tenant, delivery.order_id)
            if stored is None:
                return None
            taken = update(stored.order)
            newest = await self._deliveries.newest_in(conn, delivery.tenant, delivery.order_id)
            if newest is not None and newest.id != delivery.id:
                # The newer results now wait on top of this one: it is the accepted one
                # they fall back to should they fail. The order keeps showing the newest
                # result, with the status the provider now holds.
                await self._deliveries.set_accepted_in(
                    conn,
                    delivery.tenant,
                    delivery.order_id,
                    _result_document(taken),
                    newer_than=delivery.id,
                )
                taken = taken.model_copy(update={"result": stored.order.result})
            return await self._orders.ingest_in(
                conn,
                delivery.tenant,
                delivery.connection_id,
                [taken],
                EventSource.MUTATION,
                now=at,
            )

    async def failed(
        self, delivery: Delivery, error: str, *, now: datetime | None = None
    ) -> IngestResult | None:
        """Record that ``delivery`` (claimed as ``delivery.attempts``) failed for good
        and, when it is still the order's newest, put the result the provider had last
        accepted back on the order (none, if it had none), in one transaction.

        Returns the ingestion (None when nothing was ingested: the claim had passed on,
        a newer result is shown, or the delivery predates kept accepted results).
        """
        at = as_utc(now) if now is not None else utcnow()
        async with write_transaction(self._engine) as conn:
            await self._orders.lock_tenant_in(conn, delivery.tenant, now=at)
            done = await self._deliveries.fail_in(
                conn, delivery.id, error, retry_at=None, attempt=delivery.attempts, now=at
            )
            newest = await self._deliveries.newest_in(conn, delivery.tenant, delivery.order_id)
            kept = delivery.accepted
            if not done or kept is None or newest is None or newest.id != delivery.id:
                return None
            stored = await self._orders.get_in(conn, delivery.tenant, delivery.order_id)
            if stored is None:
                return None
            accepted = AssessmentResult.model_validate(kept.result) if kept.result else None
            return await self._orders.ingest_in(
                conn,
                delivery.tenant,
                delivery.connection_id,
                [stored.order.model_copy(update={"result": accepted})],
                EventSource.MUTATION,
                now=at,
                replace_result=True,
            )
