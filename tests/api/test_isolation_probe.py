"""Isolation probe: every root field, node type, mutation and subscription, called with
another tenant's ids (and without a valid key), returns nothing of that tenant and
changes nothing.

The probes are listed per root field; the schema itself is the checklist: a root field
or node type added without a probe here fails ``test_every_root_field_and_node_type_has_a_probe``.

"Nothing returned": no string that only globex knows (its order ids, remote ids,
accounts, candidate emails, job and package ids) appears in acme's answer unless acme
sent it itself. "Nothing changed": globex's inventory and event log, the sandbox's
ground truth of globex's accounts and the sandbox's request counts are the same after
the probes as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLInterfaceType, GraphQLObjectType
from strawberry import relay

from ordergraph.sandbox.core import SandboxContext
from ordergraph.schema import schema
from tests.api.conftest import KEYS, Api
from tests.api.helpers import deliver_unified, fill_index, gid, unified_order
from tests.api.mutation_support import CREATE_ORDER
from tests.api.ws_client import connect
from tests.conftest import Sandbox

SHARED_EMAIL = "shared.person@example.com"
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

# Everything a tenant can see, with ids of every node type and everything identifying.
INVENTORY = """
{
  orders(first: 100) {
    totalCount
    edges { node {
      id remoteId status updatedAt
      candidate { id emails }
      job { id remoteId }
      package { id remoteId }
      connection { id account }
      result { status score }
      events { edges { cursor node { newStatus } } }
    } }
  }
  candidates(first: 100) { totalCount edges { node { id emails } } }
  connections { id account }
}
"""


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=11, orders_per_account=6)


@dataclass
class Foreign:
    """Globex's ids, and the strings only globex may ever see."""

    ids: dict[str, list[str]]  # node type -> global ids acme does not share
    orders: list[dict[str, Any]]  # globex order nodes (as the inventory reads them)
    cursor: str  # one of globex's event cursors
    secrets: set[str]  # strings no acme answer may hold unless acme sent them
    accounts: dict[str, str] = dataclasses.field(
        default_factory=dict
    )  # provider -> globex's account


async def _inventory(api: Api, tenant: str) -> dict[str, Any]:
    body = await api.query(INVENTORY, tenant=tenant)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _ids(inventory: dict[str, Any]) -> dict[str, set[str]]:
    nodes = [edge["node"] for edge in inventory["orders"]["edges"]]
    return {
        "Order": {n["id"] for n in nodes},
        "Candidate": {n["candidate"]["id"] for n in nodes if n["candidate"]}
        | {e["node"]["id"] for e in inventory["candidates"]["edges"]},
        "Job": {n["job"]["id"] for n in nodes if n["job"]},
        "Package": {n["package"]["id"] for n in nodes if n["package"]},
        "ProviderConnection": {c["id"] for c in inventory["connections"]},
    }


def _strings(inventory: dict[str, Any]) -> set[str]:
    """Identifying strings of an inventory: ids, remote ids, accounts, emails."""
    found: set[str] = set()
    for type_ids in _ids(inventory).values():
        found |= type_ids
    for edge in inventory["orders"]["edges"]:
        node = edge["node"]
        found.add(node["remoteId"])
        found.add(node["connection"]["account"])
        found |= {e.lower() for e in (node["candidate"] or {}).get("emails", [])}
        found |= {e["cursor"] for e in node["events"]["edges"]}
        if node["job"] and node["job"]["remoteId"]:
            found.add(node["job"]["remoteId"])
    for connection in inventory["connections"]:
        found.add(connection["account"])
    return found


async def _prepare(api: Api, sandbox: Sandbox) -> Foreign:
    """Both tenants indexed, one person ordered by both, globex used an idempotency key."""
    await fill_index(api, sandbox)
    for tenant in ("acme", "globex"):
        await deliver_unified(
            api,
            f"{tenant}-unified",
            [unified_order(f"shared-{tenant}", created_at=T0, email=SHARED_EMAIL)],
        )
    acme, globex = await _inventory(api, "acme"), await _inventory(api, "globex")
    acme_ids, globex_ids = _ids(acme), _ids(globex)
    # The one id both tenants hold: the shared person (one candidate per email).
    assert acme_ids["Candidate"] & globex_ids["Candidate"] == {
        gid("Candidate", f"e:{SHARED_EMAIL}")
    }
    secrets = _strings(globex) - _strings(acme)
    secrets |= {f"globex-{p}" for p in ("unified", "stackone", "kombo")}
    cursors = [
        e["cursor"] for edge in globex["orders"]["edges"] for e in edge["node"]["events"]["edges"]
    ]
    accounts = {}
    for provider in ("unified", "stackone", "kombo"):
        live = api.services.connections.get(f"globex-{provider}")
        assert live is not None
        accounts[provider] = live.settings.account
    return Foreign(
        ids={t: sorted(ids - acme_ids[t]) for t, ids in globex_ids.items()},
        orders=[edge["node"] for edge in globex["orders"]["edges"]],
        cursor=cursors[-1],
        secrets=secrets,
        accounts=accounts,
    )


