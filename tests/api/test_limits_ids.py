"""Ids in the estimate: decoded as the resolvers decode them, refused (``INVALID_ID``)
when they cannot be, and counted per request across aliases and lists (``TOO_MANY_IDS``).

The attack: ids with a character outside base64's alphabet cost 0 in the estimate
(strict decoding failed), yet the resolver decoded them leniently and called the
provider: 5 aliases x 60 such ids made 300 upstream calls under ``max_cost`` 200.
"""

from __future__ import annotations

import pytest
from graphql import parse
from strawberry.relay import GlobalID

from ordergraph.schema import schema
from ordergraph.schema.cost import decode_global_id, plan_cost
from tests.api import test_limits
from tests.api.helpers import gid
from tests.api.test_limits import ACME_PROVIDERS, GatewayFactory, order_ids

# test_limits' gateway fixture (store statements and provider calls counted), by name.
make_gateway = test_limits.make_gateway

DEFAULTS = {"max_cost": 200, "max_node_ids": 250, "max_aliases": 80, "max_tokens": 5000}


def lenient(global_id: str) -> str:
    """The same id with a character base64's alphabet lacks: Strawberry's decoding
    skips it, a strict decoder refuses it."""
    return global_id[:4] + "!" + global_id[4:]


def aliased(field: str, count: int, arguments: str, selection: str) -> str:
    return " ".join(f"a{n}: {field}({arguments}) {selection}" for n in range(count))


def test_the_estimate_decodes_ids_as_the_resolvers_do() -> None:
    [order] = order_ids("acme-unified", 1)
    decoded = decode_global_id(lenient(order))
    assert decoded is not None
    signed = GlobalID.from_id(order)
    assert (decoded.type_name, decoded.node_id) == ("Order", signed.node_id)
    assert decode_global_id("not base64 at all") is None
    assert decode_global_id(12) is None  # "12" does not decode either
    ids = [lenient(i) for i in order_ids("acme-unified", 60)]
    document = (
        "mutation R($ids: [ID!]!) { "
        + aliased("refreshOrders", 5, "ids: $ids", "{ errors { code } }")
        + " }"
    )
    plan = plan_cost(schema._schema, parse(document))
    assert plan is not None
    assert plan.cost({"ids": ids}, ACME_PROVIDERS) == 300


async def test_lenient_ids_are_priced_and_refused_before_any_call(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(**DEFAULTS)
    ids = [lenient(i) for i in order_ids("acme-unified", 60)]
    document = (
        "mutation R($ids: [ID!]!) { "
        + aliased("refreshOrders", 5, "ids: $ids", "{ errors { code } }")
        + " }"
    )
    async with gateway.untouched():
        status, body = await gateway.post(document, {"ids": ids})
    assert status == 400, body
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert "QUERY_TOO_COSTLY" in codes, body
    costly = next(e for e in body["errors"] if e["extensions"]["code"] == "QUERY_TOO_COSTLY")
    assert costly["extensions"]["cost"] == 300


async def test_a_refresh_id_that_does_not_decode_is_refused_before_anything_runs(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(**DEFAULTS)
    document = "mutation R($ids: [ID!]!) { refreshOrders(ids: $ids) { errors { code } } }"
    good = order_ids("acme-unified", 1)[0]
    async with gateway.untouched():
        status, body = await gateway.post(document, {"ids": [good, "%%% not an id"]})
    assert status == 400, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_ID"
    assert error["extensions"]["index"] == 1
    assert "%%%" not in error["message"]  # what the client sent is not echoed


@pytest.mark.parametrize(
    "document",
    [
        "query N($id: ID!) { nodes(ids: [$id]) { id } }",
        "query N($id: ID!) { node(id: $id) { id } }",
        "query O($id: ID!) { order(id: $id) { id } }",
    ],
)
async def test_a_lookup_id_that_does_not_decode_is_answered_where_it_stands(
    make_gateway: GatewayFactory, document: str
) -> None:
    # No provider call hangs on one id there: the resolvers answer INVALID_ID for it
    # (nodes answering every other id), as before the estimate read ids.
    gateway = await make_gateway(**DEFAULTS)
    calls = (await gateway.sandbox.stats())["total"]
    status, body = await gateway.post(document, {"id": "%%% not an id"})
    assert status == 200, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_ID"]
    assert (await gateway.sandbox.stats())["total"] == calls


async def test_ids_are_counted_per_request_across_aliases(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(**DEFAULTS)
    ids = order_ids("acme-unified", 250)
    document = "query N($ids: [ID!]!) { " + aliased("nodes", 30, "ids: $ids", "{ id }") + " }"
    async with gateway.untouched():
        status, body = await gateway.post(document, {"ids": ids})
    assert status == 400, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_IDS", "maxIds": 250, "count": 7500}
    # Literal lists, single ids and refreshes count together.
    literal = ", ".join(f'"{i}"' for i in ids[:100])
    document = (
        f"query {{ a: nodes(ids: [{literal}]) {{ id }} b: nodes(ids: [{literal}]) {{ id }} "
        f'c: node(id: "{ids[0]}") {{ id }} }}'
    )
    status, body = await gateway.post(document)
    assert status == 200, body
    assert len(body["data"]["a"]) == 100
    document = document.replace("c: node", f'd: order(id: "{ids[1]}") {{ id }} c: node')
    extra = " ".join(f'x{n}: node(id: "{ids[n]}") {{ id }}' for n in range(49))
    status, body = await gateway.post(document.replace("c: node", extra + " c: node"))
    assert status == 400, body
    assert body["errors"][0]["extensions"]["count"] == 251


async def test_a_fragment_spread_twice_counts_its_ids_once(make_gateway: GatewayFactory) -> None:
    # GraphQL merges a field spread twice into one execution: one lookup of its ids.
    gateway = await make_gateway(**{**DEFAULTS, "max_node_ids": 3})
    ids = [gid("Order", f"acme-unified:order-{n}") for n in range(3)]
    document = """
    query N($ids: [ID!]!) { ...Q ...Q }
    fragment Q on Query { nodes(ids: $ids) { id } }
    """
    status, body = await gateway.post(document, {"ids": ids})
    assert status == 200, body
