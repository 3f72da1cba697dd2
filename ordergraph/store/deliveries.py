"""Result deliveries: every result submitted, kept until its provider has it.

A worker ``claim``s due deliveries (a lease: a claimed delivery whose worker dies
becomes due again when the lease ends), tries them, then ``complete``s or ``fail``s
each. Delivery is at least once: a lease that runs out while the worker is still busy
lets another worker try the same delivery (the providers' result writes are PUT or
PATCH, so a second identical write changes nothing).

Per order, only the newest result counts and results reach the provider in order:

- a newer delivery *supersedes* an older one that has not started (the older row is
  deleted: it is no longer work), and an older one found due later (its worker died);
- a delivery is not claimed while an older one of the same order is in flight under a
  live lease, so an old write can never land after a new one.

``attempt`` (the ``attempts`` count a claim returned) identifies one claim: finishing
with it does nothing once the lease ran out and another worker claimed the delivery.

Beside what is sent, a delivery's payload keeps (under ``"accepted"``) the result the
provider had last accepted for the order when this one was recorded: the result the
order shows again if this one fails for good (ordergraph/store/results.py). The key is
never sent and is left out when deliveries are compared (``sent_part``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ordergraph.store.engine import write_transaction
from ordergraph.store.tables import pending_deliveries
from ordergraph.store.types import as_utc, utcnow

__all__ = [
    "Delivery",
    "DeliveryBacklog",
    "DeliveryMarks",
    "DeliveryQueue",
    "DeliveryState",
    "accepted_payload",
    "delivery_marks_in",
    "sent_part",
]

_DUE_STATES = ("pending", "in_flight")
_c = pending_deliveries.c
# The payload key holding the last accepted result (never sent to a provider).
_ACCEPTED = "accepted"


def sent_part(payload: Any) -> Any:
    """``payload`` without the accepted result it keeps: what reaches the provider."""
    if isinstance(payload, dict):
        return {key: value for key, value in payload.items() if key != _ACCEPTED}
    return payload


def accepted_payload(payload: Any, accepted: dict[str, Any] | None) -> dict[str, Any]:
    """``payload`` keeping ``accepted`` (a result document, None for none) beside it."""
    return {**sent_part(payload), _ACCEPTED: {"result": accepted}}


@dataclass(frozen=True, slots=True)
class AcceptedResult:
    """The result the provider had accepted before a delivery (None: it had none)."""

    result: dict[str, Any] | None


class DeliveryState(StrEnum):
    """Where a delivery is in its life."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One result waiting to reach (or having reached) a provider."""

    id: int
    tenant: str
    order_id: str
    connection_id: str
    payload: Any
    state: DeliveryState
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime

    @property
    def accepted(self) -> AcceptedResult | None:
        """The last accepted result kept beside this one; None for a delivery recorded
        before deliveries kept it (nothing is known then)."""
        kept = self.payload.get(_ACCEPTED) if isinstance(self.payload, dict) else None
        if not isinstance(kept, dict):
            return None
        result = kept.get("result")
        return AcceptedResult(result if isinstance(result, dict) else None)


@dataclass(frozen=True, slots=True)
class DeliveryBacklog:
    """Deliveries not yet delivered or given up (for metrics): how many, and since when."""

    pending: int
    in_flight: int
    oldest_created_at: datetime | None

    @property
    def total(self) -> int:
        return self.pending + self.in_flight


