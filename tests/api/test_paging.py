"""Relay paging of ``orders`` through GraphQL while orders keep arriving.

Seeded random walks (random page sizes, forward and backward, both sort directions)
over Unified orders whose creation times we choose, with new orders delivered between
pages both behind and ahead of the walk's position. A model of the listing predicts
every page exactly: its edges, ``pageInfo`` and ``totalCount``. Then: every way a
cursor can be wrong is a clean ``INVALID_CURSOR``, and bad sizes are clean errors.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.helpers import deliver_unified, error_codes, gid, node_key, unified_order

ORIGIN = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
CONNECTION = "acme-unified"
SEEDS = (11, 23, 37)
INITIAL_ORDERS = 18

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $dir: OrderSortDirection!) {
  orders(first: $first, after: $after, last: $last, before: $before,
         orderBy: {field: CREATED_AT, direction: $dir}) {
    totalCount
    edges { cursor node { id createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


@dataclass
class Listing:
    """What the index holds for the walk's connection: store key → creation time."""

    created: dict[str, datetime] = field(default_factory=dict)
    counter: int = 0

    def new_key(self) -> str:
        self.counter += 1
        # Fixed width: bytewise order of keys is the same in Python and both databases.
        return f"{CONNECTION}:pg{self.counter:06d}"

    def ordered(self, direction: str) -> list[str]:
        """Global ids in listing order: (created_at, key), reversed for DESC."""
        keys = sorted(self.created, key=lambda k: (self.created[k], k))
        if direction == "DESC":
            keys.reverse()
        return [gid("Order", k) for k in keys]

    def key_of(self, global_id: str) -> str:
        return node_key(global_id)


async def _add(api: Api, listing: Listing, moments: list[datetime]) -> set[str]:
    """Deliver one new Unified order per moment; their global ids."""
    keys = [listing.new_key() for _ in moments]
    orders = [
        unified_order(key.split(":", 1)[1], created_at=moment)
        for key, moment in zip(keys, moments, strict=True)
    ]
    await deliver_unified(api, CONNECTION, orders)
    listing.created.update(zip(keys, moments, strict=True))
    return {gid("Order", key) for key in keys}


async def _page(api: Api, variables: dict[str, Any]) -> dict[str, Any]:
    body = await api.query(PAGE, variables)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["orders"]
    return page


def _moment_beside(
    rng: random.Random, boundary: datetime, *, later: bool, spread_minutes: int = 90
) -> datetime:
    """A creation time strictly after (``later``) or strictly before ``boundary``."""
    offset = timedelta(minutes=rng.randint(1, spread_minutes), microseconds=rng.randint(0, 999))
    return boundary + offset if later else boundary - offset


async def _walk(
    api: Api, listing: Listing, rng: random.Random, *, direction: str, backward: bool
) -> None:
    """Walk the whole listing, checking each page against the model; new orders arrive
    between pages. At the end every order seen at the start, and every order added
    ahead of the walk, was returned exactly once; none added behind it was."""
    at_start = set(listing.ordered(direction))
    added_ahead: set[str] = set()
    added_behind: set[str] = set()
    returned: list[str] = []
    cursor: str | None = None
    boundary: str | None = None  # global id of the order the cursor names
    while True:
        # given the listing as it is now
        ordered = listing.ordered(direction)
        size = rng.randint(1, 6)
        # when one page is read
        if backward:
            variables = {"last": size, "before": cursor, "dir": direction}
        else:
            variables = {"first": size, "after": cursor, "dir": direction}
        page = await _page(api, variables)
        ids = [edge["node"]["id"] for edge in page["edges"]]
        cursors = [edge["cursor"] for edge in page["edges"]]
        info = page["pageInfo"]

        # then the page is exactly the model's, with exact pageInfo and totalCount
        if backward:
            end = ordered.index(boundary) if boundary else len(ordered)
            expected = ordered[max(0, end - size) : end]
            has_previous, has_next = end - size > 0, boundary is not None
        else:
            start = ordered.index(boundary) + 1 if boundary else 0
            expected = ordered[start : start + size]
            has_previous, has_next = boundary is not None, start + size < len(ordered)
        assert ids == expected, (variables, ids, expected)
        assert (info["hasPreviousPage"], info["hasNextPage"]) == (has_previous, has_next)
        assert info["startCursor"] == (cursors[0] if cursors else None)
        assert info["endCursor"] == (cursors[-1] if cursors else None)
        assert page["totalCount"] == len(ordered)
        returned = ids + returned if backward else returned + ids

        more = info["hasPreviousPage"] if backward else info["hasNextPage"]
        if not more:
            break
        cursor = info["startCursor"] if backward else info["endCursor"]
        boundary = ids[0] if backward else ids[-1]
        # and new orders arrive: some ahead of the walk, some behind it
        moment = listing.created[listing.key_of(boundary)]
        # In listing order "ahead" is later for ASC read forwards, earlier otherwise.
        ahead_is_later = (direction == "ASC") != backward
        ahead = [
            _moment_beside(rng, moment, later=ahead_is_later) for _ in range(rng.randint(0, 2))
        ]
        behind = [
            _moment_beside(rng, moment, later=not ahead_is_later) for _ in range(rng.randint(0, 2))
        ]
        added_ahead |= await _add(api, listing, ahead)
        added_behind |= await _add(api, listing, behind)

    assert len(returned) == len(set(returned)), "an order was returned twice"
    assert set(returned) == at_start | added_ahead, "an order was skipped"
    assert not set(returned) & added_behind
    # returned in listing order (the final listing holds every order returned)
    final = listing.ordered(direction)
    assert returned == [g for g in final if g in set(returned)]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("backward", [False, True], ids=["first-after", "last-before"])
