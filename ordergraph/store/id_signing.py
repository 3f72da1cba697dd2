"""The store's node id codec and the moment it began signing node ids."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergraph.ids import NodeIdCodec
from ordergraph.store.rows import fold_search
from ordergraph.store.tables import node_id_signing, orders

__all__ = ["NodeIds"]


class NodeIds:
    """Signs and checks node ids with the store's secret; knows when signing began.

    ``signed_since`` is read once and kept: migration 0003 writes it once and nothing
    changes it afterwards.
    """

    __slots__ = ("_engine", "_since", "codec")

    def __init__(self, engine: AsyncEngine, secret: str | bytes) -> None:
        self._engine = engine
        self.codec = NodeIdCodec(secret)
        self._since: datetime | None = None

    async def signed_since(self) -> datetime | None:
        """When signing began; None for a store without the row (no legacy id resolves)."""
        if self._since is None:
            async with self._engine.connect() as conn:
                found = await conn.execute(sa.select(node_id_signing.c.since).limit(1))
                self._since = found.scalar_one_or_none()
        return self._since

    async def _any_before(self, conditions: list[sa.ColumnElement[bool]]) -> bool:
        since = await self.signed_since()
        if since is None:
            return False
        query = sa.select(orders.c.id).where(*conditions, orders.c.first_seen_at < since)
        async with self._engine.connect() as conn:
            return (await conn.execute(query.limit(1))).first() is not None

    async def candidate_held_before(self, tenant: str, email: str) -> bool:
        """Whether the index held an order of this candidate before signing began."""
        c = orders.c
        return await self._any_before(
            [c.tenant == tenant, c.candidate_email == fold_search(email.strip())]
        )

    async def job_held_before(self, tenant: str, connection_id: str, job_remote_id: str) -> bool:
        """Whether the index held an order for this job before signing began."""
        c = orders.c
        return await self._any_before(
            [c.tenant == tenant, c.connection_id == connection_id, c.job_remote_id == job_remote_id]
        )
