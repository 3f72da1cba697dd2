"""Fuzzing cursors and global ids with real ones as seeds.

Cursors of orders, candidates and events, truncated, bit-flipped, re-encoded, or valid
but for another tenant, listing or direction: a clean INVALID_CURSOR, never a row of
another list. Global ids made up, mangled, or another tenant's, on every field and
mutation that takes one: null, NOT_FOUND or INVALID_ID, never another tenant's data.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import KEYS, Fuzzed
from tests.fuzz.profiles import fuzz_settings
from tests.fuzz.strategies import global_ids

ORDERS = """query($c: String, $d: OrderSortDirection!) {
  orders(first: 5, after: $c, orderBy: {direction: $d}) { nodes { id } pageInfo { endCursor } }
}"""
ORDERS_BEFORE = """query($c: String, $d: OrderSortDirection!) {
  orders(last: 5, before: $c, orderBy: {direction: $d}) { nodes { id } }
}"""
CANDIDATES = (
    "query($c: String) { candidates(first: 5, after: $c) { edges { cursor node { id } } } }"
)
EVENTS = """query($id: ID!, $c: String) {
  order(id: $id) { events(first: 5, after: $c) { edges { cursor node { order { id } } } } }
}"""
ALL_ORDERS = "{ orders(first: 100) { nodes { id candidate { id } } } connections { id } }"

pytestmark = pytest.mark.fuzz


@dataclass
class Seeds:
    """Real cursors and ids of both tenants."""

    order_ids: dict[str, set[str]]
    other_ids: set[str]  # every id globex can see (orders, candidates, connections)
    orders_asc: str
    orders_desc: str
    candidates: str
    globex_orders: str
    event_order: str
    event_cursor: str


async def _seeds(fuzzed: Fuzzed) -> Seeds:
    memo: dict[str, Any] = fuzzed.memo
    if "seeds" in memo:
        seeds: Seeds = memo["seeds"]
        return seeds
    probe = fuzzed.probe
    order_ids: dict[str, set[str]] = {}
    other_ids: set[str] = set()
    for tenant in ("acme", "globex"):
        data = (await probe.graphql(ALL_ORDERS, key=KEYS[tenant]))["data"]
        order_ids[tenant] = {n["id"] for n in data["orders"]["nodes"]}
        if tenant == "globex":
            other_ids |= order_ids[tenant] | {c["id"] for c in data["connections"]}
            other_ids |= {n["candidate"]["id"] for n in data["orders"]["nodes"] if n["candidate"]}

    async def end_cursor(tenant: str, direction: str) -> str:
        body = await probe.graphql(ORDERS, {"d": direction}, key=KEYS[tenant])
        return str(body["data"]["orders"]["pageInfo"]["endCursor"])

    candidates = await probe.graphql(CANDIDATES, key=KEYS["acme"])
    event_order = sorted(order_ids["acme"])[0]
    events = await probe.graphql(EVENTS, {"id": event_order}, key=KEYS["acme"])
    seeds = Seeds(
        order_ids=order_ids,
        other_ids=other_ids,
        orders_asc=await end_cursor("acme", "ASC"),
        orders_desc=await end_cursor("acme", "DESC"),
        candidates=candidates["data"]["candidates"]["edges"][-1]["cursor"],
        globex_orders=await end_cursor("globex", "ASC"),
        event_order=event_order,
        event_cursor=events["data"]["order"]["events"]["edges"][0]["cursor"],
    )
    memo["seeds"] = seeds
    return seeds


def _codes(body: dict[str, Any]) -> set[str]:
    return {str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []}


@st.composite
def tampered(draw: st.DrawFn, cursor: str) -> str:
    """``cursor`` truncated, with a character replaced, a bit flipped, or text added."""
    kind = draw(st.sampled_from(["truncate", "replace", "flip", "append", "standard"]))
    if kind == "truncate":
        return cursor[: draw(st.integers(0, len(cursor) - 1))]
    if kind == "replace":
        at = draw(st.integers(0, len(cursor) - 1))
        char = draw(st.sampled_from("AZaz09-_=+/. %\x00é"))
        return cursor[:at] + char + cursor[at + 1 :]
    if kind == "flip":
        raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        bit = draw(st.integers(0, len(raw) * 8 - 1))
        raw[bit // 8] ^= 1 << (bit % 8)
        return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    if kind == "append":
        return cursor + draw(st.text(min_size=1, max_size=20))
    return base64.b64encode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))).decode()


@fuzz_settings(examples=150)
@given(data=st.data())
async def test_tampered_or_foreign_order_cursors_are_refused(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    seeds = await _seeds(fuzzed)
    direction = data.draw(st.sampled_from(["ASC", "DESC"]))
    own = seeds.orders_asc if direction == "ASC" else seeds.orders_desc
    foreign = [
        seeds.orders_desc if direction == "ASC" else seeds.orders_asc,
        seeds.candidates,
        seeds.globex_orders,
        seeds.event_cursor,
    ]
    cursor = data.draw(
        st.sampled_from(foreign)
        | tampered(own)
        | tampered(seeds.globex_orders)
        | st.text(max_size=80)
    )
    document = data.draw(st.sampled_from([ORDERS, ORDERS_BEFORE]))
    body = await fuzzed.probe.graphql(document, {"c": cursor, "d": direction}, key=KEYS["acme"])
    if cursor in foreign or cursor == "" or body.get("errors"):
        assert body.get("data") is None, body
        assert _codes(body) == {"INVALID_CURSOR"}, body
    else:  # a spelling that decodes to the very same signed cursor
        ids = {n["id"] for n in body["data"]["orders"]["nodes"]}
        assert ids <= seeds.order_ids["acme"], body


@fuzz_settings(examples=80)
@given(data=st.data())
async def test_tampered_or_foreign_candidate_cursors_are_refused(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    seeds = await _seeds(fuzzed)
    foreign = [seeds.orders_asc, seeds.orders_desc, seeds.globex_orders]
    cursor = data.draw(st.sampled_from(foreign) | tampered(seeds.candidates) | st.text())
    body = await fuzzed.probe.graphql(CANDIDATES, {"c": cursor}, key=KEYS["acme"])
    if cursor in foreign or body.get("errors"):
        assert body.get("data") is None, body
        assert _codes(body) == {"INVALID_CURSOR"}, body
    else:
        ids = {e["node"]["id"] for e in body["data"]["candidates"]["edges"]}
        assert not ids & seeds.other_ids, body


def _event_cursor(value: int) -> str:
    # The unsigned form event cursors had before they were signed: refused now.
    return base64.urlsafe_b64encode(f"event:{value}".encode()).decode()


@fuzz_settings(examples=80)
@given(data=st.data())
async def test_event_cursors_never_show_another_orders_events(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    seeds = await _seeds(fuzzed)
    cursor = data.draw(
        tampered(seeds.event_cursor)
        | st.integers(-(2**70), 2**70).map(_event_cursor)
        | st.sampled_from([seeds.orders_asc, seeds.candidates])
        | st.text(max_size=40)
    )
    order_id = data.draw(st.sampled_from(sorted(seeds.order_ids["acme"])))
    body = await fuzzed.probe.graphql(EVENTS, {"id": order_id, "c": cursor}, key=KEYS["acme"])
    if body.get("errors"):
        assert _codes(body) == {"INVALID_CURSOR"}, body
    else:
        for edge in body["data"]["order"]["events"]["edges"]:
            assert edge["node"]["order"]["id"] == order_id, body


ID_DOCUMENTS = {
    "node": ("query($id: ID!) { node(id: $id) { id __typename } }", "one"),
    "order": ("query($id: ID!) { order(id: $id) { id } }", "one"),
    "nodes": ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "many"),
    "packages": ("query($id: ID!) { packages(connectionId: $id) { id } }", "one"),
    "refresh": (
        "mutation($ids: [ID!]!) { refreshOrders(ids: $ids) { orders { id } errors { code } } }",
        "many",
    ),
    "submit": (
        """mutation($id: ID!) { submitResult(input: {orderId: $id, status: COMPLETED,
        url: "https://results.example/1"}) { order { id } errors { code } } }""",
        "one",
    ),
    "candidate orders": (
        "query($id: ID!) { node(id: $id) {"
        " ... on Candidate { orders(first: 2) { nodes { id } } } } }",
        "one",
    ),
}
_ID_CODES = {"INVALID_ID", "NOT_FOUND", "INVALID_ARGUMENT"}


def _returned_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {str(value["id"])} if "id" in value else set()
        return found.union(*(_returned_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_returned_ids(v) for v in value))
    return set()


@fuzz_settings(examples=200)
@given(data=st.data())
async def test_foreign_or_made_up_global_ids_find_nothing(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    seeds = await _seeds(fuzzed)
    name = data.draw(st.sampled_from(sorted(ID_DOCUMENTS)))
    document, arity = ID_DOCUMENTS[name]
    ids = global_ids(sorted(seeds.other_ids))
    if arity == "one":
        variables: dict[str, Any] = {"id": data.draw(ids)}
    else:
        variables = {"ids": data.draw(st.lists(ids, max_size=5))}
    body = await fuzzed.probe.graphql(document, variables, key=KEYS["acme"])
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        # Strawberry's own node fields refuse an unreadable id without a code.
        assert code in _ID_CODES or "cannot represent a GlobalID" in error["message"], body
    assert not _returned_ids(body.get("data")) & seeds.other_ids, body
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict) and "errors" in payload:  # mutation payloads
            assert {e["code"] for e in payload["errors"]} <= _ID_CODES, body