def _delivery(row: RowMapping) -> Delivery:
    return Delivery(
        id=row["id"],
        tenant=row["tenant"],
        order_id=row["order_id"],
        connection_id=row["connection_id"],
        payload=row["payload"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _now(now: datetime | None) -> datetime:
    return as_utc(now) if now is not None else utcnow()


@dataclass(frozen=True, slots=True)
class DeliveryMarks:
    """What ingestion needs to know of an order's result deliveries."""

    # When its last delivered result was recorded as taken by the provider.
    delivered_at: datetime | None
    # A result of ours is still on its way (pending or in flight).
    pending: bool


async def delivery_marks_in(
    conn: AsyncConnection, tenant: str, order_ids: Sequence[str]
) -> dict[str, DeliveryMarks]:
    """``DeliveryMarks`` of each order among ``order_ids`` that has a live or delivered
    delivery (others are left out), in one query over the (tenant, order_id) index."""
    if not order_ids:
        return {}
    result = await conn.execute(
        sa.select(_c.order_id, _c.state, _c.updated_at).where(
            _c.tenant == tenant,
            _c.order_id.in_(list(order_ids)),
            _c.state.in_([*_DUE_STATES, DeliveryState.DELIVERED.value]),
        )
    )
    delivered: dict[str, datetime] = {}
    pending: set[str] = set()
    for order_id, state, updated_at in result.all():
        if state == DeliveryState.DELIVERED.value:
            at = as_utc(updated_at)
            delivered[order_id] = max(at, delivered.get(order_id, at))
        else:
            pending.add(order_id)
    return {
        order_id: DeliveryMarks(delivered.get(order_id), order_id in pending)
        for order_id in delivered.keys() | pending
    }


class DeliveryQueue:
    """A small durable work queue over ``pending_deliveries``.

    The ``*_in`` methods run inside a caller's write transaction (``ResultLedger``
    records a result and its delivery together); the others open their own.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enqueue(
        self,
        tenant: str,
        order_id: str,
        connection_id: str,
        payload: Any,
        *,
        now: datetime | None = None,
    ) -> Delivery:
        """Queue ``payload`` for delivery, due at once."""
        async with write_transaction(self._engine) as conn:
            return await self.enqueue_in(conn, tenant, order_id, connection_id, payload, now=now)

    async def enqueue_in(
        self,
        conn: AsyncConnection,
        tenant: str,
        order_id: str,
        connection_id: str,
        payload: Any,
        *,
        claim_for: timedelta | None = None,
        now: datetime | None = None,
    ) -> Delivery:
        """Queue ``payload``; with ``claim_for``, already claimed by the caller (in
        flight, first attempt) for that lease, else due at once."""
        at = _now(now)
        claimed = claim_for is not None
        result = await conn.execute(
            pending_deliveries.insert()
            .values(
                tenant=tenant,
                order_id=order_id,
                connection_id=connection_id,
                payload=payload,
                state=(DeliveryState.IN_FLIGHT if claimed else DeliveryState.PENDING).value,
                attempts=1 if claimed else 0,
                next_attempt_at=at + claim_for if claim_for is not None else at,
                created_at=at,
                updated_at=at,
            )
            .returning(*pending_deliveries.c)
        )
        return _delivery(result.mappings().one())

    async def newest_in(self, conn: AsyncConnection, tenant: str, order_id: str) -> Delivery | None:
        """The order's newest delivery, if it has any."""
        result = await conn.execute(
            sa.select(pending_deliveries)
            .where(_c.tenant == tenant, _c.order_id == order_id)
            .order_by(_c.id.desc())
            .limit(1)
        )
        row = result.mappings().first()
        return _delivery(row) if row is not None else None

    async def supersede_in(
        self, conn: AsyncConnection, tenant: str, order_id: str, *, newer_than: int | None = None
    ) -> int:
        """Drop the order's deliveries that have not started (a newer result replaces
        them); returns how many. One in flight is left to finish: its worker owns it."""
        condition = sa.and_(
            _c.tenant == tenant,
            _c.order_id == order_id,
            _c.state == DeliveryState.PENDING.value,
        )
        if newer_than is not None:
            condition = sa.and_(condition, _c.id < newer_than)
        result = await conn.execute(pending_deliveries.delete().where(condition))
        return int(result.rowcount)

    async def busy_in(
        self, conn: AsyncConnection, tenant: str, order_id: str, *, now: datetime | None = None
    ) -> bool:
        """True while one of the order's deliveries is in flight under a live lease."""
        at = _now(now)
        result = await conn.execute(
            sa.select(sa.literal(1))
            .where(
                _c.tenant == tenant,
                _c.order_id == order_id,
                _c.state == DeliveryState.IN_FLIGHT.value,
                _c.next_attempt_at > at,
            )
            .limit(1)
        )
        return result.first() is not None

    async def claim(
        self,
        *,
        limit: int = 10,
        lease: timedelta = timedelta(minutes=1),
        now: datetime | None = None,
    ) -> list[Delivery]:
        """Take up to ``limit`` due deliveries for ``lease``; each claim counts an attempt.

        Concurrent claimers never get the same delivery: PostgreSQL skips rows another
        claimer holds (SKIP LOCKED); SQLite runs one write transaction at a time. A due
        delivery whose order has a newer one is superseded (deleted), not claimed; one
        whose order has an older delivery in flight under a live lease waits for it.
        """
        at = _now(now)
        older = pending_deliveries.alias("older")
        newer = pending_deliveries.alias("newer")
        same_order = sa.and_(
            older.c.tenant == _c.tenant, older.c.order_id == _c.order_id, older.c.id < _c.id
        )
        due = (
            sa.select(_c.id)
            .where(
                _c.state.in_(_DUE_STATES),
                _c.next_attempt_at <= at,
                ~sa.exists().where(
                    same_order,
                    older.c.state == DeliveryState.IN_FLIGHT.value,
                    older.c.next_attempt_at > at,
                ),
            )
            .order_by(_c.next_attempt_at, _c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=pending_deliveries)
        )
        async with write_transaction(self._engine) as conn:
            ids = list((await conn.execute(due)).scalars())
            if not ids:
                return []
            stale = set(
                (
                    await conn.execute(
                        sa.select(_c.id).where(
                            _c.id.in_(ids),
                            sa.exists().where(
                                newer.c.tenant == _c.tenant,
                                newer.c.order_id == _c.order_id,
                                newer.c.id > _c.id,
                            ),
                        )
                    )
                ).scalars()
            )
            if stale:
                await conn.execute(pending_deliveries.delete().where(_c.id.in_(stale)))
            ids = [i for i in ids if i not in stale]
            if not ids:
                return []
            result = await conn.execute(
                pending_deliveries.update()
                .where(_c.id.in_(ids))
                .values(
                    state=DeliveryState.IN_FLIGHT.value,
                    attempts=_c.attempts + 1,
                    next_attempt_at=at + lease,
                    updated_at=at,
                )
                .returning(*pending_deliveries.c)
            )
            claimed = [_delivery(row) for row in result.mappings()]
        return sorted(claimed, key=lambda d: (d.next_attempt_at, d.id))

    async def complete(
        self, delivery_id: int, *, attempt: int | None = None, now: datetime | None = None
    ) -> bool:
        """Mark a claimed delivery delivered; False if it was not in flight (under
        ``attempt``'s claim, when given)."""
        async with write_transaction(self._engine) as conn:
            return await self.complete_in(conn, delivery_id, attempt=attempt, now=now)

    async def complete_in(
        self,
        conn: AsyncConnection,
        delivery_id: int,
        *,
        attempt: int | None = None,
        now: datetime | None = None,
    ) -> bool:
        return await self._finish(
            conn, delivery_id, attempt, {"state": DeliveryState.DELIVERED.value}, now
        )

    async def fail(
        self,
        delivery_id: int,
        error: str,
        *,
        retry_at: datetime | None,
        attempt: int | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record a failed attempt: due again at ``retry_at``, or given up when ``None``."""
        async with write_transaction(self._engine) as conn:
            return await self.fail_in(
                conn, delivery_id, error, retry_at=retry_at, attempt=attempt, now=now
            )

    async def fail_in(
        self,
        conn: AsyncConnection,
        delivery_id: int,
        error: str,
        *,
        retry_at: datetime | None,
        attempt: int | None = None,
        now: datetime | None = None,
    ) -> bool:
        """``fail`` inside the caller's write transaction."""
        state = DeliveryState.PENDING if retry_at is not None else DeliveryState.FAILED
        values: dict[str, Any] = {"state": state.value, "last_error": error}
        if retry_at is not None:
            values["next_attempt_at"] = as_utc(retry_at)
        return await self._finish(conn, delivery_id, attempt, values, now)

    async def set_accepted_in(
        self,
        conn: AsyncConnection,
        tenant: str,
        order_id: str,
        accepted: dict[str, Any] | None,
        *,
        newer_than: int,
    ) -> int:
        """Make ``accepted`` the last accepted result kept by the order's deliveries
        recorded after ``newer_than`` (an older one was just delivered); returns how many."""
        result = await conn.execute(
            sa.select(_c.id, _c.payload).where(
                _c.tenant == tenant, _c.order_id == order_id, _c.id > newer_than
            )
        )
        rows = result.all()
        for delivery_id, payload in rows:
            await conn.execute(
                pending_deliveries.update()
                .where(_c.id == delivery_id)
                .values(payload=accepted_payload(payload, accepted))
            )
        return len(rows)

    async def release(
        self, delivery_id: int, *, attempt: int | None = None, now: datetime | None = None
    ) -> bool:
        """Hand a claimed delivery back, due at once (a worker stopping cleanly)."""
        at = _now(now)
        values = {"state": DeliveryState.PENDING.value, "next_attempt_at": at}
        async with write_transaction(self._engine) as conn:
            return await self._finish(conn, delivery_id, attempt, values, at)

    async def _finish(
        self,
        conn: AsyncConnection,
        delivery_id: int,
        attempt: int | None,
        values: dict[str, Any],
        now: datetime | None,
    ) -> bool:
        condition = sa.and_(_c.id == delivery_id, _c.state == DeliveryState.IN_FLIGHT.value)
        if attempt is not None:
            condition = sa.and_(condition, _c.attempts == attempt)
        result = await conn.execute(
            pending_deliveries.update().where(condition).values({**values, "updated_at": _now(now)})
        )
        return bool(result.rowcount)

    async def get(self, delivery_id: int) -> Delivery | None:
        """One delivery by id."""
        async with self._engine.connect() as conn:
            result = await conn.execute(sa.select(pending_deliveries).where(_c.id == delivery_id))
            row = result.mappings().first()
        return _delivery(row) if row is not None else None

    async def newest_for_orders(self, tenant: str, order_ids: Sequence[str]) -> dict[str, Delivery]:
        """Each order's newest delivery (orders without one are left out), in one query."""
        wanted = list(dict.fromkeys(order_ids))
        if not wanted:
            return {}
        newest = (
            sa.select(sa.func.max(_c.id))
            .where(_c.tenant == tenant, _c.order_id.in_(wanted))
            .group_by(_c.order_id)
        )
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(pending_deliveries).where(_c.id.in_(newest.scalar_subquery()))
            )
            return {row["order_id"]: _delivery(row) for row in result.mappings()}

    async def backlog(self, tenant: str | None = None) -> DeliveryBacklog:
        """How many deliveries are waiting or in flight (of ``tenant``, or all): one
        cheap aggregate over the (state, next_attempt_at) index, for metrics."""
        query = (
            sa.select(_c.state, sa.func.count(), sa.func.min(_c.created_at))
            .where(_c.state.in_(_DUE_STATES))
            .group_by(_c.state)
        )
        if tenant is not None:
            query = query.where(_c.tenant == tenant)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        counts = {state: int(count) for state, count, _ in rows}
        oldest = [as_utc(first) for _, _, first in rows if first is not None]
        return DeliveryBacklog(
            pending=counts.get(DeliveryState.PENDING.value, 0),
            in_flight=counts.get(DeliveryState.IN_FLIGHT.value, 0),
            oldest_created_at=min(oldest) if oldest else None,
        )

    async def list(
        self,
        tenant: str,
        *,
        states: Sequence[DeliveryState] | None = None,
        order_id: str | None = None,
    ) -> list[Delivery]:
        """``tenant``'s deliveries (optionally by state or order), oldest first."""
        query = sa.select(pending_deliveries).where(_c.tenant == tenant).order_by(_c.id)
        if states is not None:
            query = query.where(_c.state.in_([s.value for s in states]))
        if order_id is not None:
            query = query.where(_c.order_id == order_id)
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [_delivery(row) for row in result.mappings()]