def _decoded(values: Iterable[Any]) -> set[str]:
    """Every string in ``values``, and the node key inside each that is a global id."""
    found: set[str] = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            found.add(value)
            # not a global id: the string alone
            with contextlib.suppress(ValueError):
                found.add(relay.GlobalID.from_id(value).node_id)
    return found


def assert_nothing_of(foreign: Foreign, body: Any, sent: dict[str, Any], probe: str) -> None:
    """No globex string in ``body`` beyond what acme sent (an error may echo its input);
    and nothing globex's at all under ``data``."""
    echoed = _decoded([sent])
    text = json.dumps(body)
    leaked = {s for s in foreign.secrets if s in text and not any(s in e for e in echoed)}
    assert not leaked, (probe, leaked, body)
    data = json.dumps(body.get("data"))
    assert not {s for s in foreign.secrets if s in data and s not in echoed}, (probe, body)


# --- the probes: one or more per root field ------------------------------------------------

# What identifies a node of each type, so a node that resolves would show what it holds.
NODE = """
fragment Probe on Node {
  __typename id
  ... on Order { remoteId connection { account } candidate { emails } }
  ... on Candidate { emails orders { totalCount } }
  ... on Job { jobRemoteId: remoteId }
  ... on Package { packageRemoteId: remoteId name }
  ... on ProviderConnection { account }
}
"""


def query_probes(foreign: Foreign) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Per root Query field: (document, variables) that ask with globex's ids."""
    order = foreign.ids["Order"][0]
    connection = gid("ProviderConnection", "globex-kombo")
    email = next(s for s in foreign.secrets if "@" in s)
    job_remote = next(
        o["job"]["remoteId"] for o in foreign.orders if o["job"] and o["job"]["remoteId"]
    )
    package = foreign.ids["Package"][0]
    every = [i for ids in foreign.ids.values() for i in ids]
    orders_doc = """query($f: OrderFilter) { orders(first: 50, filter: $f) {
        totalCount edges { node { id remoteId connection { id account } } } } }"""
    return {
        "node": [
            ("query($id: ID!) { node(id: $id) { ...Probe } }" + NODE, {"id": i}) for i in every
        ],
        "nodes": [("query($ids: [ID!]!) { nodes(ids: $ids) { ...Probe } }" + NODE, {"ids": every})],
        "order": [
            (
                """query($id: ID!) { order(id: $id) { id remoteId candidate { emails }
                events { edges { cursor } } } }""",
                {"id": order},
            )
        ],
        "orders": [
            (orders_doc, {"f": {"connectionIds": [connection]}}),
            (orders_doc, {"f": {"candidateEmail": email}}),
            (orders_doc, {"f": {"jobRemoteId": job_remote}}),
            (orders_doc, {"f": {"packageId": package}}),
            (orders_doc, {"f": {"search": email}}),
            (orders_doc, {"f": {"search": "globex"}}),
        ],
        "candidates": [
            (
                """query($s: String) { candidates(first: 50, search: $s) {
                totalCount edges { node { id emails orders { totalCount
                edges { node { id connection { id } } } } } } } }""",
                {"s": s},
            )
            for s in (email, SHARED_EMAIL, None)
        ],
        "packages": [
            (
                "query($c: ID!) { packages(connectionId: $c) { id remoteId name } }",
                {"c": gid("ProviderConnection", f"globex-{p}")},
            )
            for p in ("unified", "stackone", "kombo")
        ],
        "connections": [("{ connections { id account provider } }", {})],
        # the caller's own tenant and scopes, whatever ids it holds
        "viewer": [("{ viewer { tenant scopes } }", {})],
    }


