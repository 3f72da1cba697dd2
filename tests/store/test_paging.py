"""Relay keyset paging: exact pages and page info, forwards and backwards, while
orders keep arriving."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ordergraph.models import OrderStatus
from ordergraph.store import EventSource, OrderFilter, OrderStore, PaginationError, SortOrder
from tests.store.builders import kombo_order, make_order, minutes

Key = tuple[datetime, str]


async def _seed_sequence(store: OrderStore, tenant: str, connection_id: str, n: int) -> list[str]:
    orders = [make_order(f"o{i:02d}", created_at=minutes(i)) for i in range(n)]
    await store.ingest(tenant, connection_id, orders, EventSource.POLL)
    return [f"{connection_id}:o{i:02d}" for i in range(n)]


async def test_forward_and_backward_pages(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    ids = await _seed_sequence(store, tenant, connection_id, 5)

    first = await store.page(tenant, first=2, with_total=True)
    assert [e.node.id for e in first.edges] == ids[:2]
    assert (first.has_previous_page, first.has_next_page, first.total_count) == (False, True, 5)
    assert first.start_cursor == first.edges[0].cursor
    second = await store.page(tenant, first=2, after=first.end_cursor)
    assert [e.node.id for e in second.edges] == ids[2:4]
    assert (second.has_previous_page, second.has_next_page) == (True, True)
    third = await store.page(tenant, first=2, after=second.end_cursor)
    assert [e.node.id for e in third.edges] == ids[4:]
    assert (third.has_previous_page, third.has_next_page) == (True, False)

    last = await store.page(tenant, last=2)
    assert [e.node.id for e in last.edges] == ids[3:]
    assert (last.has_previous_page, last.has_next_page) == (True, False)
    before = await store.page(tenant, last=2, before=last.start_cursor)
    assert [e.node.id for e in before.edges] == ids[1:3]
    assert (before.has_previous_page, before.has_next_page) == (True, True)
    start = await store.page(tenant, last=5, before=before.start_cursor)
    assert [e.node.id for e in start.edges] == ids[:1]
    assert (start.has_previous_page, start.has_next_page) == (False, True)

    # Page info must count the cursor's own order as "before" / "after" the page.
    one = await store.page(tenant, first=1)
    after_one = await store.page(tenant, first=1, after=one.end_cursor)
    assert (after_one.has_previous_page, after_one.has_next_page) == (True, True)
    last_one = await store.page(tenant, last=1)
    before_last = await store.page(tenant, last=1, before=last_one.start_cursor)
    assert (before_last.has_previous_page, before_last.has_next_page) == (True, True)


async def test_descending_order_and_window(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    ids = await _seed_sequence(store, tenant, connection_id, 6)
    newest_first = list(reversed(ids))

    page = await store.page(tenant, first=3, order=SortOrder.DESC)
    assert [e.node.id for e in page.edges] == newest_first[:3]
    rest = await store.page(tenant, first=10, after=page.edges[0].cursor, order=SortOrder.DESC)
    assert [e.node.id for e in rest.edges] == newest_first[1:]

    # after + before bound a window; the page info still looks past its edges.
    window = await store.page(
        tenant,
        first=10,
        after=page.edges[0].cursor,
        before=rest.edges[-1].cursor,
        order=SortOrder.DESC,
    )
    assert [e.node.id for e in window.edges] == newest_first[1:-1]
    assert (window.has_previous_page, window.has_next_page) == (True, True)


async def test_empty_pages(store: OrderStore, tenant: str, connection_id: str) -> None:
    empty = await store.page(tenant, first=5, with_total=True)
    assert (empty.edges, empty.has_next_page, empty.has_previous_page) == ((), False, False)
    assert (empty.start_cursor, empty.end_cursor, empty.total_count) == (None, None, 0)

    await _seed_sequence(store, tenant, connection_id, 2)
    none = await store.page(tenant, first=0)
    assert (none.edges, none.has_next_page, none.has_previous_page) == ((), True, False)
    end = await store.page(tenant, last=1)
    past_end = await store.page(tenant, first=3, after=end.end_cursor)
    assert (past_end.edges, past_end.has_next_page, past_end.has_previous_page) == (
        (),
        False,
        True,
    )


async def test_default_page_size(store: OrderStore, tenant: str, connection_id: str) -> None:
    await _seed_sequence(store, tenant, connection_id, 3)
    small = OrderStore(store.engine, cursor_secret="s", default_page_size=2)

    page = await small.page(tenant)

    assert len(page.edges) == 2
    assert page.has_next_page


@pytest.mark.parametrize(
    "arguments", [{"first": 1, "last": 1}, {"first": -1}, {"last": -2}], ids=str
)
async def test_impossible_arguments_are_refused(
    store: OrderStore, tenant: str, arguments: dict[str, int]
) -> None:
    with pytest.raises(PaginationError):
        await store.page(tenant, **arguments)  # type: ignore[arg-type]


# -- the property: a walk sees every order that existed throughout, exactly once ---------


@dataclass
class _Model:
    """What the store should hold: key of every order, and its status."""

    order: SortOrder
    keys: dict[str, Key] = field(default_factory=dict)
    statuses: dict[str, OrderStatus] = field(default_factory=dict)
    only_open: bool = False

    def listing(self) -> list[str]:
        matching = [
            i for i in self.keys if not self.only_open or self.statuses[i] is OrderStatus.OPEN
        ]
        return sorted(
            matching,
            key=lambda i: self.keys[i],
            reverse=self.order is SortOrder.DESC,
        )

    def ahead(self, key: Key, cursor: Key) -> bool:
        """True when ``key`` is listed after ``cursor``."""
        return key > cursor if self.order is SortOrder.ASC else key < cursor


_statuses = st.sampled_from([OrderStatus.OPEN, OrderStatus.COMPLETED])
_new_order = st.tuples(st.integers(0, 9), _statuses, st.booleans())  # minute, status, kombo


@settings(
    max_examples=40,
    deadline=None,
    database=None,  # no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    order=st.sampled_from(SortOrder),
    backward=st.booleans(),
    only_open=st.booleans(),
    initial=st.integers(0, 40).flatmap(lambda n: st.lists(_new_order, min_size=n, max_size=n)),
    data=st.data(),
)
async def test_walk_sees_everything_once(
    store: OrderStore,
    order: SortOrder,
    backward: bool,
    only_open: bool,
    initial: list[tuple[int, OrderStatus, bool]],
    data: st.DataObject,
) -> None:
    # A fresh tenant per example: cheaper than a fresh database, just as isolated.
    tenant = f"walk-{uuid.uuid4().hex[:12]}"
    connection_id = f"{tenant}-c"
    model = _Model(order=order, only_open=only_open)
    counter = 0

    async def add(batch: list[tuple[int, OrderStatus, bool]]) -> list[str]:
        nonlocal counter
        added = []
        for minute, status, kombo in batch:
            remote_id = f"n{counter:03d}"
            counter += 1
            made = (
                kombo_order(remote_id, status=status)
                if kombo
                else make_order(remote_id, status=status, created_at=minutes(minute))
            )
            # A Kombo order's place is when it was first seen: pass that time as "now".
            await store.ingest(
                tenant, connection_id, [made], EventSource.WEBHOOK, now=minutes(minute)
            )
            key_id = f"{connection_id}:{remote_id}"
            model.keys[key_id] = (minutes(minute), key_id)
            model.statuses[key_id] = status
            added.append(key_id)
        return added

    await add(initial)
    present_throughout = set(model.listing())
    must_appear: set[str] = set()
    must_not_appear: set[str] = set()
    where = OrderFilter(statuses=[OrderStatus.OPEN]) if only_open else None
    seen: list[str] = []
    cursor: str | None = None
    cursor_key: Key | None = None
    pages = 0

    for _ in range(200):
        # Sizes 1-20, small ones more often so most walks take several pages.
        size = data.draw(st.sampled_from([1, 2, 3]) | st.integers(1, 20), label="page size")
        listing = model.listing()
        if backward:
            page = await store.page(
                tenant, filter=where, last=size, before=cursor, order=order, with_total=True
            )
            window = [
                i for i in listing if cursor_key is None or model.ahead(cursor_key, model.keys[i])
            ]
            expected = window[-size:]
            expected_previous = len(window) > size
            expected_next = cursor_key is not None and any(
                not model.ahead(cursor_key, model.keys[i]) for i in listing
            )
        else:
            page = await store.page(
                tenant, filter=where, first=size, after=cursor, order=order, with_total=True
            )
            window = [
                i for i in listing if cursor_key is None or model.ahead(model.keys[i], cursor_key)
            ]
            expected = window[:size]
            expected_next = len(window) > size
            expected_previous = cursor_key is not None and any(
                not model.ahead(model.keys[i], cursor_key) for i in listing
            )
        assert [e.node.id for e in page.edges] == expected
        assert page.has_next_page is expected_next
        assert page.has_previous_page is expected_previous
        assert page.total_count == len(listing)
        seen.extend(e.node.id for e in page.edges)
        pages += 1
        if not (page.has_previous_page if backward else page.has_next_page):
            event(f"pages: {min(pages, 5)}{'+' if pages >= 5 else ''}")
            break
        edge = page.edges[0] if backward else page.edges[-1]
        cursor, cursor_key = edge.cursor, model.keys[edge.node.id]

        # Orders arrive between pages, on both sides of the cursor.
        for added in await add(data.draw(st.lists(_new_order, max_size=3), label="arrivals")):
            if only_open and model.statuses[added] is not OrderStatus.OPEN:
                continue
            still_to_come = (
                model.ahead(cursor_key, model.keys[added])
                if backward
                else model.ahead(model.keys[added], cursor_key)
            )
            (must_appear if still_to_come else must_not_appear).add(added)
    else:
        pytest.fail("walk did not finish")

    assert len(seen) == len(set(seen)), "an order was listed twice"
    assert present_throughout <= set(seen), "an order was skipped"
    assert must_appear <= set(seen)
    assert not (must_not_appear & set(seen))
