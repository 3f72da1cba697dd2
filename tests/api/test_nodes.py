"""Happy paths of the object graph: every node type by id (node, nodes, order), a
candidate's orders across connections, a job's orders, an order's events, the
connections with their capabilities and sync status, and candidate search paging."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordergraph.models import Candidate, NewOrder, PackageRef
from ordergraph.resolvers.mutations import create_order_for_connection
from ordergraph.sandbox.core import SandboxContext
from ordergraph.store import EventSource
from tests.api.conftest import Api
from tests.api.helpers import (
    connection,
    deliver_unified,
    error_codes,
    fill_index,
    gid,
    unified_order,
)
from tests.conftest import Sandbox

MOMENT = datetime(2026, 3, 1, 12, tzinfo=UTC)

KOMBO_ORDERS = """
{ orders(first: 100, filter: {providers: [KOMBO]}) { edges { node {
    id remoteId status
    candidate { id name emails }
    job { id remoteId title code hiringTeam { email roles } }
    package { id remoteId name type }
    connection { id provider }
} } } }
"""

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Order { remoteId status }
    ... on Candidate { name emails }
    ... on Job { jobRemoteId: remoteId title code hiringTeam { email roles } }
    ... on Package { remoteId name type }
    ... on ProviderConnection { provider account }
  }
}
"""


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=7, orders_per_account=12)


async def _data(api: Api, document: str, variables: dict[str, Any] | None = None) -> Any:
    body = await api.query(document, variables)
    assert "errors" not in body, body
    return body["data"]


async def test_every_node_type_by_id(api: Api, sandbox: Sandbox) -> None:
    # given acme's Kombo orders, which carry every kind of object
    await fill_index(api, sandbox)
    order = (await _data(api, KOMBO_ORDERS))["orders"]["edges"][0]["node"]
    expected = {
        "Order": {"id": order["id"], "remoteId": order["remoteId"], "status": order["status"]},
        "Candidate": {
            "id": order["candidate"]["id"],
            "name": order["candidate"]["name"],
            "emails": order["candidate"]["emails"],
        },
        "Job": {
            "id": order["job"]["id"],
            "jobRemoteId": order["job"]["remoteId"],
            **{k: order["job"][k] for k in ("title", "code", "hiringTeam")},
        },
        "Package": order["package"],
        "ProviderConnection": {
            "id": order["connection"]["id"],
            "provider": "KOMBO",
            "account": connection(api, "acme-kombo").settings.account,
        },
    }
    assert order["package"]["name"]
    assert order["job"]["hiringTeam"]
    for type_name, fields in expected.items():
        # when each is read by its id, then it is that object with the same fields
        node = (await _data(api, NODE, {"id": fields["id"]}))["node"]
        assert node == {"__typename": type_name, **fields}, type_name

    # when all are read at once, with an unknown id among them
    ids = [fields["id"] for fields in expected.values()]
    missing = gid("Order", "acme-kombo:no-such-order")
    body = await api.query(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": [*ids[:2], missing, *ids[2:]]},
    )
    # then they come back in the order asked, null for the unknown one, with its error
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["nodes", 2], "NOT_FOUND")
    ]
    nodes = body["data"]["nodes"]
    assert nodes == [
        {"__typename": "Order", "id": ids[0]},
        {"__typename": "Candidate", "id": ids[1]},
        None,
        *({"__typename": t, "id": i} for t, i in zip(list(expected)[2:], ids[2:], strict=True)),
    ]
    # and order(id:) finds the order, and nothing for an unknown one
    one = await _data(
        api,
        "query($a: ID!, $b: ID!) { a: order(id: $a) { id } b: order(id: $b) { id } }",
        {"a": ids[0], "b": missing},
    )
    assert one == {"a": {"id": ids[0]}, "b": None}


