"""Every list pages the same way: ``first``/``after`` and ``last``/``before`` on every
connection field (``Order.events`` read from its newest end, ``Candidate.orders``,
``Job.orders``), ``nodes`` beside ``edges`` on every connection type, and optional
arguments without ``= null`` in the SDL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLInputObjectType, GraphQLObjectType
from strawberry import relay

from ordergraph.models import OrderStatus
from ordergraph.schema import schema
from ordergraph.schema.inputs import OrderFilterInput
from ordergraph.schema.mutation import SubmitResultInput
from ordergraph.schema.subscription import OrderEventFilter
from ordergraph.store import EventSource
from tests.api.conftest import Api
from tests.api.helpers import deliver_unified, error_codes, gid, unified_order

MOMENT = datetime(2026, 3, 1, 12, tzinfo=UTC)
STATUSES = ["OPEN", "IN_PROGRESS", "COMPLETED", "FAILED"]
EVENTS = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  order(id: $id) {
    events(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { newStatus } }
      nodes { newStatus }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""
NESTED = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  node(id: $id) {
    ... on Candidate {
      orders(first: $first, after: $after, last: $last, before: $before) { ...page }
    }
    ... on Job {
      orders(first: $first, after: $after, last: $last, before: $before) { ...page }
    }
  }
}
fragment page on OrderConnection {
  edges { cursor node { remoteId } }
  nodes { remoteId }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
}
"""


async def _data(api: Api, document: str, variables: dict[str, Any]) -> Any:
    body = await api.query(document, variables)
    assert "errors" not in body, body
    return body["data"]


async def _order_through_every_status(api: Api) -> str:
    """One Unified order whose status changed three times: four events."""
    for minute, status in enumerate(STATUSES):
        order = unified_order(
            "EV-1", created_at=MOMENT, status=status, updated_at=MOMENT + timedelta(minutes=minute)
        )
        await deliver_unified(api, "acme-unified", [order], EventSource.WEBHOOK)
    return gid("Order", "acme-unified:EV-1")


async def _events(api: Api, order_id: str, **arguments: Any) -> dict[str, Any]:
    page: dict[str, Any] = (await _data(api, EVENTS, {"id": order_id, **arguments}))["order"][
        "events"
    ]
    assert page["nodes"] == [edge["node"] for edge in page["edges"]]
    return page


def _statuses(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["newStatus"] for edge in page["edges"]]


async def test_events_read_from_the_end_walk_back_to_the_first(api: Api) -> None:
    order_id = await _order_through_every_status(api)
    newest = await _events(api, order_id, last=2)
    # The newest two, still oldest first on the page, and more before them.
    assert _statuses(newest) == ["COMPLETED", "FAILED"]
    assert newest["pageInfo"]["hasPreviousPage"] is True
    assert newest["pageInfo"]["hasNextPage"] is False
    older = await _events(api, order_id, last=2, before=newest["pageInfo"]["startCursor"])
    assert _statuses(older) == ["OPEN", "IN_PROGRESS"]
    assert older["pageInfo"]["hasPreviousPage"] is False
    everything = await _events(api, order_id, last=10)
    assert _statuses(everything) == STATUSES
    assert everything["pageInfo"]["hasPreviousPage"] is False


async def test_event_cursors_bound_a_window_from_either_side(api: Api) -> None:
    order_id = await _order_through_every_status(api)
    cursors = [edge["cursor"] for edge in (await _events(api, order_id))["edges"]]
    window = {"after": cursors[0], "before": cursors[3]}
    assert _statuses(await _events(api, order_id, first=5, **window)) == STATUSES[1:3]
    assert _statuses(await _events(api, order_id, last=1, **window)) == ["COMPLETED"]
    assert _statuses(await _events(api, order_id, first=1, **window)) == ["IN_PROGRESS"]
    # Forward pages still say whether there is more after them.
    forward = await _events(api, order_id, first=3)
    assert _statuses(forward) == STATUSES[:3]
    assert forward["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"first": 1, "last": 1}, "INVALID_ARGUMENT"),
        ({"last": -1}, "INVALID_ARGUMENT"),
        ({"last": 101}, "PAGE_SIZE_EXCEEDED"),
        ({"last": 1, "before": "bm90LWFuLWV2ZW50"}, "INVALID_CURSOR"),
    ],
)
async def test_bad_backward_event_paging_is_a_clean_error(
    api: Api, arguments: dict[str, Any], code: str
) -> None:
    order_id = await _order_through_every_status(api)
    body = await api.query(EVENTS, {"id": order_id, **arguments})
    assert error_codes(body) == [code], body