def mutation_probes(foreign: Foreign) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Per root Mutation field: writes aimed at globex's orders and connections."""
    payload = "errors { code message field }"
    submit = f"""mutation($input: SubmitResultInput!) {{
        submitResult(input: $input) {{ order {{ id status }} {payload} }} }}"""
    publish = f"""mutation($input: PublishPackagesInput!) {{
        publishPackages(input: $input) {{ packages {{ id remoteId }} {payload} }} }}"""
    refresh = f"""mutation($ids: [ID!]!) {{
        refreshOrders(ids: $ids) {{ orders {{ id status }} {payload} }} }}"""
    return {
        "submitResult": [
            (
                submit,
                {
                    "input": {
                        "orderId": order_id,
                        "status": "COMPLETED",
                        "url": "https://assess.example.com/r/probe",
                        "score": 1,
                    }
                },
            )
            for order_id in foreign.ids["Order"][:3]
        ],
        "createOrder": [
            # the very request globex made, with globex's idempotency key: no replay
            (CREATE_ORDER, _globex_create_order()),
        ]
        + [
            (
                CREATE_ORDER,
                {
                    "input": {
                        "connectionId": gid("ProviderConnection", f"globex-{p}"),
                        "packageId": "pkg_001",
                        "candidate": {"firstName": "Probe", "emails": ["probe@example.com"]},
                    }
                },
            )
            for p in ("unified", "stackone", "kombo")
        ],
        "publishPackages": [
            (
                publish,
                {
                    "input": {
                        "connectionId": gid("ProviderConnection", f"globex-{p}"),
                        "packages": [
                            {"remoteId": "probe-pkg", "name": "Probe", "type": "SKILLS_TEST"}
                        ],
                    }
                },
            )
            for p in ("unified", "stackone", "kombo")
        ],
        "refreshOrders": [(refresh, {"ids": foreign.ids["Order"]})],
        # the admin mutations, aimed at globex's connections and accounts
        "addConnection": [
            (
                f"""mutation($input: AddConnectionInput!) {{
                addConnection(input: $input) {{ connection {{ id account }} {payload} }} }}""",
                {"input": {"provider": p.upper(), "account": account}},
            )
            for p, account in foreign.accounts.items()
        ],
        "pauseConnection": [
            (
                f"""mutation($id: ID!) {{ pauseConnection(id: $id) {{
                connection {{ id account state }} {payload} }} }}""",
                {"id": gid("ProviderConnection", f"globex-{p}")},
            )
            for p in ("unified", "stackone", "kombo")
        ],
        "resumeConnection": [
            (
                f"""mutation($id: ID!) {{ resumeConnection(id: $id) {{
                connection {{ id account state }} {payload} }} }}""",
                {"id": gid("ProviderConnection", f"globex-{p}")},
            )
            for p in ("unified", "stackone", "kombo")
        ],
        "removeConnection": [
            (
                f"""mutation($id: ID!) {{ removeConnection(id: $id, purgeOrders: true) {{
                removedConnectionId purgedOrders {payload} }} }}""",
                {"id": gid("ProviderConnection", f"globex-{p}")},
            )
            for p in ("unified", "stackone", "kombo")
        ],
        # a link is the caller's own: one refused before any provider call changes nothing
        "createConnectLink": [
            (
                f"""mutation($input: CreateConnectLinkInput!) {{
                createConnectLink(input: $input) {{ url {payload} }} }}""",
                {"input": {"provider": p}},
            )
            for p in ("KOMBO", "UNIFIED", "STACKONE")
        ],
    }


# Refusals other than NOT_FOUND: an account connected under another tenant is
# ALREADY_CONNECTED (with nothing said of whose); a link refused before any call.
EXPECTED_CODES = {
    "addConnection": {"ALREADY_CONNECTED"},
    "createConnectLink": {"INVALID_INPUT", "UNSUPPORTED_BY_PROVIDER"},
}


def subscription_probes(foreign: Foreign) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Per root Subscription field: streams aimed at globex's orders and connections."""
    events = """subscription($f: OrderEventFilter, $after: String) {
        orderEvents(filter: $f, after: $after) { cursor order { id remoteId } } }"""
    changed = """subscription($id: ID!) {
        orderStatusChanged(orderId: $id) { cursor order { id remoteId } } }"""
    return {
        "orderEvents": [
            (events, {"f": {"connectionIds": [gid("ProviderConnection", "globex-unified")]}}),
            (events, {"f": {"orderIds": foreign.ids["Order"]}}),
            # globex's event cursor is signed for globex: refused (INVALID_CURSOR)
            (events, {"after": foreign.cursor, "f": {"orderIds": foreign.ids["Order"]}}),
        ],
        "orderStatusChanged": [(changed, {"id": i}) for i in foreign.ids["Order"][:3]],
    }


def _globex_create_order() -> dict[str, Any]:
    return {
        "input": {
            "connectionId": gid("ProviderConnection", "globex-stackone"),
            "packageId": "pkg_001",
            "candidate": {"firstName": "Idem", "emails": ["idem.globex@example.org"]},
            "idempotencyKey": "probe-idempotency-key",
        }
    }


