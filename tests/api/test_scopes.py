"""Scopes: ``read`` for queries and subscriptions, ``write`` for mutations, ``pii`` for a
candidate's sensitive fields, over HTTP and over WebSocket; and the response cache
never hands a ``pii`` answer to a key without the scope."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from graphql import parse

from ordergraph.api.http import CACHE_HEADER
from ordergraph.models import Order
from ordergraph.schema import schema
from ordergraph.schema.access import payload_fields_needing_read
from tests.api.conftest import KEYS, NO_PII_KEY, READ_ONLY_KEY, WRITE_ONLY_KEY, Api
from tests.api.helpers import deliver_unified, error_codes, gid, unified_order
from tests.api.mutation_support import (
    REFRESH_ORDERS,
    connection_gid,
    index_unified,
    live,
    new_order_input,
    offered_package,
    result_input,
)
from tests.api.ws_client import connect
from tests.conftest import Sandbox

PII_FIELDS = ("dateOfBirth", "nationalIdentifier", "ipAddress", "gender", "addresses")
CANDIDATES = """
{
  candidates(first: 50) {
    edges { node {
      id name emails
      dateOfBirth nationalIdentifier ipAddress gender
      addresses { street1 street2 city region postalCode country }
    } }
  }
}
"""
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


async def post(api: Api, document: str, key: str, variables: dict[str, Any] | None = None) -> Any:
    async with api.session.post(
        api.url + "/graphql",
        json={"query": document, "variables": variables or {}},
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        return response.status, response.headers.get(CACHE_HEADER), await response.json()


def forbidden(scope: str) -> dict[str, Any]:
    return {"code": "FORBIDDEN", "requiredScope": scope}


# --- operations ----------------------------------------------------------------------------


async def test_a_key_without_write_cannot_run_a_mutation(api: Api, sandbox: Sandbox) -> None:
    # given an indexed Unified order and the sandbox's request count
    [remote_id] = await index_unified(sandbox, api, count=1)
    before = (await sandbox.stats())["total"]
    order_id = gid("Order", f"acme-unified:{remote_id}")
    # when a read-only key refreshes it
    status, _, body = await post(api, REFRESH_ORDERS, READ_ONLY_KEY, {"ids": [order_id]})
    # then the request is refused before anything runs, naming the missing scope
    assert status == 403
    assert [e["extensions"] for e in body["errors"]] == [forbidden("write")]
    assert "'write' scope" in body["errors"][0]["message"]
    assert "data" not in body
    assert (await sandbox.stats())["total"] == before
    # while a key with write may
    status, _, body = await post(api, REFRESH_ORDERS, NO_PII_KEY, {"ids": [order_id]})
    assert status == 200
    assert "errors" not in body, body


async def test_a_key_without_read_cannot_query(api: Api) -> None:
    status, _, body = await post(api, "{ connections { id } }", WRITE_ONLY_KEY)
    assert status == 403
    assert [e["extensions"] for e in body["errors"]] == [forbidden("read")]
    assert "data" not in body


async def test_scopes_hold_over_websocket_too(api: Api) -> None:
    async with connect(api.session, api.url) as client:
        assert await client.init({"authorization": f"Bearer {WRITE_ONLY_KEY}"}) == {
            "type": "connection_ack"
        }
        # a subscription and a query need read
        await client.subscribe("s", "subscription { orderEvents { cursor } }")
        await client.subscribe("q", "{ connections { id } }")
        for op_id in ("s", "q"):
            message = await client.message(op_id)
            errors = (
                message["payload"]["errors"] if message["type"] == "next" else message["payload"]
            )
            assert [e["extensions"] for e in errors] == [forbidden("read")], message
    async with connect(api.session, api.url) as client:
        await client.init({"authorization": f"Bearer {READ_ONLY_KEY}"})
        # a mutation needs write
        await client.subscribe("m", "mutation { refreshOrders(ids: []) { errors { code } } }")
        message = await client.message("m")
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert [e["extensions"] for e in errors] == [forbidden("write")], message


# --- personal data -------------------------------------------------------------------------


async def test_sensitive_candidate_fields_need_the_pii_scope(api: Api, sandbox: Sandbox) -> None:
    # given Unified orders indexed from the sandbox (whose candidates carry personal data)
    ids = await index_unified(sandbox, api, count=3)
    read = await live(api, "acme-unified").provider.get_orders(ids)
    expected = {o.candidate.emails[0].lower(): o.candidate for o in read.values() if o.candidate}
    # when a key with pii reads the candidates, then every sensitive field is there
    status, _, body = await post(api, CANDIDATES, KEYS["acme"])
    assert status == 200
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["candidates"]["edges"]]
    assert len(nodes) == len(expected) == 3
    for node in nodes:
        candidate = expected[node["emails"][0].lower()]
        assert node["dateOfBirth"] == candidate.date_of_birth is not None
        assert node["nationalIdentifier"] == candidate.national_identifier is not None
        assert node["ipAddress"] == candidate.ip_address is not None
        assert node["gender"] == candidate.gender is not None
        assert [a["city"] for a in node["addresses"]] == [a.city for a in candidate.addresses]
        assert node["addresses"]

    # when a key without pii asks the same, then each sensitive field is null with an
    # error at its path naming the scope, and the rest of the answer stands
    status, _, body = await post(api, CANDIDATES, NO_PII_KEY)
    assert status == 200
    nodes = [e["node"] for e in body["data"]["candidates"]["edges"]]
    assert all(n["name"] and n["emails"] for n in nodes)
    assert all(n[f] is None for n in nodes for f in PII_FIELDS)
    paths = {tuple(e["path"]) for e in body["errors"]}
    assert paths == {
        ("candidates", "edges", i, "node", f) for i in range(len(nodes)) for f in PII_FIELDS
    }
    assert all(e["extensions"] == forbidden("pii") for e in body["errors"])
    assert all("'pii' scope" in e["message"] for e in body["errors"])
    text = str(body)
    for candidate in expected.values():
        assert str(candidate.national_identifier) not in text
        assert str(candidate.date_of_birth) not in text


async def test_a_cached_pii_answer_is_never_served_to_a_key_without_pii(
    api: Api, sandbox: Sandbox
) -> None:
    await index_unified(sandbox, api, count=2)
    query = "{ candidates(first: 10) { edges { node { emails nationalIdentifier } } } }"
    # given a pii key's answer in the cache
    assert (await post(api, query, KEYS["acme"]))[1] == "miss"
    status, state, with_pii = await post(api, query, KEYS["acme"])
    assert (status, state) == (200, "hit")
    assert all(e["node"]["nationalIdentifier"] for e in with_pii["data"]["candidates"]["edges"])
    # when a key of the same tenant without pii sends the same document
    status, state, body = await post(api, query, NO_PII_KEY)
    # then it is executed for that key, not answered from the pii entry
    assert state == "miss"
    assert {e["extensions"]["requiredScope"] for e in body["errors"]} == {"pii"}
    assert all(e["node"]["nationalIdentifier"] is None for e in body["data"]["candidates"]["edges"])


def _order_with_birth_date(remote_id: str) -> Order:
    order = unified_order(remote_id, created_at=T0)
    assert order.candidate is not None
    candidate = order.candidate.model_copy(update={"date_of_birth": "1990-04-01"})
    return order.model_copy(update={"candidate": candidate})


async def _subscribers(api: Api, count: int) -> None:
    """Wait until exactly ``count`` subscriptions tail the log."""
    for _ in range(500):
        if api.services.hubs.subscriber_count() == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{api.services.hubs.subscriber_count()} subscribers, wanted {count}")


async def test_subscription_events_hide_pii_without_the_scope(api: Api) -> None:
    subscription = "subscription { orderEvents { order { candidate { emails dateOfBirth } } } }"
    answers: dict[str, Any] = {}
    for name, key in (("pii", KEYS["acme"]), ("no-pii", NO_PII_KEY)):
        # given a subscriber with this key
        async with connect(api.session, api.url) as client:
            await client.init({"authorization": f"Bearer {key}"})
            await client.subscribe("1", subscription)
            await _subscribers(api, 1)
            # when an order whose candidate has a birth date arrives
            await deliver_unified(api, "acme-unified", [_order_with_birth_date(f"pii-{name}")])
            answers[name] = (await client.message("1"))["payload"]
        await _subscribers(api, 0)
    # then the pii key's event carries it, the other key's has null and an error there
    assert answers["pii"] == {
        "data": {"orderEvents": {"order": {"candidate": {
            "emails": ["pii-pii@example.com"], "dateOfBirth": "1990-04-01"
        }}}}
    }  # fmt: skip
    hidden = answers["no-pii"]
    assert hidden["data"]["orderEvents"]["order"]["candidate"] == {
        "emails": ["pii-no-pii@example.com"],
        "dateOfBirth": None,
    }
    assert error_codes(hidden) == ["FORBIDDEN"]
    assert hidden["errors"][0]["path"] == ["orderEvents", "order", "candidate", "dateOfBirth"]
    assert hidden["errors"][0]["extensions"]["requiredScope"] == "pii"


# --- mutation payloads without read ------------------------------------------------------

_USER_ERRORS = "errors { code message field }"


async def _write_only(
    api: Api,
    field: str,
    selection: str,
    variables: dict[str, Any],
    argument: str = "input",
    fragments: str = "",
) -> tuple[int, Any]:
    kind = {"input": None, "ids": "[ID!]!"}.get(argument)
    input_type = (
        kind
        or {
            "submitResult": "SubmitResultInput!",
            "createOrder": "CreateOrderInput!",
            "publishPackages": "PublishPackagesInput!",
        }[field]
    )
    document = (
        f"mutation M(${argument}: {input_type}) {{ {field}({argument}: ${argument}) "
        f"{{ {selection} }} }} {fragments}"
    )
    status, _, body = await post(api, document, WRITE_ONLY_KEY, variables)
    return status, body


async def _refused_before_running(
    api: Api, sandbox: Sandbox, field: str, selection: str, variables: dict[str, Any], **kw: Any
) -> None:
    before = (await sandbox.stats())["total"]
    _, body = await _write_only(api, field, selection, variables, **kw)
    assert "data" not in body, body
    assert [e["extensions"] for e in body["errors"]] == [forbidden("read")], body
    assert "order data in a mutation payload" in body["errors"][0]["message"]
    assert (await sandbox.stats())["total"] == before  # nothing was sent to a provider


async def test_a_write_only_key_sees_ids_and_errors_of_every_mutation_payload(
    api: Api, sandbox: Sandbox
) -> None:
    # given an indexed Unified order, a StackOne package and a Kombo connection
    [remote_id] = await index_unified(sandbox, api, count=1)
    order_id = gid("Order", f"acme-unified:{remote_id}")
    package = await offered_package(api, "acme-stackone")
    new_order = {"input": new_order_input("acme-stackone", package)}
    result = {"input": result_input(order_id)}
    packages = {
        "input": {
            "connectionId": connection_gid("acme-kombo"),
            "packages": [{"remoteId": "og-wo", "name": "Write only", "type": "SKILLS_TEST"}],
        }
    }

    # when a write-only key selects what it may: ids, errors and warnings
    status, body = await _write_only(
        api, "refreshOrders", f"__typename orders {{ id __typename }} {_USER_ERRORS}",
        {"ids": [order_id]}, argument="ids",
    )  # fmt: skip
    # then each mutation runs and answers them
    assert status == 200
    assert body == {"data": {"refreshOrders": {
        "__typename": "RefreshOrdersPayload",
        "orders": [{"id": order_id, "__typename": "Order"}], "errors": [],
    }}}  # fmt: skip
    _, body = await _write_only(api, "submitResult", f"order {{ id }} {_USER_ERRORS}", result)
    assert body == {"data": {"submitResult": {"order": {"id": order_id}, "errors": []}}}, body
    _, body = await _write_only(api, "createOrder", f"order {{ id }} {_USER_ERRORS}", new_order)
    created = body["data"]["createOrder"]
    assert created["errors"] == [], body
    assert created["order"]["id"], body
    _, body = await _write_only(
        api, "publishPackages", f"packages {{ id }} warnings {_USER_ERRORS}", packages
    )
    published = body["data"]["publishPackages"]
    assert published["errors"] == [], body
    assert [p["id"] for p in published["packages"]], body
    # and user errors are shown whole
    _, body = await _write_only(
        api, "refreshOrders", f"orders {{ id }} {_USER_ERRORS}",
        {"ids": [gid("Order", "acme-unified:no-such-order")]}, argument="ids",
    )  # fmt: skip
    assert [e["code"] for e in body["data"]["refreshOrders"]["errors"]] == ["NOT_FOUND"], body


async def test_a_write_only_key_cannot_read_orders_through_a_mutation_payload(
    api: Api, sandbox: Sandbox
) -> None:
    [remote_id] = await index_unified(sandbox, api, count=1)
    order_id = gid("Order", f"acme-unified:{remote_id}")
    package = await offered_package(api, "acme-stackone")
    # the attacker's request, and every payload's order data, directly, through an
    # inline fragment and through a (nested) named fragment
    await _refused_before_running(
        api, sandbox, "refreshOrders", "orders { id candidate { name emails } }",
        {"ids": [order_id]}, argument="ids",
    )  # fmt: skip
    await _refused_before_running(
        api, sandbox, "submitResult", "order { ... on Order { status } } errors { code }",
        {"input": result_input(order_id)},
    )  # fmt: skip
    await _refused_before_running(
        api, sandbox, "createOrder", "order { ...Outer } errors { code }",
        {"input": new_order_input("acme-stackone", package)},
        fragments="fragment Outer on Order { id ...Inner } fragment Inner on Order { remoteId }",
    )  # fmt: skip
    await _refused_before_running(
        api, sandbox, "publishPackages", "packages { id name } errors { code }",
        {"input": {"connectionId": connection_gid("acme-kombo"), "packages": []}},
    )  # fmt: skip
    # a key with read as well sees the order data
    status, _, body = await post(
        api, "mutation M($ids: [ID!]!) { refreshOrders(ids: $ids) { orders { status } } }",
        NO_PII_KEY, {"ids": [order_id]},
    )  # fmt: skip
    assert status == 200
    assert body["data"]["refreshOrders"]["orders"][0]["status"], body


def test_the_payload_check_walks_each_fragment_once() -> None:
    # given fragments that spread each other 2**30 times if walked once per spread
    levels = 30
    fragments = [
        f"fragment F{n} on Order {{ id ...F{n + 1} ...F{n + 1} }}" for n in range(levels)
    ] + [f"fragment F{levels} on Order {{ id status }}"]
    document = parse(
        "mutation { refreshOrders(ids: []) { orders { ...F0 } } }\n" + "\n".join(fragments)
    )
    # then the walk ends at once and names the one field that needs read
    assert payload_fields_needing_read(schema._schema, document, None) == ["Order.status"]