async def test_a_candidate_has_its_orders_across_connections(api: Api) -> None:
    # given one person ordered through Unified and through StackOne (emails in other cases)
    await deliver_unified(
        api,
        "acme-unified",
        [unified_order("cross-1", created_at=MOMENT, email="Cross.Over@Example.com")],
    )
    stackone = connection(api, "acme-stackone")
    package = (await stackone.provider.list_packages())[0]
    created = await create_order_for_connection(
        api.services,
        stackone,
        NewOrder(
            package=PackageRef(remote_id=package.remote_id),
            candidate=Candidate(
                first_name="Cross", last_name="Over", emails=("cross.over@example.com",)
            ),
        ),
    )
    candidate_id = gid("Candidate", "e:cross.over@example.com")

    # when the candidate is read by id, with its orders
    body = await _data(
        api,
        """query($id: ID!) { node(id: $id) { ... on Candidate { name
            orders { totalCount edges { node { id connection { id }
                candidate { id } } } } } } }""",
        {"id": candidate_id},
    )

    # then both orders are its orders, and each names the same candidate
    orders = body["node"]["orders"]
    assert orders["totalCount"] == 2
    assert {e["node"]["id"] for e in orders["edges"]} == {
        gid("Order", "acme-unified:cross-1"),
        gid("Order", created.id),
    }
    assert {e["node"]["connection"]["id"] for e in orders["edges"]} == {
        gid("ProviderConnection", "acme-unified"),
        gid("ProviderConnection", "acme-stackone"),
    }
    assert {e["node"]["candidate"]["id"] for e in orders["edges"]} == {candidate_id}


async def test_a_job_has_its_orders(api: Api, sandbox: Sandbox) -> None:
    # given acme's Kombo orders, several of them for one job
    await fill_index(api, sandbox)
    nodes = [e["node"] for e in (await _data(api, KOMBO_ORDERS))["orders"]["edges"]]
    job_id, count = Counter(n["job"]["id"] for n in nodes).most_common(1)[0]
    assert count >= 2

    # when the job is read with its orders
    body = await _data(
        api,
        """query($id: ID!) { node(id: $id) { ... on Job {
            orders(first: 50) { totalCount edges { node { id } } } } } }""",
        {"id": job_id},
    )

    # then exactly the orders for that job come back, in listing order
    orders = body["node"]["orders"]
    assert [e["node"]["id"] for e in orders["edges"]] == [
        n["id"] for n in nodes if n["job"]["id"] == job_id
    ]
    assert orders["totalCount"] == count