# --- what must stay the same -----------------------------------------------------------------


async def _world(api: Api, sandbox: Sandbox) -> dict[str, Any]:
    """Everything a probe must not change: both tenants' inventories and logs, the
    sandbox's truth for globex's accounts, and what the sandbox has served."""
    truth: dict[str, Any] = {}
    for provider in ("unified", "stackone", "kombo"):
        connection = api.services.connections.get(f"globex-{provider}")
        assert connection is not None
        truth[provider] = await sandbox.control(
            "GET", f"orders?provider={provider}&account={connection.settings.account}"
        )
    orders = api.services.store.orders
    return {
        "acme": await _inventory(api, "acme"),
        "globex": await _inventory(api, "globex"),
        "log": [await orders.latest_event_id(t) for t in ("acme", "globex")],
        "truth": truth,
        "stats": (await sandbox.stats())["requests"],
    }


# --- the tests -------------------------------------------------------------------------------


def _root_fields(type_name: str) -> set[str]:
    root = schema._schema.get_type(type_name)
    assert isinstance(root, GraphQLObjectType)
    return set(root.fields)


def _node_types() -> set[str]:
    node = schema._schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    return {t.name for t in schema._schema.get_possible_types(node)}


def test_every_root_field_and_node_type_has_a_probe() -> None:
    # A stand-in with one id of every kind: only the probes' keys matter here.
    stand_in = Foreign(
        ids={t: [gid(t, "x:y")] for t in _node_types()},
        orders=[{"connection": {"id": "c"}, "job": {"remoteId": "j"}}],
        cursor="c",
        secrets={"a@example.com"},
    )
    assert set(query_probes(stand_in)) == _root_fields("Query")
    assert set(mutation_probes(stand_in)) == _root_fields("Mutation")
    assert set(subscription_probes(stand_in)) == _root_fields("Subscription")
    # and every node type is among the ids the probe gathers from globex's inventory
    empty = {"orders": {"edges": []}, "candidates": {"edges": []}, "connections": []}
    assert _node_types() == set(_ids(empty))


async def test_another_tenants_ids_reach_nothing_over_http(api: Api, sandbox: Sandbox) -> None:
    # given both tenants indexed, and globex used an idempotency key on a createOrder
    foreign = await _prepare(api, sandbox)
    done = await api.query(CREATE_ORDER, _globex_create_order(), tenant="globex")
    assert done["data"]["createOrder"]["errors"] == [], done
    foreign.secrets.add(done["data"]["createOrder"]["order"]["id"])
    foreign.secrets.add(done["data"]["createOrder"]["order"]["remoteId"])
    for type_name in _node_types():
        assert foreign.ids[type_name], f"globex has no {type_name} to probe with"
    before = await _world(api, sandbox)

    # when acme runs every query probe, then nothing of globex comes back
    for field, probes in query_probes(foreign).items():
        for document, variables in probes:
            body = await api.query(document, variables)
            assert_nothing_of(foreign, body, variables, field)
            if field in ("node", "order"):
                assert next(iter(body["data"].values())) is None, (field, body)
            if field == "nodes":
                assert body["data"]["nodes"] == [None] * len(variables["ids"]), body
            if field == "orders":
                assert body["data"]["orders"]["totalCount"] == 0, (variables, body)
            if field == "packages":
                assert body["data"] is None, body
            if field == "viewer":
                assert body["data"]["viewer"]["tenant"] == "acme", body

    # when acme runs every mutation probe, then each is refused as not found
    for field, probes in mutation_probes(foreign).items():
        for document, variables in probes:
            body = await api.query(document, variables)
            assert_nothing_of(foreign, body, variables, field)
            payload = body["data"][field]
            assert payload["errors"], (field, body)
            codes = {e["code"] for e in payload["errors"]}
            assert codes <= EXPECTED_CODES.get(field, {"NOT_FOUND"}), (field, body)
            for value in payload.values():
                assert value in (None, [], 0, payload["errors"]), (field, body)

    # then nothing changed: not globex's (nor acme's) index or log, not the sandbox
    assert await _world(api, sandbox) == before


