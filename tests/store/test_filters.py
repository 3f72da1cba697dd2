"""Every ``OrderFilter`` field, alone, against a small mixed data set."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ordergraph.models import OrderStatus, ProviderName
from ordergraph.store import EventSource, OrderFilter, OrderStore
from tests.store.builders import kombo_order, make_order, minutes


async def _seed(store: OrderStore, tenant: str, connection_id: str) -> None:
    other = f"{connection_id}-b"
    await store.ingest(
        tenant,
        connection_id,
        [
            make_order(
                "u1",
                created_at=minutes(1),
                updated_at=minutes(30),
                first_name="Ann",
                last_name="Lee",
                emails=("Ann.Lee@Example.com", "ann@home.org"),
                job_remote_id="job-1",
                package_id="pkg-a",
            ),
            make_order(
                "u2",
                status=OrderStatus.COMPLETED,
                created_at=minutes(2),
                updated_at=minutes(10),
                name="Bob Stone",
                emails=("bob@example.com",),
                job_remote_id="job-2",
                package_id="pkg-b",
            ),
            make_order(
                "u3",
                status=OrderStatus.FAILED,
                created_at=minutes(3),
                name="Cleo 100% Real",
                emails=("cleo_x@example.com",),
                job_remote_id="job-1",
            ),
        ],
        EventSource.WEBHOOK,
    )
    await store.ingest(
        tenant,
        other,
        [
            kombo_order("k1"),
            make_order(
                "s1", provider=ProviderName.STACKONE, created_at=minutes(4), name="Back\\slash"
            ),
        ],
        EventSource.POLL,
        now=minutes(5),
    )


async def _remote_ids(store: OrderStore, tenant: str, where: OrderFilter) -> list[str]:
    page = await store.page(tenant, filter=where, first=50, with_total=True)
    ids = [edge.node.order.remote_id for edge in page.edges]
    assert page.total_count == len(ids) == await store.count(tenant, where)
    return ids


@pytest.mark.parametrize(
    ("make_filter", "expected"),
    [
        (lambda c: OrderFilter(), ["u1", "u2", "u3", "s1", "k1"]),
        (lambda c: OrderFilter(statuses=[OrderStatus.OPEN]), ["u1", "s1", "k1"]),
        (
            lambda c: OrderFilter(statuses=[OrderStatus.COMPLETED, OrderStatus.FAILED]),
            ["u2", "u3"],
        ),
        (lambda c: OrderFilter(statuses=[]), []),
        (lambda c: OrderFilter(providers=[ProviderName.KOMBO]), ["k1"]),
        (
            lambda c: OrderFilter(providers=[ProviderName.STACKONE, ProviderName.UNIFIED]),
            ["u1", "u2", "u3", "s1"],
        ),
        (lambda c: OrderFilter(connection_ids=[f"{c}-b"]), ["s1", "k1"]),
        (lambda c: OrderFilter(created_after=minutes(2)), ["u2", "u3", "s1", "k1"]),
        (lambda c: OrderFilter(created_before=minutes(3)), ["u1", "u2"]),
        (
            lambda c: OrderFilter(created_after=minutes(2), created_before=minutes(5)),
            ["u2", "u3", "s1"],
        ),
        # The provider's update time (u1: 30, u2: 10), else when the store saw the change:
        # u3 at the real time of the first ingestion (after every minutes(n)), s1 and k1
        # at minutes(5).
        (lambda c: OrderFilter(updated_since=minutes(10)), ["u1", "u2", "u3"]),
        (lambda c: OrderFilter(updated_since=minutes(11)), ["u1", "u3"]),
        (lambda c: OrderFilter(updated_since=minutes(5)), ["u1", "u2", "u3", "s1", "k1"]),
        (lambda c: OrderFilter(updated_since=minutes(6)), ["u1", "u2", "u3"]),
        (lambda c: OrderFilter(candidate_email="ann.lee@EXAMPLE.com"), ["u1"]),
        (lambda c: OrderFilter(candidate_email="ann@home.org"), []),  # not the first email
        (lambda c: OrderFilter(job_remote_id="job-1"), ["u1", "u3"]),
        (lambda c: OrderFilter(package_id="pkg-b"), ["u2"]),
        (lambda c: OrderFilter(search="ann lee"), ["u1"]),
        (lambda c: OrderFilter(search="HOME.org"), ["u1"]),
        (lambda c: OrderFilter(search="stone"), ["u2"]),
        (lambda c: OrderFilter(search="example.com"), ["u1", "u2", "u3"]),
        (lambda c: OrderFilter(search="  "), ["u1", "u2", "u3", "s1", "k1"]),
        (
            lambda c: OrderFilter(statuses=[OrderStatus.OPEN], providers=[ProviderName.UNIFIED]),
            ["u1"],
        ),
    ],
)
async def test_filter(
    store: OrderStore,
    tenant: str,
    connection_id: str,
    make_filter: Callable[[str], OrderFilter],
    expected: list[str],
) -> None:
    await _seed(store, tenant, connection_id)

    assert await _remote_ids(store, tenant, make_filter(connection_id)) == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [("%", ["u3"]), ("_", ["u3"]), ("100%", ["u3"]), ("\\", ["s1"]), ("o_x", ["u3"]), ("a%b", [])],
)
async def test_search_takes_wildcards_literally(
    store: OrderStore, tenant: str, connection_id: str, term: str, expected: list[str]
) -> None:
    await _seed(store, tenant, connection_id)

    assert await _remote_ids(store, tenant, OrderFilter(search=term)) == expected


async def test_other_tenants_orders_never_match(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await _seed(store, tenant, connection_id)

    assert await _remote_ids(store, f"{tenant}-x", OrderFilter()) == []


async def test_order_ids_select_exactly_those_orders(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    # given three orders
    await store.ingest(
        tenant,
        connection_id,
        [make_order(f"o{i}", created_at=minutes(i)) for i in range(3)],
        EventSource.WEBHOOK,
    )
    # when listing two of them by key (and one unknown key)
    keys = [f"{connection_id}:o0", f"{connection_id}:o2", f"{connection_id}:nope"]
    page = await store.page(tenant, filter=OrderFilter(order_ids=keys), first=10)
    # then exactly the two known ones come back
    assert [edge.node.id for edge in page.edges] == keys[:2]
