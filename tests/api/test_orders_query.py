"""``orders(filter:)`` through GraphQL: every filter, alone and combined, agrees with the
same condition applied to the unfiltered listing, and ``totalCount`` follows the filter.
Ids of the wrong type are clean ``INVALID_ID`` errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from ordergraph.sandbox.core import SandboxContext
from tests.api.conftest import Api
from tests.api.helpers import deliver_unified, error_codes, fill_index, gid, unified_order
from tests.conftest import Sandbox

Node = dict[str, Any]

LIST = """
query List($filter: OrderFilter) {
  orders(first: 100, filter: $filter) {
    totalCount
    edges { node {
      id provider status createdAt updatedAt
      connection { id }
      candidate { name emails }
      job { remoteId }
      package { id remoteId }
    } }
  }
}
"""


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=7, orders_per_account=12)


async def _list(api: Api, where: dict[str, Any] | None) -> tuple[int, list[Node]]:
    body = await api.query(LIST, {"filter": where})
    assert "errors" not in body, body
    orders = body["data"]["orders"]
    return orders["totalCount"], [edge["node"] for edge in orders["edges"]]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _filled(api: Api, sandbox: Sandbox) -> list[Node]:
    """The index of both tenants, plus three Unified orders we know by heart; acme's list."""
    await fill_index(api, sandbox)
    await deliver_unified(
        api,
        "acme-unified",
        [
            unified_order(
                "hopper-1",
                created_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
                updated_at=datetime(2026, 3, 5, 10, tzinfo=UTC),
                status="COMPLETED",
                first_name="Grace",
                last_name="Hopper",
                email="Grace.Hopper@Navy.example",
                job_id="job_navy",
                package_id="pkg_004",
                score=97.0,
            ),
            unified_order(
                "hopper-2",
                created_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
                first_name="Grace",
                last_name="Hopper",
                email="grace.hopper@navy.example",
                job_id="job_navy",
            ),
            unified_order(
                "percent",
                created_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
                first_name="Per_cent",
                last_name="100%",
                email="percent@example.com",
            ),
        ],
    )
    total, everything = await _list(api, None)
    assert total == len(everything) == 12 + 4 + 12 + 3
    return everything


def _most_common(values: list[str]) -> str:
    value, count = Counter(values).most_common(1)[0]
    assert count >= 2
    return value


async def test_each_filter_matches_exactly_what_it_says(api: Api, sandbox: Sandbox) -> None:
    # given both tenants' connections indexed and acme's whole listing
    everything = await _filled(api, sandbox)
    kombo = [n for n in everything if n["provider"] == "KOMBO"]
    job = _most_common([n["job"]["remoteId"] for n in kombo])
    package = _most_common([n["package"]["remoteId"] for n in kombo])
    created = sorted(_at(n["createdAt"]) for n in everything)
    low, high = created[5], created[20]
    stackone = gid("ProviderConnection", "acme-stackone")
    kombo_connection = gid("ProviderConnection", "acme-kombo")

    cases: dict[str, tuple[dict[str, Any], Callable[[Node], bool]]] = {
        "statuses": (
            {"statuses": ["COMPLETED", "CANCELLED"]},
            lambda n: n["status"] in {"COMPLETED", "CANCELLED"},
        ),
        "one provider": ({"providers": ["KOMBO"]}, lambda n: n["provider"] == "KOMBO"),
        "two providers": (
            {"providers": ["UNIFIED", "STACKONE"]},
            lambda n: n["provider"] in {"UNIFIED", "STACKONE"},
        ),
        "connection": ({"connectionIds": [stackone]}, lambda n: n["connection"]["id"] == stackone),
        "created window (after inclusive, before exclusive)": (
            {"createdAfter": low.isoformat(), "createdBefore": high.isoformat()},
            lambda n: low <= _at(n["createdAt"]) < high,
        ),
        "updated since": (
            {"updatedSince": "2026-03-05T10:00:00+00:00"},
            lambda n: (
                n["updatedAt"] is not None
                and _at(n["updatedAt"]) >= datetime(2026, 3, 5, 10, tzinfo=UTC)
            ),
        ),
        "candidate email, any case": (
            {"candidateEmail": "GRACE.hopper@navy.EXAMPLE"},
            lambda n: n["candidate"]["emails"][0].lower() == "grace.hopper@navy.example",
        ),
        "job": ({"jobRemoteId": job}, lambda n: n["job"]["remoteId"] == job),
        "package (its connection's only)": (
            {"packageId": gid("Package", f"acme-kombo:{package}")},
            lambda n: (
                n["connection"]["id"] == kombo_connection and n["package"]["remoteId"] == package
            ),
        ),
        "search in name, any case": (
            {"search": "HOPPER"},
            lambda n: "hopper" in n["candidate"]["name"].lower(),
        ),
        "search in email": (
            {"search": "navy.example"},
            lambda n: "navy.example" in n["candidate"]["emails"][0].lower(),
        ),
        "search with LIKE wildcards taken literally": (
            {"search": "er_c"},
            lambda n: "er_c" in n["candidate"]["name"].lower(),
        ),
        "combined": (
            {"providers": ["UNIFIED"], "statuses": ["OPEN"], "createdAfter": low.isoformat()},
            lambda n: (
                n["provider"] == "UNIFIED" and n["status"] == "OPEN" and _at(n["createdAt"]) >= low
            ),
        ),
    }
    for name, (where, matches) in cases.items():
        # when acme lists orders with the filter
        total, found = await _list(api, where)
        # then exactly the matching orders come back, in order, and totalCount counts them
        expected = [n["id"] for n in everything if matches(n)]
        assert 0 < len(expected) < len(everything), name  # the case discriminates
        assert [n["id"] for n in found] == expected, name
        assert total == len(expected), name


