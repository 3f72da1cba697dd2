"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["insert_ignoring_conflicts", "upsert"]


def _insert(conn: AsyncConnection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring_conflicts(
    conn: AsyncConnection, table: sa.Table
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` (put-if-absent) for either backend."""
    return _insert(conn, table).on_conflict_do_nothing()


def upsert(
    conn: AsyncConnection,
    table: sa.Table,
    values: dict[str, Any],
    key: Sequence[str],
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` setting every non-key column."""
    statement = _insert(conn, table).values(values)
    changes = {name: statement.excluded[name] for name in values if name not in key}
    return statement.on_conflict_do_update(index_elements=list(key), set_=changes)
