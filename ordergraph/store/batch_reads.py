"""Reads that answer many keys in one statement (for the request's dataloaders).

Each picks the first rows of every key with ``ROW_NUMBER() OVER (PARTITION BY key
...)`` (SQLite 3.25+ and PostgreSQL), so a page of 50 orders asking for their events,
or ``nodes`` asking for 50 candidates, costs one query instead of one per key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from ordergraph.store.engine import single_read
from ordergraph.store.order_pages import STORED_COLUMNS
from ordergraph.store.records import StoredEvent, StoredOrder
from ordergraph.store.rows import fold_search, stored_event, stored_order
from ordergraph.store.tables import order_events, orders

__all__ = ["events_of_orders", "newest_orders_by_candidate", "newest_orders_by_job"]


async def events_of_orders(
    engine: AsyncEngine,
    tenant: str,
    order_ids: Sequence[str],
    after_id: int | None,
    limit: int,
    *,
    before_id: int | None = None,
    from_end: bool = False,
) -> dict[str, list[StoredEvent]]:
    """For each order, its first ``limit`` events between ``after_id`` and ``before_id``
    (both exclusive), or its last ``limit`` with ``from_end``; oldest first either way."""
    c = order_events.c
    conditions: list[ColumnElement[bool]] = [c.tenant == tenant, c.order_id.in_(list(order_ids))]
    if after_id is not None:
        conditions.append(c.id > after_id)
    if before_id is not None:
        conditions.append(c.id < before_id)
    ranking = c.id.desc() if from_end else c.id
    rank = sa.func.row_number().over(partition_by=c.order_id, order_by=ranking).label("rank")
    ranked = sa.select(order_events, rank).where(*conditions).subquery()
    query = sa.select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.id)
    found: dict[str, list[StoredEvent]] = {order_id: [] for order_id in order_ids}
    async with single_read(engine) as conn:
        for row in (await conn.execute(query)).mappings():
            found[row["order_id"]].append(stored_event(row))
    return found


async def _newest_by(
    engine: AsyncEngine,
    partition: Sequence[sa.Column[str]],
    conditions: Sequence[ColumnElement[bool]],
) -> list[tuple[tuple[str, ...], StoredOrder]]:
    """The newest order (by created_at, then id) of every value of ``partition``, each
    with that value."""
    c = orders.c
    rank = (
        sa.func.row_number()
        .over(partition_by=list(partition), order_by=[c.created_at.desc(), c.id.desc()])
        .label("rank")
    )
    keys = [column.label(f"key_{n}") for n, column in enumerate(partition)]
    ranked = sa.select(*STORED_COLUMNS, *keys, rank).where(*conditions).subquery()
    query = sa.select(ranked).where(ranked.c.rank == 1)
    async with single_read(engine) as conn:
        rows = (await conn.execute(query)).mappings()
        return [
            (tuple(row[f"key_{n}"] for n in range(len(keys))), stored_order(row)) for row in rows
        ]


async def newest_orders_by_candidate(
    engine: AsyncEngine, tenant: str, emails: Sequence[str]
) -> dict[str, StoredOrder]:
    """For each candidate email (matched folded, as the order filter matches it), the
    candidate's newest order; emails without one are left out."""
    c = orders.c
    folded = {email: fold_search(email.strip()) for email in emails}
    newest = dict(
        await _newest_by(
            engine,
            [c.candidate_email],
            [c.tenant == tenant, c.candidate_email.in_(sorted(set(folded.values())))],
        )
    )
    return {email: newest[(key,)] for email, key in folded.items() if (key,) in newest}


async def newest_orders_by_job(
    engine: AsyncEngine, tenant: str, jobs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], StoredOrder]:
    """For each (connection id, job remote id), the job's newest order; jobs without one
    are left out."""
    c = orders.c
    wanted = set(jobs)
    if not wanted:
        return {}
    newest = await _newest_by(
        engine,
        [c.connection_id, c.job_remote_id],
        [
            c.tenant == tenant,
            c.connection_id.in_(sorted({connection for connection, _ in wanted})),
            c.job_remote_id.in_(sorted({job for _, job in wanted})),
        ],
    )
    return {(key[0], key[1]): order for key, order in newest if (key[0], key[1]) in wanted}
