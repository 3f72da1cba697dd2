"""Candidates: one per (lower-cased) email across a tenant's connections.

There is no candidate table: candidates are the distinct ``candidate_email`` values of
the tenant's orders, paged by email (keyset), each represented by one of its orders
(the greatest order key, a stable choice). Cursors are signed with the order cursor
codec under their own listing name, so an order cursor is refused here and a
candidate cursor is refused by the order listing; the position is (epoch, email).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from ordergraph.store.cursors import CursorCodec, OrderKey
from ordergraph.store.engine import read_transaction
from ordergraph.store.errors import PaginationError
from ordergraph.store.filters import escape_like
from ordergraph.store.records import SortOrder
from ordergraph.store.rows import fold_search
from ordergraph.store.tables import orders

__all__ = ["CandidateEdge", "CandidatePage", "page_candidates"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CandidateEdge:
    cursor: str
    email: str
    order_id: str
    order_count: int


@dataclass(frozen=True, slots=True)
class CandidatePage:
    edges: tuple[CandidateEdge, ...]
    has_next_page: bool
    has_previous_page: bool


def _conditions(tenant: str, search: str | None) -> list[ColumnElement[bool]]:
    c = orders.c
    conditions: list[ColumnElement[bool]] = [c.tenant == tenant, c.candidate_email.is_not(None)]
    if search is not None and search.strip():
        pattern = f"%{escape_like(fold_search(search.strip()))}%"
        conditions.append(c.search_text.like(pattern, escape="\\"))
    return conditions


async def page_candidates(
    engine: AsyncEngine,
    codec: CursorCodec,
    tenant: str,
    *,
    search: str | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    default_size: int = 50,
) -> CandidatePage:
    """One Relay page of the tenant's candidates in email order."""
    if first is not None and last is not None:
        raise PaginationError("pass either first or last, not both")
    c = orders.c
    start = (
        codec.decode(after, tenant, SortOrder.ASC, listing="candidates").id
        if after is not None
        else None
    )
    end = (
        codec.decode(before, tenant, SortOrder.ASC, listing="candidates").id
        if before is not None
        else None
    )
    backward = last is not None
    size = last if last is not None else first if first is not None else default_size
    if size < 0:
        raise PaginationError("first and last must not be negative")
    base = _conditions(tenant, search)
    window = list(base)
    if start is not None:
        window.append(c.candidate_email > start)
    if end is not None:
        window.append(c.candidate_email < end)
    ordering = c.candidate_email.desc() if backward else c.candidate_email.asc()
    query = (
        sa.select(c.candidate_email, sa.func.max(c.id), sa.func.count())
        .where(*window)
        .group_by(c.candidate_email)
        .order_by(ordering)
        .limit(size + 1)
    )
    async with read_transaction(engine) as conn:
        rows = list((await conn.execute(query)).all())
        more = len(rows) > size
        rows = rows[:size]
        if backward:
            rows.reverse()

        async def exists(condition: ColumnElement[bool]) -> bool:
            found = await conn.execute(sa.select(c.id).where(*base, condition).limit(1))
            return found.first() is not None

        beyond_end = end is not None and await exists(c.candidate_email >= end)
        beyond_start = start is not None and await exists(c.candidate_email <= start)
    edges = tuple(
        CandidateEdge(
            cursor=codec.encode(
                tenant, SortOrder.ASC, OrderKey(_EPOCH, str(email)), listing="candidates"
            ),
            email=str(email),
            order_id=str(order_id),
            order_count=int(count),
        )
        for email, order_id, count in rows
    )
    if backward:
        return CandidatePage(
            edges, has_next_page=beyond_end, has_previous_page=more or beyond_start
        )
    return CandidatePage(edges, has_next_page=more or beyond_end, has_previous_page=beyond_start)


async def count_candidates(engine: AsyncEngine, tenant: str, search: str | None = None) -> int:
    c = orders.c
    query = sa.select(sa.func.count(sa.distinct(c.candidate_email))).where(
        *_conditions(tenant, search)
    )
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())
