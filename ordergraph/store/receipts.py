"""Webhook receipts: which deliveries we already took, per connection.

A receipt is written by ``OrderStore.ingest`` in the transaction that stores the
delivery's orders (``record_receipt``), so it exists exactly when the orders were
committed: a delivery that crashed before its commit left no receipt and is ingested
when the vendor retries it, and one that committed is never ingested twice.
``WebhookReceipts.prune`` forgets receipts older than the replay window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ordergraph.store.dialects import insert_ignoring_conflicts
from ordergraph.store.engine import write_transaction
from ordergraph.store.tables import webhook_receipts

__all__ = ["WebhookReceipt", "WebhookReceipts", "record_receipt"]


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """One delivery's identity: the connection it came for and the vendor's key for it
    (Unified ``nonce``, Kombo event ``id``)."""

    connection_id: str
    key: str

    @property
    def key_digest(self) -> str:
        return hashlib.sha256(self.key.encode("utf-8", "surrogatepass")).hexdigest()


async def record_receipt(conn: AsyncConnection, receipt: WebhookReceipt, at: datetime) -> bool:
    """Insert ``receipt`` inside the caller's transaction; False if it was already there.

    Put-if-absent on the primary key: of two transactions racing with one receipt, the
    second waits for the first (PostgreSQL's unique index, SQLite's write lock) and then
    finds the row, whichever commits first.
    """
    result = await conn.execute(
        insert_ignoring_conflicts(conn, webhook_receipts).values(
            connection_id=receipt.connection_id,
            key_digest=receipt.key_digest,
            received_at=at,
        )
    )
    return bool(result.rowcount == 1)


class WebhookReceipts:
    """Reads and pruning of the receipts table (writes go through ``record_receipt``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def contains(self, receipt: WebhookReceipt) -> bool:
        c = webhook_receipts.c
        async with self._engine.connect() as conn:
            found = await conn.execute(
                sa.select(sa.literal(1)).where(
                    c.connection_id == receipt.connection_id,
                    c.key_digest == receipt.key_digest,
                )
            )
            return found.first() is not None

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            result = await conn.execute(sa.select(sa.func.count()).select_from(webhook_receipts))
            return int(result.scalar_one())

    async def prune(self, older_than: datetime) -> int:
        """Forget receipts taken before ``older_than``; returns how many went.

        One statement over the ``received_at`` index; run every prune interval it
        removes about one interval's worth of receipts, so it stays small.
        """
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                webhook_receipts.delete().where(webhook_receipts.c.received_at < older_than)
            )
        return int(result.rowcount)
