"""Pending result deliveries: results a provider could not take yet, kept and retried.

A worker ``claim``s due deliveries (a lease: a claimed delivery whose worker dies
becomes due again when the lease ends), tries them, then ``complete``s or ``fail``s
each. Delivery is at least once: a lease that runs out while the worker is still busy
lets another worker try the same delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergraph.store.engine import write_transaction
from ordergraph.store.tables import pending_deliveries
from ordergraph.store.types import as_utc, utcnow

__all__ = ["Delivery", "DeliveryQueue", "DeliveryState"]

_DUE_STATES = ("pending", "in_flight")


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


class DeliveryQueue:
    """A small durable work queue over ``pending_deliveries``."""

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
        at = _now(now)
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                pending_deliveries.insert()
                .values(
                    tenant=tenant,
                    order_id=order_id,
                    connection_id=connection_id,
                    payload=payload,
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    next_attempt_at=at,
                    created_at=at,
                    updated_at=at,
                )
                .returning(*pending_deliveries.c)
            )
            return _delivery(result.mappings().one())

    async def claim(
        self,
        *,
        limit: int = 10,
        lease: timedelta = timedelta(minutes=1),
        now: datetime | None = None,
    ) -> list[Delivery]:
        """Take up to ``limit`` due deliveries for ``lease``; each claim counts an attempt.

        Concurrent claimers never get the same delivery: PostgreSQL skips rows another
        claimer holds (SKIP LOCKED); SQLite runs one write transaction at a time.
        """
        at = _now(now)
        c = pending_deliveries.c
        due = (
            sa.select(c.id)
            .where(c.state.in_(_DUE_STATES), c.next_attempt_at <= at)
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with write_transaction(self._engine) as conn:
            ids = list((await conn.execute(due)).scalars())
            if not ids:
                return []
            result = await conn.execute(
                pending_deliveries.update()
                .where(c.id.in_(ids))
                .values(
                    state=DeliveryState.IN_FLIGHT.value,
                    attempts=c.attempts + 1,
                    next_attempt_at=at + lease,
                    updated_at=at,
                )
                .returning(*pending_deliveries.c)
            )
            claimed = [_delivery(row) for row in result.mappings()]
        return sorted(claimed, key=lambda d: (d.next_attempt_at, d.id))

    async def complete(self, delivery_id: int, *, now: datetime | None = None) -> bool:
        """Mark a claimed delivery delivered; False if it was not in flight."""
        return await self._finish(delivery_id, DeliveryState.DELIVERED, None, None, now)

    async def fail(
        self,
        delivery_id: int,
        error: str,
        *,
        retry_at: datetime | None,
        now: datetime | None = None,
    ) -> bool:
        """Record a failed attempt: due again at ``retry_at``, or given up when ``None``."""
        state = DeliveryState.PENDING if retry_at is not None else DeliveryState.FAILED
        return await self._finish(delivery_id, state, error, retry_at, now)

    async def _finish(
        self,
        delivery_id: int,
        state: DeliveryState,
        error: str | None,
        retry_at: datetime | None,
        now: datetime | None,
    ) -> bool:
        at = _now(now)
        c = pending_deliveries.c
        values: dict[str, Any] = {"state": state.value, "last_error": error, "updated_at": at}
        if retry_at is not None:
            values["next_attempt_at"] = as_utc(retry_at)
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                pending_deliveries.update()
                .where(c.id == delivery_id, c.state == DeliveryState.IN_FLIGHT.value)
                .values(values)
            )
        return bool(result.rowcount)

    async def list(
        self,
        tenant: str,
        *,
        states: Sequence[DeliveryState] | None = None,
        order_id: str | None = None,
    ) -> list[Delivery]:
        """``tenant``'s deliveries (optionally by state or order), oldest first."""
        c = pending_deliveries.c
        query = sa.select(pending_deliveries).where(c.tenant == tenant).order_by(c.id)
        if states is not None:
            query = query.where(c.state.in_([s.value for s in states]))
        if order_id is not None:
            query = query.where(c.order_id == order_id)
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [_delivery(row) for row in result.mappings()]

    async def backlog(self) -> dict[str, int]:
        """Deliveries not done yet, by state (``pending``, ``in_flight``; 0 when none):
        one indexed count for the metrics scrape."""
        c = pending_deliveries.c
        query = (
            sa.select(c.state, sa.func.count()).where(c.state.in_(_DUE_STATES)).group_by(c.state)
        )
        counts = dict.fromkeys(_DUE_STATES, 0)
        async with self._engine.connect() as conn:
            for state, count in await conn.execute(query):
                counts[state] = int(count)
        return counts