async def test_another_tenants_ids_reach_nothing_over_websocket(api: Api, sandbox: Sandbox) -> None:
    # given both tenants indexed
    foreign = await _prepare(api, sandbox)
    before = await _world(api, sandbox)
    probes = [
        (field, document, variables)
        for field, listed in subscription_probes(foreign).items()
        for document, variables in listed
    ]
    # the operations a socket may also carry: every query and mutation probe
    others = [
        (field, document, variables)
        for listing in (query_probes(foreign), mutation_probes(foreign))
        for field, listed in listing.items()
        for document, variables in listed
    ]
    async with connect(api.session, api.url) as client:
        assert await client.init({"authorization": f"Bearer {KEYS['acme']}"}) == {
            "type": "connection_ack"
        }
        # when acme subscribes with globex's ids (and a control subscription of its own)
        for number, (_, document, variables) in enumerate(probes):
            await client.subscribe(f"p{number}", document, variables)
        await client.subscribe("control", "subscription { orderEvents { cursor order { id } } }")
        for number, (field, _, variables) in enumerate(probes):
            if field == "orderStatusChanged" or "after" in variables:
                # another tenant's order is not found, as one that does not exist; its
                # event cursor is no cursor of acme's
                message = await client.message(f"p{number}")
                assert_nothing_of(foreign, message, variables, field)
                assert message["type"] in ("error", "next"), message
                errors = (
                    message["payload"]
                    if message["type"] == "error"
                    else message["payload"]["errors"]
                )
                expected = "NOT_FOUND" if field == "orderStatusChanged" else "INVALID_CURSOR"
                assert [e["extensions"]["code"] for e in errors] == [expected], message
        tailing = sum(f == "orderEvents" and "after" not in v for f, _, v in probes)
        await _until_subscribed(api, 1 + tailing)

        # and globex's orders change, then one of acme's
        changed = [
            unified_order(
                o["remoteId"], created_at=T0, status="REJECTED", updated_at=T0 + timedelta(days=400)
            )
            for o in foreign.orders
            if o["connection"]["id"] == gid("ProviderConnection", "globex-unified")
        ]
        assert (await deliver_unified(api, "globex-unified", changed)).events
        await deliver_unified(api, "acme-unified", [unified_order("probe-acme-1", created_at=T0)])
        # then the control subscription sees acme's event, and no probe saw anything
        [control] = await client.events("control", 1)
        assert control["order"]["id"] == gid("Order", "acme-unified:probe-acme-1")
        for number, (field, _, variables) in enumerate(probes):
            if field == "orderEvents":
                # (what the socket delivered so far; frames arrive in order)
                # (the refused cursor's operation has only its "complete" left)
                seen = [m for m in client.inbox.get(f"p{number}", []) if m["type"] != "complete"]
                assert seen == [], (field, variables)

        # and the queries and mutations sent over the socket fare as over HTTP
        for number, (field, document, variables) in enumerate(others):
            await client.subscribe(f"o{number}", document, variables)
            message = await client.message(f"o{number}")
            assert_nothing_of(foreign, message, variables, field)
    after = await _world(api, sandbox)
    # globex's Unified orders did change (by its own webhook), acme's got one more;
    # nothing else did
    assert after["truth"] == before["truth"]
    assert after["stats"] == before["stats"]


async def _until_subscribed(api: Api, count: int) -> None:
    for _ in range(500):
        if api.services.hubs.subscriber_count() >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{api.services.hubs.subscriber_count()} subscribers, wanted {count}")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-key", "Bearer key-globex-but-wrong", "Basic a2V5LWFjbWU6"],
    ids=["none", "unknown", "near-miss", "basic"],
)
async def test_without_a_valid_key_no_operation_answers_or_writes(
    api: Api, sandbox: Sandbox, authorization: str | None
) -> None:
    # given both tenants indexed
    foreign = await _prepare(api, sandbox)
    # acme's secrets too: without a key nothing of either tenant may come back
    acme_secrets = _strings(await _inventory(api, "acme"))
    everyone = Foreign(foreign.ids, foreign.orders, foreign.cursor, foreign.secrets | acme_secrets)
    before = await _world(api, sandbox)
    headers = {"Authorization": authorization} if authorization is not None else {}
    listings = {
        **query_probes(foreign),
        **mutation_probes(foreign),
    }
    for field, probes in listings.items():
        for document, variables in probes:
            # when any query or mutation is sent without a valid key
            body = await api.query(document, variables, tenant=None, headers=headers)
            # then the only answer is UNAUTHENTICATED, with no data at all
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
            assert "data" not in body, (field, body)
            assert_nothing_of(everyone, body, variables, field)
    # and a WebSocket without a valid key is closed before any subscription runs
    async with connect(api.session, api.url) as client:
        payload = {"authorization": authorization} if authorization is not None else {}
        assert (await client.init(payload))["close"] == 4403
    assert await _world(api, sandbox) == before