async def test_filters_that_match_nothing_give_an_empty_page(api: Api, sandbox: Sandbox) -> None:
    # given both tenants indexed
    await _filled(api, sandbox)
    globex_kombo = gid("ProviderConnection", "globex-kombo")
    empty: dict[str, dict[str, Any]] = {
        "another tenant's connection": {"connectionIds": [globex_kombo]},
        "another tenant's package": {"packageId": gid("Package", "globex-kombo:pkg_001")},
        "package outside the given connections": {
            "packageId": gid("Package", "acme-kombo:pkg_001"),
            "connectionIds": [gid("ProviderConnection", "acme-unified")],
        },
        "email is exact, not a substring": {"candidateEmail": "grace"},
        "a wildcard alone is literal": {"search": "%%"},
        "no statuses": {"statuses": []},
        "inverted window": {
            "createdAfter": "2026-03-02T00:00:00Z",
            "createdBefore": "2026-03-01T00:00:00Z",
        },
    }
    for name, where in empty.items():
        # when acme filters for it, then nothing matches and nothing is counted
        assert await _list(api, where) == (0, []), name


@pytest.mark.parametrize(
    ("where", "argument"),
    [
        ({"connectionIds": [gid("Package", "acme-kombo:pkg_001")]}, "filter.connectionIds"),
        ({"connectionIds": [gid("Order", "acme-kombo:x")]}, "filter.connectionIds"),
        ({"packageId": gid("ProviderConnection", "acme-kombo")}, "filter.packageId"),
    ],
)
async def test_an_id_of_the_wrong_type_is_invalid_id(
    api: Api, where: dict[str, Any], argument: str
) -> None:
    # when a filter gets an id of another type
    body = await api.query(LIST, {"filter": where})
    # then the error says which argument, with INVALID_ID, and no data
    assert error_codes(body) == ["INVALID_ID"]
    assert body["errors"][0]["extensions"]["argument"] == argument
    assert body["data"] is None


async def test_too_many_filter_values_are_refused(api: Api) -> None:
    body = await api.query(LIST, {"filter": {"statuses": ["OPEN"] * 101}})
    assert error_codes(body) == ["INVALID_ARGUMENT"]


EVENTS = """
query Events($id: ID!, $after: String) {
  order(id: $id) { events(first: 10, after: $after) {
    edges { cursor node { newStatus } } pageInfo { hasNextPage endCursor } } }
}
"""


async def test_event_cursors_are_bound_to_their_tenant(api: Api) -> None:
    # given an order of each tenant, acme's with two events
    t0 = datetime(2026, 3, 1, 10, tzinfo=UTC)
    for status, minute in (("OPEN", 0), ("COMPLETED", 5)):
        order = unified_order(
            "ev-1", created_at=t0, status=status, updated_at=t0.replace(minute=minute)
        )
        await deliver_unified(api, "acme-unified", [order])
    await deliver_unified(api, "globex-unified", [unified_order("ev-g", created_at=t0)])
    acme_order = gid("Order", "acme-unified:ev-1")
    globex_order = gid("Order", "globex-unified:ev-g")

    # when acme pages its order's events
    body = await api.query(EVENTS, {"id": acme_order})
    events = body["data"]["order"]["events"]
    first_cursor = events["edges"][0]["cursor"]
    # then the second page starts after the first event, by acme's own cursor
    body = await api.query(EVENTS, {"id": acme_order, "after": first_cursor})
    assert [e["node"]["newStatus"] for e in body["data"]["order"]["events"]["edges"]] == [
        "COMPLETED"
    ]

    # when globex replays acme's event cursor, or acme a tampered one
    body = await api.query(EVENTS, {"id": globex_order, "after": first_cursor}, tenant="globex")
    # then: INVALID_CURSOR, and nothing of either log
    assert error_codes(body) == ["INVALID_CURSOR"]
    assert body["data"]["order"] is None
    tampered = first_cursor[:-2] + ("AA" if not first_cursor.endswith("AA") else "BB")
    body = await api.query(EVENTS, {"id": acme_order, "after": tampered})
    assert error_codes(body) == ["INVALID_CURSOR"]
