"""A page reads documents only where their hash is new (``store/known_documents.py``),
and a row that changes between its two statements never mixes two moments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergraph.models import Order, OrderStatus
from ordergraph.store import EventSource, OrderStore
from ordergraph.store.known_documents import KnownDocuments
from tests.store.builders import make_order, minutes


async def _seed(store: OrderStore, tenant: str, connection_id: str, n: int) -> None:
    orders = [make_order(f"o{i:02d}", created_at=minutes(i)) for i in range(n)]
    await store.ingest(tenant, connection_id, orders, EventSource.POLL)


def _statements(store: OrderStore) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SELECT 1")):
            seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_a_page_read_again_reads_no_document(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await _seed(store, tenant, connection_id, 5)
    seen = _statements(store)

    first = await store.page(tenant, first=5)
    fetched = store.documents.fetched
    again = await store.page(tenant, first=5)

    assert fetched == 5  # the first page: its rows, then their five documents
    assert store.documents.fetched == 5  # none the second time
    assert len(seen) == 3  # rows, documents; rows
    assert "data" not in seen[-1].split("FROM")[0]  # keys and hashes, no document
    assert [e.node.order for e in again.edges] == [e.node.order for e in first.edges]
    assert all(a.node.order is b.node.order for a, b in zip(first.edges, again.edges, strict=True))


async def test_a_changed_order_is_read_anew_and_only_it(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await _seed(store, tenant, connection_id, 5)
    await store.page(tenant, first=5)
    fetched = store.documents.fetched

    changed = make_order("o02", created_at=minutes(2), status=OrderStatus.COMPLETED)
    await store.ingest(tenant, connection_id, [changed], EventSource.POLL)
    page = await store.page(tenant, first=5)

    assert store.documents.fetched == fetched + 1
    statuses = [e.node.order.status for e in page.edges]
    assert statuses == [OrderStatus.OPEN] * 2 + [OrderStatus.COMPLETED] + [OrderStatus.OPEN] * 2


class _ChangingBetweenStatements(KnownDocuments):
    """Changes an order after the page's rows were read, before its documents are."""

    def __init__(self, store: OrderStore, tenant: str, connection_id: str) -> None:
        super().__init__()
        self.store = store
        self.tenant = tenant
        self.connection_id = connection_id
        self.calls = 0

    async def orders_of(
        self, conn: AsyncConnection, tenant: str, rows: Sequence[Mapping[Any, Any]]
    ) -> dict[str, Order] | None:
        self.calls += 1
        if self.calls == 1:
            changed = make_order("o01", created_at=minutes(1), status=OrderStatus.CANCELLED)
            await self.store.ingest(self.tenant, self.connection_id, [changed], EventSource.POLL)
        return await super().orders_of(conn, tenant, rows)


async def test_a_row_changed_between_the_statements_is_read_whole_once_more(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await _seed(store, tenant, connection_id, 3)
    racing = _ChangingBetweenStatements(store, tenant, connection_id)
    store.documents = racing

    page = await store.page(tenant, first=3)

    # The rows said o01 was OPEN, its document was CANCELLED by then: the page was
    # read again, whole, and shows one moment (the later one) for every row.
    assert racing.calls == 1
    assert [e.node.order.status for e in page.edges] == [
        OrderStatus.OPEN,
        OrderStatus.CANCELLED,
        OrderStatus.OPEN,
    ]
    assert [e.node.version for e in page.edges][1] > page.edges[0].node.version
    # Nothing was kept for the hash that named another document.
    assert all(o.status is OrderStatus.OPEN for o, _ in racing._entries.values())


async def test_documents_are_bounded(store: OrderStore, tenant: str, connection_id: str) -> None:
    await _seed(store, tenant, connection_id, 6)
    store.documents = KnownDocuments(max_entries=4)
    page = await store.page(tenant, first=6)
    assert len(page.edges) == 6
    assert len(store.documents) == 4
    # and by the documents' text: one over a 64th of the bound is not kept
    size = store.documents.text_bytes // 4
    store.documents = KnownDocuments(max_text_bytes=size * 2 + 1)
    assert [e.node.order for e in (await store.page(tenant, first=6)).edges] == [
        e.node.order for e in page.edges
    ]
    assert len(store.documents) == 0