EVENTS = """
query($id: ID!, $first: Int, $after: String) {
  order(id: $id) {
    status
    events(first: $first, after: $after) {
      edges { cursor node { cursor previousStatus newStatus source occurredAt
                            order { id status } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


async def test_an_orders_events_record_each_status_change(api: Api) -> None:
    # given an order delivered by webhook, then read again by a poll as completed
    await deliver_unified(api, "acme-unified", [unified_order("ev-1", created_at=MOMENT)])
    completed = unified_order(
        "ev-1", created_at=MOMENT, status="COMPLETED", updated_at=MOMENT + timedelta(hours=1)
    )
    await deliver_unified(api, "acme-unified", [completed], EventSource.POLL)
    # and the same delivery again, which changes nothing
    await deliver_unified(api, "acme-unified", [completed], EventSource.WEBHOOK)
    order_id = gid("Order", "acme-unified:ev-1")

    # when its events are read
    order = (await _data(api, EVENTS, {"id": order_id}))["order"]

    # then there is one per status change, oldest first, with how each arrived
    assert order["status"] == "COMPLETED"
    events = [e["node"] for e in order["events"]["edges"]]
    assert [(e["previousStatus"], e["newStatus"], e["source"]) for e in events] == [
        (None, "OPEN", "WEBHOOK"),
        ("OPEN", "COMPLETED", "POLL"),
    ]
    assert all(e["order"] == {"id": order_id, "status": "COMPLETED"} for e in events)
    assert events[0]["occurredAt"] <= events[1]["occurredAt"]
    assert [e["cursor"] for e in order["events"]["edges"]] == [e["cursor"] for e in events]
    assert order["events"]["pageInfo"]["hasNextPage"] is False

    # and they page: one, then the rest after its cursor
    first = (await _data(api, EVENTS, {"id": order_id, "first": 1}))["order"]["events"]
    assert [e["node"]["newStatus"] for e in first["edges"]] == ["OPEN"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (
        await _data(
            api, EVENTS, {"id": order_id, "first": 5, "after": first["pageInfo"]["endCursor"]}
        )
    )["order"]["events"]
    assert [e["node"]["newStatus"] for e in rest["edges"]] == ["COMPLETED"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_zero_events_is_an_empty_page(api: Api) -> None:
    # given an order with one event
    await deliver_unified(api, "acme-unified", [unified_order("ev-0", created_at=MOMENT)])
    # when no events are asked for
    body = await _data(api, EVENTS, {"id": gid("Order", "acme-unified:ev-0"), "first": 0})
    # then none come back, and there are more
    events = body["order"]["events"]
    assert events["edges"] == []
    assert events["pageInfo"] == {"hasNextPage": True, "endCursor": None}


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"first": 101}, "PAGE_SIZE_EXCEEDED"),
        ({"after": "bm90LWFuLWV2ZW50"}, "INVALID_CURSOR"),
        # "event:9223372036854775808", past the 64-bit event ids (tests/fuzz): was masked
        ({"after": "ZXZlbnQ6OTIyMzM3MjAzNjg1NDc3NTgwOA=="}, "INVALID_CURSOR"),
    ],
)
async def test_bad_event_paging_is_a_clean_error(
    api: Api, arguments: dict[str, Any], code: str
) -> None:
    await deliver_unified(api, "acme-unified", [unified_order("ev-2", created_at=MOMENT)])
    body = await api.query(EVENTS, {"id": gid("Order", "acme-unified:ev-2"), **arguments})
    assert error_codes(body) == [code]


async def test_connections_list_capabilities_and_sync_status(api: Api, sandbox: Sandbox) -> None:
    # given acme's connections, the Kombo one polled once
    await fill_index(api, sandbox)

    # when acme lists its connections
    connections = (
        await _data(
            api,
            """{ connections { id provider account capabilities
                syncStatus { lastSyncedAt lastError webhookRegistered } } }""",
        )
    )["connections"]

    # then each has its provider's capabilities and its own sync state
    by_provider = {c["provider"]: c for c in connections}
    assert set(by_provider) == {"UNIFIED", "STACKONE", "KOMBO"}
    for name, found in by_provider.items():
        live = connection(api, f"acme-{name.lower()}")
        assert found["id"] == gid("ProviderConnection", live.id)
        assert found["account"] == live.settings.account
        # What this connection can do: a StackOne connection's API version decides
        # whether it reads orders back.
        assert found["capabilities"] == sorted(
            c.value for c in live.provider.capabilities if live.provider.supports(c)
        )
    assert "LIST_ORDERS" in by_provider["KOMBO"]["capabilities"]
    assert "LIST_ORDERS" not in by_provider["STACKONE"]["capabilities"]
    assert "REGISTER_WEBHOOK" in by_provider["UNIFIED"]["capabilities"]
    kombo = by_provider["KOMBO"]["syncStatus"]
    assert kombo["lastSyncedAt"] is not None
    assert kombo["lastError"] is None
    assert by_provider["UNIFIED"]["syncStatus"] == {
        "lastSyncedAt": None,
        "lastError": None,
        "webhookRegistered": False,
    }


CANDIDATES = """
query($first: Int, $after: String, $last: Int, $before: String, $search: String) {
  candidates(first: $first, after: $after, last: $last, before: $before, search: $search) {
    totalCount
    edges { cursor node { emails } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def test_candidate_search_pages_by_email_in_both_directions(api: Api) -> None:
    # given seven candidates matching a search (one with two orders) and two that do not
    emails = [f"pager{i}@paging.example" for i in (5, 1, 7, 3, 2, 6, 4)]
    orders = [
        unified_order(f"cand-{n}", created_at=MOMENT + timedelta(minutes=n), email=email)
        for n, email in enumerate([*emails, emails[0].upper(), "x@else.example", "y@else.example"])
    ]
    await deliver_unified(api, "acme-unified", orders)
    wanted = sorted(emails)

    async def page(**arguments: Any) -> dict[str, Any]:
        data = await _data(api, CANDIDATES, {"search": "PAGING.example", **arguments})
        result: dict[str, Any] = data["candidates"]
        assert result["totalCount"] == 7
        return result

    # when the search is walked forwards three at a time
    forward: list[str] = []
    flags = []
    after = None
    while True:
        result = await page(first=3, after=after)
        forward += [e["node"]["emails"][0].lower() for e in result["edges"]]
        info = result["pageInfo"]
        flags.append((info["hasPreviousPage"], info["hasNextPage"]))
        assert info["endCursor"] == result["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    # then each candidate comes once, by email, with exact page flags
    assert forward == wanted
    assert flags == [(False, True), (True, True), (True, False)]

    # when it is walked backwards from the end
    backward: list[str] = []
    flags = []
    before = None
    while True:
        result = await page(last=3, before=before)
        backward = [e["node"]["emails"][0].lower() for e in result["edges"]] + backward
        info = result["pageInfo"]
        flags.append((info["hasPreviousPage"], info["hasNextPage"]))
        assert info["startCursor"] == result["edges"][0]["cursor"]
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    # then the same candidates come back in the same order
    assert backward == wanted
    assert flags == [(True, False), (True, True), (False, True)]


async def test_candidate_cursors_are_checked(api: Api) -> None:
    # given candidates and a real candidate and order cursor
    await deliver_unified(
        api,
        "acme-unified",
        [unified_order(f"cc-{n}", created_at=MOMENT, email=f"c{n}@x.example") for n in range(3)],
    )
    good = (await _data(api, CANDIDATES, {"first": 1}))["candidates"]["edges"][0]["cursor"]
    order_cursor = (await _data(api, "{ orders(first: 1) { edges { cursor } } }"))["orders"][
        "edges"
    ][0]["cursor"]
    foreign = await api.query(CANDIDATES, {"first": 1}, tenant="globex")
    assert foreign["data"]["candidates"]["edges"] == []
    for bad in (good[:-2], good[:5] + ("A" if good[5] != "A" else "B") + good[6:], order_cursor):
        # when a tampered or foreign cursor is used, then it is a clean INVALID_CURSOR
        for arguments in ({"first": 2, "after": bad}, {"last": 2, "before": bad}):
            body = await api.query(CANDIDATES, arguments)
            assert error_codes(body) == ["INVALID_CURSOR"], (bad, body)
            assert body["data"] is None
    # while the real cursor works
    assert (
        len((await _data(api, CANDIDATES, {"first": 5, "after": good}))["candidates"]["edges"]) == 2
    )


@pytest.mark.parametrize(
    "bad_id",
    ["garbage", gid("Query", "x"), gid("Order", "")],
    ids=["not-base64", "unknown-type", "empty-key"],
)
async def test_a_malformed_id_finds_nothing_and_shows_nothing_internal(
    api: Api, bad_id: str
) -> None:
    # when node(id:) gets an id that names no object
    body = await api.query("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id})
    # then the node is null, with at most one error and nothing internal in it
    assert body.get("data") in (None, {"node": None})
    assert len(body.get("errors") or []) <= 1
    text = json.dumps(body)
    for internal in ("Traceback", 'File "', ".py", "/work/"):
        assert internal not in text


@pytest.mark.parametrize("raw", ["Nope:1", ":x"])
async def test_an_id_of_no_type_of_ours_is_invalid_id(api: Api, raw: str) -> None:
    # Found by tests/fuzz: an unknown type name was masked as "Unexpected error."
    made_up = base64.b64encode(raw.encode()).decode()
    one = await api.query("query($id: ID!) { node(id: $id) { id } }", {"id": made_up})
    many = await api.query("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [made_up]})
    for body in (one, many):
        assert error_codes(body) == ["INVALID_ID"], body


async def test_nodes_answers_each_id_on_its_own(api: Api, sandbox: Sandbox) -> None:
    # given an order of each tenant
    await fill_index(api, sandbox)
    ours = (await _data(api, KOMBO_ORDERS))["orders"]["edges"][0]["node"]
    theirs = gid("Order", "globex-kombo:" + ours["remoteId"])
    ids = [
        ours["id"],
        "garbage",  # no global id at all
        base64.b64encode(b"Nope:1").decode(),  # a type we do not have
        theirs,  # another tenant's order: not found, like a missing one
        gid("Order", "acme-kombo:no-such-order"),
        ours["candidate"]["id"],
    ]

    # when they are asked for at once
    body = await api.query(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }", {"ids": ids}
    )

    # then each bad id is null at its index with an error at its path, the rest answer
    assert body["data"]["nodes"] == [
        {"__typename": "Order", "id": ours["id"]},
        None,
        None,
        None,
        None,
        {"__typename": "Candidate", "id": ours["candidate"]["id"]},
    ]
    errors = sorted((e["path"][1], e["extensions"]["code"]) for e in body["errors"])
    assert errors == [(1, "INVALID_ID"), (2, "INVALID_ID"), (3, "NOT_FOUND"), (4, "NOT_FOUND")]
    assert all(e["path"][0] == "nodes" for e in body["errors"])
    assert "globex" not in json.dumps(body["errors"])