async def test_random_walks_return_every_order_once_while_orders_arrive(
    api: Api, direction: str, backward: bool
) -> None:
    # given orders with clashing creation times (ties are broken by id)
    listing = Listing()
    seeding = random.Random(5)
    await _add(
        api,
        listing,
        [ORIGIN + timedelta(minutes=seeding.randint(0, 30)) for _ in range(INITIAL_ORDERS)],
    )
    assert len(set(listing.created.values())) < INITIAL_ORDERS  # ties exist
    # when several seeded walks run, orders accumulating as they go
    for seed in SEEDS:
        await _walk(api, listing, random.Random(seed), direction=direction, backward=backward)


async def test_an_empty_listing_has_no_pages(api: Api) -> None:
    # given no orders, when the first and the last page are read
    forward = await _page(api, {"first": 5, "dir": "ASC"})
    backward = await _page(api, {"last": 5, "dir": "DESC"})

    # then both are empty with no neighbours and no cursors
    for page in (forward, backward):
        assert page["edges"] == []
        assert page["totalCount"] == 0
        assert page["pageInfo"] == {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        }


async def test_after_and_before_bound_a_window(api: Api) -> None:
    # given ten orders a minute apart
    listing = Listing()
    await _add(api, listing, [ORIGIN + timedelta(minutes=m) for m in range(10)])
    everything = await _page(api, {"first": 10, "dir": "ASC"})
    cursors = [edge["cursor"] for edge in everything["edges"]]

    # when the window strictly between the 2nd and the 7th order is read
    body = await api.query(
        """query($a: String, $b: String) { orders(first: 10, after: $a, before: $b) {
             edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } }""",
        {"a": cursors[1], "b": cursors[6]},
    )

    # then it holds exactly the 3rd to 6th, with orders beyond both ends
    window = body["data"]["orders"]
    assert [e["node"]["id"] for e in window["edges"]] == listing.ordered("ASC")[2:6]
    assert window["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": True}


# --- bad cursors and sizes -------------------------------------------------------------


def _flip(cursor: str, position: int) -> str:
    """``cursor`` with one character changed (still valid base64url)."""
    chars = list(cursor)
    chars[position] = "A" if chars[position] != "A" else "B"
    return "".join(chars)


def _assert_clean_error(body: dict[str, Any], code: str) -> None:
    """One error with ``code``, no data for the field, nothing internal in the text."""
    assert error_codes(body) == [code], body
    assert body.get("data") is None
    text = json.dumps(body)
    for internal in ("Traceback", 'File "', ".py", "stacktrace", "exception", "sqlalchemy"):
        assert internal not in text, internal


async def _cursors(api: Api, tenant: str, direction: str = "ASC") -> list[str]:
    body = await api.query(PAGE, {"first": 3, "dir": direction}, tenant=tenant)
    return [edge["cursor"] for edge in body["data"]["orders"]["edges"]]


async def test_every_kind_of_bad_cursor_is_a_clean_invalid_cursor_error(api: Api) -> None:
    # given orders in both tenants and real cursors of each listing
    await _add(api, Listing(), [ORIGIN + timedelta(minutes=m) for m in range(3)])
    await deliver_unified(api, "globex-unified", [unified_order("gx0001", created_at=ORIGIN)])
    good = (await _cursors(api, "acme"))[1]
    descending = (await _cursors(api, "acme", "DESC"))[1]
    foreign = (await _cursors(api, "globex"))[0]
    candidates = await api.query("{ candidates(first: 1) { edges { cursor } } }")
    candidate_cursor = candidates["data"]["candidates"]["edges"][0]["cursor"]
    bad = {
        "flipped near the start": _flip(good, 3),
        "flipped in the middle": _flip(good, len(good) // 2),
        "flipped at the end": _flip(good, -1),
        "truncated": good[:-4],
        "garbage": "not a cursor!",
        "empty": "",
        "huge": "A" * 5000,
        "another tenant's": foreign,
        "from the other direction": descending,
        "from the candidates listing": candidate_cursor,
    }
    assert (await api.query(PAGE, {"first": 1, "after": good, "dir": "ASC"}))["data"]
    for name, cursor in bad.items():
        for variables in (
            {"first": 2, "after": cursor, "dir": "ASC"},
            {"last": 2, "before": cursor, "dir": "ASC"},
        ):
            # when a page is asked for after (or before) the bad cursor
            body = await api.query(PAGE, variables)
            # then the answer is a clean INVALID_CURSOR error
            assert error_codes(body) == ["INVALID_CURSOR"], (name, body)
            _assert_clean_error(body, "INVALID_CURSOR")


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ("first: 101", "PAGE_SIZE_EXCEEDED"),
        ("last: 101", "PAGE_SIZE_EXCEEDED"),
        ("first: 2, last: 2", "INVALID_ARGUMENT"),
        ("first: -1", "INVALID_ARGUMENT"),
        ("last: -3", "INVALID_ARGUMENT"),
    ],
)
async def test_bad_page_sizes_are_clean_errors(api: Api, arguments: str, code: str) -> None:
    # when orders are asked for with a bad size
    body = await api.query(f"{{ orders({arguments}) {{ totalCount edges {{ cursor }} }} }}")
    # then the error names the problem with a code
    _assert_clean_error(body, code)
    if code == "PAGE_SIZE_EXCEEDED":
        assert body["errors"][0]["extensions"]["maxPageSize"] == 100


async def test_the_cap_itself_is_allowed(api: Api) -> None:
    body = await api.query(
        "{ orders(first: 100) { totalCount } a: orders(last: 100) { totalCount } }"
    )
    assert "errors" not in body
    assert body["data"]["orders"]["totalCount"] == 0
