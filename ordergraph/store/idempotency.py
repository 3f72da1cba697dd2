"""Idempotency keys: a mutation retried with the same key gets the first answer back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ordergraph.store.dialects import insert_ignoring_conflicts
from ordergraph.store.engine import write_transaction
from ordergraph.store.tables import idempotency_keys
from ordergraph.store.types import as_utc, utcnow

__all__ = ["IdempotencyRecord", "IdempotencyStore"]


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The first request made with a key and the response it got.

    A caller compares ``request_hash`` to refuse the same key reused for a different
    request.
    """

    tenant: str
    key: str
    operation: str
    request_hash: str
    response: Any
    created_at: datetime


def _record(row: RowMapping) -> IdempotencyRecord:
    return IdempotencyRecord(
        tenant=row["tenant"],
        key=row["key"],
        operation=row["operation"],
        request_hash=row["request_hash"],
        response=row["response"],
        created_at=row["created_at"],
    )


class IdempotencyStore:
    """Put-if-absent storage of idempotency keys, per tenant."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, tenant: str, key: str) -> IdempotencyRecord | None:
        """The record stored under ``key`` for ``tenant``, if any."""
        async with self._engine.connect() as conn:
            return await self._select(conn, tenant, key)

    async def put(
        self,
        tenant: str,
        key: str,
        *,
        operation: str,
        request_hash: str,
        response: Any,
        now: datetime | None = None,
    ) -> IdempotencyRecord:
        """Store the record unless the key exists; either way return the stored record.

        When two requests race with one key, exactly one record wins and both callers
        get it back.
        """
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                insert_ignoring_conflicts(conn, idempotency_keys).values(
                    tenant=tenant,
                    key=key,
                    operation=operation,
                    request_hash=request_hash,
                    response=response,
                    created_at=as_utc(now) if now else utcnow(),
                )
            )
            record = await self._select(conn, tenant, key)
        if record is None:  # pragma: no cover - inserted or already there in this transaction
            raise RuntimeError(f"idempotency key {key!r} vanished while being stored")
        return record

    async def complete(self, tenant: str, key: str, response: Any) -> None:
        """Replace the response stored under ``key`` (a claim becoming the final answer)."""
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                idempotency_keys.update()
                .where(idempotency_keys.c.tenant == tenant, idempotency_keys.c.key == key)
                .values(response=response)
            )

    async def take_over(self, tenant: str, key: str, *, claim: str, response: Any) -> bool:
        """Replace the response under ``key`` only while it still holds ``claim`` (the
        ``"claim"`` member of a pending response): of several callers taking over one
        expired claim, exactly one succeeds."""
        c = idempotency_keys.c
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                idempotency_keys.update()
                .where(c.tenant == tenant, c.key == key, c.response["claim"].as_string() == claim)
                .values(response=response)
            )
        return bool(result.rowcount)

    async def release(self, tenant: str, key: str) -> None:
        """Forget ``key`` (a claimed write that failed may be tried again with it)."""
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                idempotency_keys.delete().where(
                    idempotency_keys.c.tenant == tenant, idempotency_keys.c.key == key
                )
            )

    async def purge(self, older_than: datetime) -> int:
        """Forget keys created before ``older_than``; returns how many went."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at < older_than)
            )
        return int(result.rowcount)

    @staticmethod
    async def _select(conn: AsyncConnection, tenant: str, key: str) -> IdempotencyRecord | None:
        result = await conn.execute(
            sa.select(idempotency_keys).where(
                idempotency_keys.c.tenant == tenant, idempotency_keys.c.key == key
            )
        )
        row = result.mappings().first()
        return _record(row) if row is not None else None
