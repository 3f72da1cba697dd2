"""Tenant isolation on every root query field: acme's key never reaches globex's orders,
candidates, jobs, packages or connections; a missing or unknown key reaches nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ordergraph.sandbox.core import SandboxContext
from tests.api.conftest import Api
from tests.api.helpers import deliver_unified, error_codes, fill_index, gid, unified_order
from tests.conftest import Sandbox

SHARED_EMAIL = "shared.person@example.com"

# Everything globex can see, with the ids of every node type.
INVENTORY = """
{
  orders(first: 100) {
    totalCount
    edges { node {
      id remoteId
      candidate { id emails }
      job { id }
      package { id }
      connection { id }
    } }
  }
  candidates(first: 100) { totalCount edges { cursor node { id emails } } }
  connections { id }
}
"""

NODE = """
query($id: ID!) {
  node(id: $id) { __typename id }
  order(id: $id) { id }
}
"""


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=7, orders_per_account=12)


async def _inventory(api: Api, tenant: str) -> dict[str, Any]:
    body = await api.query(INVENTORY, tenant=tenant)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def _fill_with_a_shared_candidate(api: Api, sandbox: Sandbox) -> None:
    """Both tenants indexed, and one person (same email) ordered by both."""
    await fill_index(api, sandbox)
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    for tenant in ("acme", "globex"):
        await deliver_unified(
            api,
            f"{tenant}-unified",
            [unified_order(f"shared-{tenant}", created_at=moment, email=SHARED_EMAIL)],
        )


def _ids(inventory: dict[str, Any]) -> dict[str, set[str]]:
    """Every global id in an inventory, by node type."""
    nodes = [edge["node"] for edge in inventory["orders"]["edges"]]
    return {
        "Order": {n["id"] for n in nodes},
        "Candidate": {n["candidate"]["id"] for n in nodes}
        | {e["node"]["id"] for e in inventory["candidates"]["edges"]},
        "Job": {n["job"]["id"] for n in nodes if n["job"]},
        "Package": {n["package"]["id"] for n in nodes if n["package"]},
        "ProviderConnection": {c["id"] for c in inventory["connections"]},
    }


async def test_acme_never_sees_globex_objects_by_id(api: Api, sandbox: Sandbox) -> None:
    # given both tenants indexed, and globex's ids of every node type
    await _fill_with_a_shared_candidate(api, sandbox)
    acme = _ids(await _inventory(api, "acme"))
    globex = _ids(await _inventory(api, "globex"))
    # the shared person is the one id both tenants have (one candidate per email)
    shared = gid("Candidate", f"e:{SHARED_EMAIL}")
    assert acme["Candidate"] & globex["Candidate"] == {shared}
    for type_name, ids in globex.items():
        assert ids, type_name
        foreign = sorted(ids - acme[type_name])
        assert foreign, type_name

        # when acme asks for globex's ids one by one, then each is simply not found
        for global_id in foreign:
            body = await api.query(NODE, {"id": global_id})
            if type_name == "Order":
                assert body == {"data": {"node": None, "order": None}}, body
            else:
                # order(id:) refuses ids of other types; node(id:) finds nothing
                assert body["data"]["node"] is None
                assert error_codes(body) == ["INVALID_ID"]

        # and all at once through nodes(ids:), all null, each NOT_FOUND at its own index
        # (as a missing id is: nothing tells that globex holds them)
        body = await api.query("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": foreign})
        assert body["data"] == {"nodes": [None] * len(foreign)}, body
        assert sorted(e["path"] for e in body["errors"]) == [
            ["nodes", i] for i in range(len(foreign))
        ]
        assert set(error_codes(body)) == {"NOT_FOUND"}


async def test_a_shared_candidate_shows_each_tenant_only_its_own_orders(
    api: Api, sandbox: Sandbox
) -> None:
    # given one person ordered by both tenants
    await _fill_with_a_shared_candidate(api, sandbox)
    query = """query($id: ID!) { node(id: $id) { ... on Candidate {
        emails orders { totalCount edges { node { id connection { id } } } } } } }"""
    for tenant in ("acme", "globex"):
        # when each tenant reads the candidate
        body = await api.query(query, {"id": gid("Candidate", f"e:{SHARED_EMAIL}")}, tenant=tenant)
        # then it sees exactly its own order of that person
        orders = body["data"]["node"]["orders"]
        assert orders["totalCount"] == 1
        assert [e["node"]["id"] for e in orders["edges"]] == [
            gid("Order", f"{tenant}-unified:shared-{tenant}")
        ]


async def test_listings_hold_only_the_callers_objects(api: Api, sandbox: Sandbox) -> None:
    # given both tenants indexed
    counts = await fill_index(api, sandbox)
    for tenant in ("acme", "globex"):
        # when a tenant lists orders, candidates and connections
        inventory = await _inventory(api, tenant)
        own = {f"{tenant}-{p}" for p in ("unified", "stackone", "kombo")}
        # then only its own connections and their orders appear, all of them
        connections = {c["id"] for c in inventory["connections"]}
        assert connections == {gid("ProviderConnection", c) for c in own}
        nodes = [edge["node"] for edge in inventory["orders"]["edges"]]
        assert {n["connection"]["id"] for n in nodes} == connections
        assert inventory["orders"]["totalCount"] == sum(counts[c] for c in own) == len(nodes)
        own_emails = {n["candidate"]["emails"][0].lower() for n in nodes}
        listed = {e["node"]["emails"][0].lower() for e in inventory["candidates"]["edges"]}
        assert listed == own_emails
        assert inventory["candidates"]["totalCount"] == len(own_emails)


async def test_packages_of_another_tenants_connection_are_not_found(api: Api) -> None:
    query = "query($c: ID!) { packages(connectionId: $c) { id name } }"
    # when acme asks for the packages of globex's connection (and of no connection)
    for connection_id in ("globex-kombo", "globex-unified", "nobody-kombo"):
        body = await api.query(query, {"c": gid("ProviderConnection", connection_id)})
        # then it is NOT_FOUND, as for a connection that does not exist
        assert error_codes(body) == ["NOT_FOUND"], body
        assert body["data"] is None
    # while its own connection's packages are listed
    own = await api.query(query, {"c": gid("ProviderConnection", "acme-kombo")})
    assert "errors" not in own
    assert len(own["data"]["packages"]) == 7


ROOT_FIELDS = {
    "orders": "{ orders(first: 5) { totalCount edges { node { id } } } }",
    "order": f'{{ order(id: "{gid("Order", "acme-unified:x")}") {{ id }} }}',
    "node": f'{{ node(id: "{gid("ProviderConnection", "acme-kombo")}") {{ id }} }}',
    "nodes": f'{{ nodes(ids: ["{gid("ProviderConnection", "acme-kombo")}"]) {{ id }} }}',
    "candidates": "{ candidates(first: 5) { totalCount edges { node { id } } } }",
    "packages": (
        f'{{ packages(connectionId: "{gid("ProviderConnection", "acme-kombo")}") {{ id }} }}'
    ),
    "connections": "{ connections { id account } }",
}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-key", "Basic a2V5LWFjbWU6", "Bearer ", "key-acme"],
    ids=["none", "unknown", "basic", "empty", "no-scheme"],
)
async def test_without_a_valid_key_no_root_field_answers(
    api: Api, authorization: str | None
) -> None:
    # given acme's index holds an order
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    await deliver_unified(api, "acme-unified", [unified_order("secret-1", created_at=moment)])
    headers = {"Authorization": authorization} if authorization is not None else {}
    for field, document in ROOT_FIELDS.items():
        # when the field is asked for without a valid key
        body = await api.query(document, tenant=None, headers=headers)
        # then the only answer is UNAUTHENTICATED, with no data at all
        assert error_codes(body) == ["UNAUTHENTICATED"], (field, body)
        assert body.get("data") is None, field
        text = json.dumps(body)
        assert "secret-1" not in text
        assert "acme" not in text
