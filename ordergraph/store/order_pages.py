"""Reading one Relay page of a tenant's orders (keyset paging over (created_at, id)).

``OrderStore.page`` is this; kept apart from the store's writes. The columns a
``StoredOrder`` is read from live here too, for every read of whole orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from ordergraph.store.cursors import CursorCodec, OrderKey
from ordergraph.store.decoded import document_text
from ordergraph.store.engine import read_transaction, single_read
from ordergraph.store.errors import PaginationError
from ordergraph.store.filters import filter_conditions
from ordergraph.store.keyset import (
    after_key,
    at_or_after_key,
    at_or_before_key,
    before_key,
    ordering,
)
from ordergraph.store.known_documents import KnownDocuments
from ordergraph.store.page_edges import PageEdges, RowKey, row_key
from ordergraph.store.records import Edge, OrderFilter, OrderPage, SortOrder, StoredOrder
from ordergraph.store.rows import stored_order
from ordergraph.store.tables import orders as orders_table

__all__ = [
    "PAGE_COLUMNS",
    "STORED_COLUMNS",
    "PageWindow",
    "count_where",
    "exists_where",
    "read_page",
]

STORED_COLUMNS = [
    orders_table.c.id,
    orders_table.c.tenant,
    orders_table.c.connection_id,
    document_text(orders_table.c.data),
    orders_table.c.created_at,
    orders_table.c.created_at_source,
    orders_table.c.first_seen_at,
    orders_table.c.ingested_at,
    orders_table.c.version,
]
"""What ``rows.stored_order`` reads a ``StoredOrder`` from."""

PAGE_COLUMNS = [
    *(c for c in STORED_COLUMNS if c.name != "data"),
    orders_table.c.content_hash,
]
"""What a page reads of each row: the document's hash in place of the document
(``known_documents``), which is read only where the hash is new."""


class PageWindow(NamedTuple):
    """What a page asks for: the filter, the Relay arguments, the order, the total."""

    filter: OrderFilter | None = None
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    order: SortOrder = SortOrder.ASC
    with_total: bool = False


async def read_page(
    engine: AsyncEngine,
    cursors: CursorCodec,
    tenant: str,
    window: PageWindow,
    *,
    default_size: int,
    documents: KnownDocuments,
    known: PageEdges,
) -> OrderPage:
    """One Relay page of ``tenant``'s orders (``OrderStore.page`` says the contract);
    ``documents`` holds the decoded documents earlier pages read, ``known`` the edges
    they built (both the store's own)."""
    first, last, order = window.first, window.last, window.order
    if first is not None and last is not None:
        raise PaginationError("pass either first or last, not both")
    if (first is not None and first < 0) or (last is not None and last < 0):
        raise PaginationError("first and last must not be negative")
    start = cursors.decode(window.after, tenant, order) if window.after is not None else None
    end = cursors.decode(window.before, tenant, order) if window.before is not None else None
    backward = last is not None
    size = last if last is not None else first if first is not None else default_size
    base = filter_conditions(tenant, window.filter or OrderFilter())
    bounded = list(base)
    if start is not None:
        bounded.append(after_key(start, order))
    if end is not None:
        bounded.append(before_key(end, order))

    # The rows alone are one statement; a bound window or the total asks more, in the
    # same snapshot.
    several = start is not None or end is not None or window.with_total
    reading = read_transaction if several else single_read
    async with reading(engine) as conn:
        window_rows = (
            sa.select(*PAGE_COLUMNS)
            .where(*bounded)
            .order_by(*ordering(order, reverse=backward))
            .limit(size + 1)
        )
        rows = (await conn.execute(window_rows)).all()
        more = len(rows) > size
        edges = await _edges_of(conn, cursors, tenant, order, rows[:size], documents, known)
        if edges is None:  # a row changed between the two statements: the page, whole, at once
            whole = window_rows.with_only_columns(*STORED_COLUMNS)
            nodes = [stored_order(row) for row in (await conn.execute(whole)).mappings()]
            more = len(nodes) > size
            edges = [_edge(cursors, tenant, order, node) for node in nodes[:size]]
        if backward:
            edges.reverse()
        # Past the window's far edge: more rows in the direction of travel.
        beyond_end = end is not None and await exists_where(
            conn, [*base, at_or_after_key(end, order)]
        )
        beyond_start = start is not None and await exists_where(
            conn, [*base, at_or_before_key(start, order)]
        )
        total = await count_where(conn, base) if window.with_total else None

    if backward:
        has_previous, has_next = more or beyond_start, beyond_end
    else:
        has_previous, has_next = beyond_start, more or beyond_end
    return OrderPage(
        edges=tuple(edges),
        has_next_page=has_next,
        has_previous_page=has_previous,
        total_count=total,
    )


def _edge(cursors: CursorCodec, tenant: str, order: SortOrder, node: StoredOrder) -> Edge:
    return Edge(cursor=cursors.encode(tenant, order, OrderKey(node.created_at, node.id)), node=node)


async def _edges_of(
    conn: AsyncConnection,
    cursors: CursorCodec,
    tenant: str,
    order: SortOrder,
    rows: Sequence[Row[Any]],
    documents: KnownDocuments,
    known: PageEdges,
) -> list[Edge] | None:
    """The edge of each row (``PAGE_COLUMNS``): kept ones as they are, the others built
    from their documents (read on ``conn`` where new). None when a row no longer holds
    the document its hash named (``KnownDocuments.orders_of``)."""
    edges: list[Edge | None] = []
    missing: list[tuple[int, RowKey, RowMapping]] = []
    for row in rows:
        key = row_key(order, row)
        edge = known.get(key)
        if edge is None:
            missing.append((len(edges), key, row._mapping))
        edges.append(edge)
    if missing:
        orders = await documents.orders_of(conn, tenant, [mapping for _, _, mapping in missing])
        if orders is None:
            return None
        for index, key, mapping in missing:
            edge = _edge(cursors, tenant, order, stored_order(mapping, orders[mapping["id"]]))
            known.keep(key, edge)
            edges[index] = edge
    return [edge for edge in edges if edge is not None]


async def exists_where(conn: AsyncConnection, conditions: Sequence[ColumnElement[bool]]) -> bool:
    found = await conn.execute(sa.select(sa.literal(1)).where(*conditions).limit(1))
    return found.first() is not None


async def count_where(conn: AsyncConnection, conditions: Sequence[ColumnElement[bool]]) -> int:
    result = await conn.execute(
        sa.select(sa.func.count()).select_from(orders_table).where(*conditions)
    )
    return int(result.scalar_one())