async def _one_candidates_orders(api: Api) -> None:
    """Five orders of one candidate for one job, a minute apart."""
    orders = [
        unified_order(f"C-{n}", created_at=MOMENT + timedelta(minutes=n), email="ada@example.com")
        for n in range(5)
    ]
    await deliver_unified(api, "acme-unified", orders)


@pytest.mark.parametrize(
    "node_id",
    [gid("Candidate", "e:ada@example.com"), gid("Job", "j:acme-unified:job_u_001")],
)
async def test_candidate_and_job_orders_page_both_ways(api: Api, node_id: str) -> None:
    await _one_candidates_orders(api)

    async def page(**arguments: Any) -> dict[str, Any]:
        found: dict[str, Any] = (await _data(api, NESTED, {"id": node_id, **arguments}))["node"][
            "orders"
        ]
        assert found["nodes"] == [edge["node"] for edge in found["edges"]]
        return found

    def ids(found: dict[str, Any]) -> list[str]:
        return [node["remoteId"] for node in found["nodes"]]

    everything = await page()
    assert ids(everything) == [f"C-{n}" for n in range(5)]  # default: oldest first
    newest = await page(last=2)
    assert ids(newest) == ["C-3", "C-4"]
    assert newest["pageInfo"]["hasPreviousPage"] is True
    before = await page(last=2, before=newest["pageInfo"]["startCursor"])
    assert ids(before) == ["C-1", "C-2"]
    after = await page(first=2, after=everything["edges"][2]["cursor"])
    assert ids(after) == ["C-3", "C-4"]
    assert after["pageInfo"]["hasNextPage"] is False


async def test_candidates_connection_has_nodes(api: Api) -> None:
    await _one_candidates_orders(api)
    found = (
        await _data(
            api,
            "{ candidates { edges { node { id emails } } nodes { id emails } totalCount } }",
            {},
        )
    )["candidates"]
    assert found["nodes"] == [edge["node"] for edge in found["edges"]]
    assert found["nodes"][0]["emails"] == ["ada@example.com"]


def test_every_connection_type_has_edges_nodes_and_page_info() -> None:
    connections = [
        graphql_type
        for name, graphql_type in schema._schema.type_map.items()
        if name.endswith("Connection")
        and isinstance(graphql_type, GraphQLObjectType)
        and "edges" in graphql_type.fields
    ]
    assert {c.name for c in connections} >= {
        "OrderConnection",
        "CandidateConnection",
        "OrderEventConnection",
    }
    for connection in connections:
        assert {"edges", "nodes", "pageInfo"} <= set(connection.fields), connection.name


def test_paged_fields_take_all_four_arguments_without_null_defaults() -> None:
    paged = [
        ("Query", "orders"),
        ("Query", "candidates"),
        ("Order", "events"),
        ("Candidate", "orders"),
        ("Job", "orders"),
    ]
    sdl = schema.as_str()
    for type_name, field_name in paged:
        graphql_type = schema._schema.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType)
        field = graphql_type.fields[field_name]
        assert {"first", "after", "last", "before"} <= set(field.args), (type_name, field_name)
        description = field.description or ""
        assert "Default order" in description, (type_name, field_name)
        assert "default 50" in description, (type_name, field_name)
    for line in sdl.splitlines():
        if "(first: Int" in line:
            assert "= null" not in line, line


def test_no_argument_of_any_field_defaults_to_null() -> None:
    null_defaults = [
        f"{name}.{field_name}({argument_name})"
        for name, graphql_type in schema._schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not name.startswith("__")
        for field_name, field in graphql_type.fields.items()
        for argument_name, argument in field.args.items()
        if argument.default_value is None
    ]
    assert null_defaults == []


def test_no_input_object_field_defaults_to_null() -> None:
    null_defaults = [
        f"{name}.{field_name}"
        for name, graphql_type in schema._schema.type_map.items()
        if isinstance(graphql_type, GraphQLInputObjectType) and not name.startswith("__")
        for field_name, field in graphql_type.fields.items()
        if field.default_value is None
    ]
    assert null_defaults == []
    assert "= null" not in schema.as_str()


def test_a_left_out_input_field_reads_as_none_not_unset() -> None:
    # UNSET is not None: read as a value, a left-out idempotencyKey would be one key.
    left_out = SubmitResultInput(
        order_id=relay.GlobalID("Order", "x"), status=OrderStatus.COMPLETED, url="https://x"
    )
    assert (left_out.idempotency_key, left_out.score, left_out.started_at) == (None, None, None)
    assert left_out.attributes == []
    assert OrderEventFilter().order_ids is None
    assert OrderFilterInput().search is None
