"""Signed node ids through the gateway: every id it hands out is signed and round-trips,
forged ids find nothing, unsigned (legacy) ids resolve only for entities indexed before
signing began, and no id carries an email."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from strawberry import relay

from ordergraph.ids import NodeIdCodec
from ordergraph.settings import IdSettings
from ordergraph.store.tables import node_id_signing
from tests.api.conftest import CURSOR_SECRET, Api
from tests.api.helpers import error_codes, fill_index, gid, legacy_gid
from tests.api.mutation_support import REFRESH_ORDERS
from tests.conftest import Sandbox

EVERY_NODE = """
{ orders(first: 100) { edges { node {
    id remoteId
    candidate { id emails }
    job { id }
    package { id }
    connection { id }
} } } }
"""

# The codec of the test gateway (its store secret), to read the ids it hands out.
GATEWAY_IDS = NodeIdCodec(CURSOR_SECRET)

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


async def _orders(api: Api) -> list[dict[str, Any]]:
    body = await api.query(EVERY_NODE)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["orders"]["edges"]]


def _ids_of_each_type(orders: list[dict[str, Any]]) -> dict[str, str]:
    """One id of every Node type, read from the orders (with a candidate and a job)."""
    order = next(o for o in orders if o["candidate"] and o["job"] and o["package"])
    return {
        "Order": order["id"],
        "Candidate": order["candidate"]["id"],
        "Job": order["job"]["id"],
        "Package": order["package"]["id"],
        "ProviderConnection": order["connection"]["id"],
    }


def _unsigned(global_id: str) -> str:
    """The legacy id of the same entity: its key without signature (and email unsealed)."""
    parsed = relay.GlobalID.from_id(global_id)
    decoded = GATEWAY_IDS.decode(parsed.type_name, parsed.node_id)
    assert decoded is not None
    assert not decoded.legacy
    return legacy_gid(parsed.type_name, decoded.key)


async def _backdate_signing(api: Api) -> None:
    """As if this store began signing after everything it holds was indexed."""
    async with api.services.store.engine.begin() as conn:
        await conn.execute(
            sa.update(node_id_signing).values(since=datetime.now(UTC) + timedelta(days=1))
        )


async def test_every_id_handed_out_is_signed_and_round_trips(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)
    ids = _ids_of_each_type(await _orders(api))
    for type_name, global_id in ids.items():
        parsed = relay.GlobalID.from_id(global_id)
        assert parsed.type_name == type_name
        decoded = GATEWAY_IDS.decode(type_name, parsed.node_id)
        assert decoded is not None, type_name
        assert not decoded.legacy, type_name
        # the id the test helpers make is the one the gateway hands out
        assert gid(type_name, decoded.key) == global_id
    body = await api.query(NODES, {"ids": list(ids.values())})
    assert "errors" not in body, body
    assert [(n["__typename"], n["id"]) for n in body["data"]["nodes"]] == list(ids.items())


def _flip_mac(global_id: str) -> str:
    parsed = relay.GlobalID.from_id(global_id)
    node_id = parsed.node_id
    flipped = node_id[:5] + ("A" if node_id[5] != "A" else "B") + node_id[6:]
    return str(relay.GlobalID(parsed.type_name, flipped))


def _other_secret(global_id: str) -> str:
    parsed = relay.GlobalID.from_id(global_id)
    key = GATEWAY_IDS.decode(parsed.type_name, parsed.node_id)
    assert key is not None
    other = NodeIdCodec("not-this-gateways-secret")
    return str(relay.GlobalID(parsed.type_name, other.encode(parsed.type_name, key.key)))


async def test_forged_ids_find_nothing(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)
    ids = _ids_of_each_type(await _orders(api))
    # Orders, candidates and jobs indexed after signing began: their unsigned ids are
    # exactly what a guesser would write, and find nothing.
    forged = [
        *(_flip_mac(i) for i in ids.values()),
        *(_other_secret(i) for i in ids.values()),
        *(_unsigned(ids[t]) for t in ("Order", "Candidate", "Job")),
    ]
    body = await api.query(NODES, {"ids": forged})
    assert body["data"]["nodes"] == [None] * len(forged)
    # the same answer as an id of nothing: NOT_FOUND, per id
    assert set(error_codes(body)) == {"NOT_FOUND"}
    assert len(body["errors"]) == len(forged)

    # order(id:) finds nothing; refreshOrders and packages(connectionId:) say NOT_FOUND
    one = await api.query("query($id: ID!) { order(id: $id) { id } }", {"id": forged[0]})
    assert one == {"data": {"order": None}}
    refresh = await api.query(REFRESH_ORDERS, {"ids": [_flip_mac(ids["Order"])]})
    assert [e["code"] for e in refresh["data"]["refreshOrders"]["errors"]] == ["NOT_FOUND"]
    packages = await api.query(
        "query($c: ID!) { packages(connectionId: $c) { remoteId } }",
        {"c": _other_secret(ids["ProviderConnection"])},
    )
    assert error_codes(packages) == ["NOT_FOUND"]
    # a filter narrows: a forged connection id matches nothing (never everything)
    filtered = await api.query(
        "query($c: [ID!]) { orders(first: 5, filter: {connectionIds: $c}) { totalCount } }",
        {"c": [_flip_mac(ids["ProviderConnection"])]},
    )
    assert filtered == {"data": {"orders": {"totalCount": 0}}}


async def test_legacy_ids_of_entities_indexed_before_signing_resolve(
    api: Api, sandbox: Sandbox
) -> None:
    await fill_index(api, sandbox)
    ids = _ids_of_each_type(await _orders(api))
    await _backdate_signing(api)
    legacy = [_unsigned(i) for i in ids.values()]
    body = await api.query(NODES, {"ids": legacy})
    assert "errors" not in body, body
    # found, and answered with their signed ids
    assert [(n["__typename"], n["id"]) for n in body["data"]["nodes"]] == list(ids.items())
    # a mutation takes them too
    refresh = await api.query(REFRESH_ORDERS, {"ids": [legacy[0]]})
    assert refresh["data"]["refreshOrders"]["errors"] == []
    assert [o["id"] for o in refresh["data"]["refreshOrders"]["orders"]] == [ids["Order"]]

    # and with [ids] accept_legacy = false, none of them resolves any more
    settings = api.services.settings
    api.services.settings = settings.model_copy(update={"ids": IdSettings(accept_legacy=False)})
    refused = await api.query(NODES, {"ids": legacy})
    assert refused["data"]["nodes"] == [None] * len(legacy)
    signed = await api.query(NODES, {"ids": list(ids.values())})
    assert "errors" not in signed, signed


async def test_no_id_in_a_response_carries_an_email(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)
    orders = await _orders(api)
    body = await api.query("{ candidates(first: 100) { edges { node { id emails } } } }")
    candidates = [edge["node"] for edge in body["data"]["candidates"]["edges"]]
    emails = {e.lower() for o in orders if o["candidate"] for e in o["candidate"]["emails"]}
    assert emails
    ids = [c["id"] for c in candidates] + [o["candidate"]["id"] for o in orders if o["candidate"]]
    for global_id in ids:
        decoded = base64.b64decode(global_id).decode().lower()
        assert "@" not in decoded, decoded
        assert not any(email.split("@")[0] in decoded for email in emails), decoded
