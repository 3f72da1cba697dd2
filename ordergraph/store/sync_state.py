"""Per-connection sync state: the poller's cursor, last success and last error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergraph.store.dialects import upsert
from ordergraph.store.engine import write_transaction
from ordergraph.store.tables import connections, sync_state
from ordergraph.store.types import utcnow

__all__ = ["SyncState", "SyncStateStore"]


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where a connection's sync stands; ``details`` is free-form JSON for the poller."""

    connection_id: str
    cursor: str | None = None
    last_synced_at: datetime | None = None
    last_error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class SyncStateStore:
    """Reads and replaces ``SyncState`` rows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, connection_id: str) -> SyncState | None:
        """The state of ``connection_id``, or ``None`` if it never synced."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(sync_state).where(sync_state.c.connection_id == connection_id)
            )
            row = result.mappings().first()
        if row is None:
            return None
        return SyncState(
            connection_id=row["connection_id"],
            cursor=row["cursor"],
            last_synced_at=row["last_synced_at"],
            last_error=row["last_error"],
            details=dict(row["details"]),
        )

    async def last_synced(self, connection_ids: Sequence[str]) -> dict[str, datetime | None]:
        """When each of ``connection_ids`` last synced (None: never), in one query."""
        found: dict[str, datetime | None] = dict.fromkeys(connection_ids)
        if not connection_ids:
            return found
        c = sync_state.c
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(c.connection_id, c.last_synced_at).where(
                    c.connection_id.in_(list(connection_ids))
                )
            )
            for connection_id, last_synced_at in result:
                found[connection_id] = last_synced_at
        return found

    async def put(self, state: SyncState) -> None:
        """Store ``state``, replacing what the connection had."""
        values = {
            "connection_id": state.connection_id,
            "cursor": state.cursor,
            "last_synced_at": state.last_synced_at,
            "last_error": state.last_error,
            "details": dict(state.details),
            "updated_at": utcnow(),
        }
        async with write_transaction(self._engine) as conn:
            c = connections.c
            removed = await conn.scalar(
                sa.select(c.id).where(c.id == state.connection_id, c.state == "REMOVED")
            )
            if removed is not None:
                # A poll that ended after its connection was removed (and its state
                # purged): writing it back would make a later re-add skip its first walk.
                return
            await conn.execute(upsert(conn, sync_state, values, key=["connection_id"]))
