"""Completed selections kept on shared nodes (``ordergraph.schema.completed``): a pure
selection of an unchanged order is completed once and reused; a changed order, a field
that reads the caller (``pii``), other variables or an error never reuse one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import DocumentNode, execute, parse

from ordergraph.keys import Scope
from ordergraph.models import OrderStatus
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema
from ordergraph.schema.completed import (
    MAX_PER_NODE,
    MEMO_ATTRIBUTE,
    CompletedSelectionsExecutor,
    keep_completed,
)
from ordergraph.schema.getters import direct_getters
from ordergraph.store import EventSource
from ordergraph.store.connections import ConnectionState
from tests.api.conftest import Api
from tests.api.helpers import deliver_unified, fill_index, unified_order
from tests.conftest import Sandbox

READ = frozenset({Scope.READ})
PII = frozenset({Scope.READ, Scope.PII})

PAGE = """{ orders(first: 50) { edges { node { id remoteId status package { id }
  candidate { emails firstName lastName } job { title hiringTeam { email } } } } } }"""


def _context(api: Api, scopes: frozenset[Scope] = READ) -> Context:
    return Context(services=api.services, tenant="acme", scopes=scopes)


async def _run(
    api: Api, query: str, variables: dict[str, Any] | None = None, scopes: frozenset[Scope] = READ
) -> Any:
    return await schema.execute(
        query, variable_values=variables, context_value=_context(api, scopes)
    )


def _nodes(result: Any) -> list[dict[str, Any]]:
    assert result.errors is None, result.errors
    return [edge["node"] for edge in result.data["orders"]["edges"]]


async def _strawberrys(api: Api, query: str, scopes: frozenset[Scope] = READ) -> Any:
    """The answer of Strawberry's own path (nothing kept there)."""
    return await strawberry.Schema.execute(schema, query, context_value=_context(api, scopes))


async def test_a_page_asked_again_reuses_each_orders_completed_selection(
    api: Api, sandbox: Sandbox
) -> None:
    await fill_index(api, sandbox)

    first = _nodes(await _run(api, PAGE))
    again = _nodes(await _run(api, PAGE))

    assert len(first) == 50
    # The very mappings: the second page executed none of the orders' fields.
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert (await _strawberrys(api, PAGE)).data == {
        "orders": {"edges": [{"node": n} for n in first]}
    }


async def test_a_changed_order_is_completed_anew(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)
    query = "{ orders(first: 100) { edges { node { remoteId status } } } }"
    created = datetime(2026, 1, 5, tzinfo=UTC)
    await deliver_unified(api, "acme-unified", [unified_order("kept-1", created_at=created)])
    before = {n["remoteId"]: n for n in _nodes(await _run(api, query))}
    assert before["kept-1"]["status"] == "OPEN"

    changed = unified_order("kept-1", created_at=created, status="COMPLETED", score=0.9)
    await deliver_unified(api, "acme-unified", [changed], EventSource.POLL)
    after = {n["remoteId"]: n for n in _nodes(await _run(api, query))}

    assert after["kept-1"] == {"remoteId": "kept-1", "status": OrderStatus.COMPLETED.value}
    assert after["kept-1"] is not before["kept-1"]
    # The orders that did not change are the same mappings.
    assert all(after[k] is before[k] for k in before if k != "kept-1")


async def test_a_field_that_reads_the_caller_is_resolved_for_each_caller(
    api: Api, sandbox: Sandbox
) -> None:
    await fill_index(api, sandbox)
    query = (
        "{ orders(first: 50) { edges { node { remoteId candidate { firstName dateOfBirth } } } } }"
    )

    with_pii = await _run(api, query, scopes=PII)
    without = await _run(api, query, scopes=READ)
    with_pii_again = await _run(api, query, scopes=PII)

    assert with_pii.errors is None
    assert without.errors
    assert {e.extensions["code"] for e in without.errors} == {"FORBIDDEN"}
    assert with_pii_again.errors is None
    assert with_pii_again.data == with_pii.data != without.data
    assert without.data == (await _strawberrys(api, query, READ)).data


async def test_variables_choose_the_selection(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)
    query = """query ($status: Boolean!) { orders(first: 10) { edges { node {
      remoteId status @include(if: $status) } } } }"""

    shown = _nodes(await _run(api, query, {"status": True}))
    hidden = _nodes(await _run(api, query, {"status": False}))
    shown_again = _nodes(await _run(api, query, {"status": True}))

    assert all(set(node) == {"remoteId", "status"} for node in shown)
    assert all(set(node) == {"remoteId"} for node in hidden)
    assert all(a is b for a, b in zip(shown, shown_again, strict=True))


# --- the executor alone, on a small schema ---------------------------------------------


@strawberry.type
class Inner:
    value: str


@strawberry.type
class Thing:
    name: str
    inner: Inner | None


