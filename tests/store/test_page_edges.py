"""A page reuses the edges earlier pages built from the same rows (``store/page_edges.py``);
a changed row, the other direction and another tenant each get edges of their own."""

from __future__ import annotations

import uuid

import pytest

from ordergraph.models import OrderStatus
from ordergraph.store import EventSource, InvalidCursorError, OrderStore, SortOrder
from ordergraph.store.page_edges import PageEdges
from tests.store.builders import make_order, minutes
from tests.store.test_known_documents import _ChangingBetweenStatements, _seed


async def test_a_page_read_again_is_made_of_the_same_edges(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await _seed(store, tenant, connection_id, 5)
    first = await store.page(tenant, first=5)
    looked_up = store.documents.hits

    again = await store.page(tenant, first=5)

    assert all(a is b for a, b in zip(first.edges, again.edges, strict=True))
    assert store.documents.hits == looked_up  # not even a document lookup
    assert len(store.edges) == 5


async def test_a_changed_row_gets_a_new_edge_and_only_it(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await _seed(store, tenant, connection_id, 5)
    before = await store.page(tenant, first=5)

    changed = make_order("o02", created_at=minutes(2), status=OrderStatus.COMPLETED)
    await store.ingest(tenant, connection_id, [changed], EventSource.POLL)
    after = await store.page(tenant, first=5)

    kept = [a is b for a, b in zip(before.edges, after.edges, strict=True)]
    assert kept == [True, True, False, True, True]
    assert after.edges[2].node.order.status is OrderStatus.COMPLETED
    assert after.edges[2].node.version > before.edges[2].node.version
    assert after.edges[2].cursor == before.edges[2].cursor  # the same position


async def test_each_direction_has_edges_of_its_own(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await _seed(store, tenant, connection_id, 3)
    ascending = await store.page(tenant, first=3)
    descending = await store.page(tenant, first=3, order=SortOrder.DESC)
    again = await store.page(tenant, first=3, order=SortOrder.DESC)

    assert [e.node.id for e in descending.edges] == [e.node.id for e in ascending.edges][::-1]
    assert all(a is b for a, b in zip(descending.edges, again.edges, strict=True))
    # a descending cursor reads on in its own direction, and only there
    after_first = await store.page(
        tenant, first=3, after=descending.edges[0].cursor, order=SortOrder.DESC
    )
    assert [e.node.id for e in after_first.edges] == [e.node.id for e in descending.edges[1:]]
    with pytest.raises(InvalidCursorError):
        await store.page(tenant, first=3, after=descending.edges[0].cursor)


async def test_another_tenants_equal_orders_get_their_own_edges(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    other = f"tenant-{uuid.uuid4().hex[:10]}"
    await _seed(store, tenant, connection_id, 3)
    await _seed(store, other, f"{other}-conn", 3)
    mine = await store.page(tenant, first=3)
    theirs = await store.page(other, first=3)

    assert {e.node.tenant for e in theirs.edges} == {other}
    assert not {e.cursor for e in mine.edges} & {e.cursor for e in theirs.edges}
    with pytest.raises(InvalidCursorError):
        await store.page(tenant, first=3, after=theirs.edges[0].cursor)


async def test_a_page_read_whole_after_a_race_keeps_no_edge(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await _seed(store, tenant, connection_id, 3)
    store.documents = _ChangingBetweenStatements(store, tenant, connection_id)

    raced = await store.page(tenant, first=3)
    assert len(store.edges) == 0  # read whole, from other rows than the first statement's

    settled = await store.page(tenant, first=3)
    assert [e.node.order.status for e in settled.edges] == [
        e.node.order.status for e in raced.edges
    ]
    assert len(store.edges) == 3


async def test_edges_are_bounded(store: OrderStore, tenant: str, connection_id: str) -> None:
    await _seed(store, tenant, connection_id, 6)
    store.edges = PageEdges(max_entries=4)
    page = await store.page(tenant, first=6)
    assert len(page.edges) == 6
    assert len(store.edges) == 4