THINGS: list[Thing] = []
LOOKS: list[str] = []


@strawberry.type
class Counted:
    """A plain field and one that resolves (and counts its calls)."""

    name: str

    @strawberry.field
    def looked_at(self) -> str:
        LOOKS.append(self.name)
        return f"{self.name} #{len(LOOKS)}"


COUNTED: list[Counted] = []


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing]:
        return THINGS

    @strawberry.field
    def counted(self) -> list[Counted]:
        return COUNTED


SMALL = strawberry.Schema(query=Query)
direct_getters(SMALL)


PARSED: dict[str, DocumentNode] = {}


def _execute_small(query: str) -> Any:
    """Executed as a plain read is: the document from a parse cache (the selection is
    told by its field nodes)."""
    return execute(
        SMALL._schema,
        PARSED.setdefault(query, parse(query)),
        executor_class=CompletedSelectionsExecutor,
        variables_key="",
    )


def test_a_completion_with_an_error_is_not_kept() -> None:
    broken = keep_completed(Thing(name="broken", inner=keep_completed(Inner(value=None))))  # type: ignore[arg-type]
    fine = keep_completed(Thing(name="fine", inner=keep_completed(Inner(value="v"))))
    THINGS[:] = [broken, fine]

    result = _execute_small("{ things { name inner { value } } }")

    assert [e.path for e in result.errors] == [["things", 0, "inner", "value"]]
    assert result.data == {
        "things": [{"name": "broken", "inner": None}, {"name": "fine", "inner": {"value": "v"}}]
    }
    assert getattr(broken, MEMO_ATTRIBUTE) == {}
    assert getattr(broken.inner, MEMO_ATTRIBUTE) == {}
    assert len(getattr(fine, MEMO_ATTRIBUTE)) == 1
    # Asked again, the broken one is executed again and fails the same way.
    again = _execute_small("{ things { name inner { value } } }")
    assert again.data == result.data
    assert [e.path for e in again.errors] == [["things", 0, "inner", "value"]]


def test_a_node_keeps_a_bounded_number_of_selections() -> None:
    thing = keep_completed(Thing(name="n", inner=None))
    THINGS[:] = [thing]
    shapes = ["name", "inner { value }", "__typename", "name __typename", "name inner { value }"]

    for shape in shapes:
        result = _execute_small(f"{{ things {{ {shape} }} }}")
        assert result.errors is None

    assert len(getattr(thing, MEMO_ATTRIBUTE)) == MAX_PER_NODE < len(shapes)


def test_a_node_without_a_memo_is_executed_as_usual() -> None:
    THINGS[:] = [Thing(name="plain", inner=Inner(value="v"))]

    result = _execute_small("{ things { name inner { value } } }")

    assert result.data == {"things": [{"name": "plain", "inner": {"value": "v"}}]}
    assert not hasattr(THINGS[0], MEMO_ATTRIBUTE)


def test_fields_that_resolve_run_every_time_and_keep_their_place() -> None:
    item = keep_completed(Counted(name="c"))
    COUNTED[:] = [item]
    LOOKS.clear()
    query = "{ counted { lookedAt name __typename } }"

    first = _execute_small(query)
    second = _execute_small(query)

    assert first.data == {"counted": [{"lookedAt": "c #1", "name": "c", "__typename": "Counted"}]}
    assert second.data == {"counted": [{"lookedAt": "c #2", "name": "c", "__typename": "Counted"}]}
    assert list(second.data["counted"][0]) == ["lookedAt", "name", "__typename"]
    assert LOOKS == ["c", "c"]
    # What is kept is the plain part only.
    [kept] = getattr(item, MEMO_ATTRIBUTE).values()
    assert kept == {"name": "c", "__typename": "Counted"}


async def test_orders_of_one_connection_share_its_node_until_the_connection_changes(
    api: Api, sandbox: Sandbox
) -> None:
    await fill_index(api, sandbox)
    query = "{ orders(first: 100) { edges { node { connection { id state } } } } }"
    by_id: dict[str, list[Any]] = {}
    for node in _nodes(await _run(api, query)):
        by_id.setdefault(node["connection"]["id"], []).append(node["connection"])
    assert len(by_id) == 3  # one connection per provider
    # Each connection's selection was completed once and shared by all its orders.
    for completed in by_id.values():
        assert len(completed) > 1
        assert all(c is completed[0] for c in completed)

    # A changed connection is another live object: its node and answer are new.
    live = api.services.connections.get("acme-kombo")
    assert live is not None
    api.services.connections.replace(live.id, replace(live, state=ConnectionState.PAUSED))
    states = {
        node["connection"]["id"]: node["connection"]["state"]
        for node in _nodes(await _run(api, query))
    }
    assert sorted(states.values()) == ["ACTIVE", "ACTIVE", "PAUSED"]
