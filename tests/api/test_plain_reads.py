"""Plain reads run below Strawberry's ``Schema.execute`` (``ordergraph.schema.plain_reads``)
and answer exactly as Strawberry's path does; everything else still takes that path."""

from __future__ import annotations

import copy
from typing import Any

import strawberry

from ordergraph.keys import Scope
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema
from ordergraph.schema.plain_reads import PlainReads
from tests.api.conftest import Api
from tests.api.helpers import fill_index
from tests.conftest import Sandbox

READ = frozenset({Scope.READ})

LIST = """
query List($first: Int, $filter: OrderFilter) {
  orders(first: $first, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id remoteId provider status createdAt updatedAt
      connection { id }
      candidate { id name emails firstName lastName }
      job { id title hiringTeam { email } }
      package { id remoteId name }
      events { edges { node { newStatus source } } }
    } }
  }
}
"""

# Field errors: pii without the scope (nulls in place), then a bad cursor (the non-null
# connection takes the whole answer with it).
PII = "{ orders(last: 20) { edges { node { remoteId candidate { dateOfBirth } } } } }"
BAD_CURSOR = '{ orders(first: 2, after: "not-a-cursor") { edges { cursor } } }'


def _reads() -> PlainReads:
    assert schema.plain_reads is not None
    return schema.plain_reads


def _context(api: Api, scopes: frozenset[Scope] = READ, tenant: str = "acme") -> Context:
    return Context(services=api.services, tenant=tenant, scopes=scopes)


def _answer(result: Any) -> dict[str, Any]:
    return {
        "data": result.data,
        "errors": [error.formatted for error in result.errors or []],
        "extensions": result.extensions,
    }


async def _both(
    api: Api, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(plain answer, Strawberry's answer, plain reads taken by the first)."""
    taken = _reads().taken
    plain = await schema.execute(
        query, variable_values=variables, context_value=_context(api, **kwargs)
    )
    taken = _reads().taken - taken
    theirs = await strawberry.Schema.execute(
        schema, query, variable_values=variables, context_value=_context(api, **kwargs)
    )
    return _answer(plain), _answer(theirs), taken


async def test_plain_reads_answer_as_strawberry_does(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)

    for variables in (
        {"first": 20},
        {"first": 5, "filter": {"providers": ["KOMBO"]}},
        {"first": 3, "filter": {"statuses": ["COMPLETED", "OPEN"], "search": "a"}},
    ):
        plain, theirs, taken = await _both(api, LIST, variables)
        assert taken == 1
        assert plain == theirs
        assert plain["data"]["orders"]["edges"], variables
        assert plain["errors"] == []

    plain, theirs, taken = await _both(api, PII)
    assert taken == 1
    assert plain == theirs
    assert {error["extensions"]["code"] for error in plain["errors"]} == {"FORBIDDEN"}
    assert any(edge["node"]["candidate"] for edge in plain["data"]["orders"]["edges"])

    plain, theirs, taken = await _both(api, BAD_CURSOR)
    assert taken == 1
    assert plain == theirs
    assert plain["data"] is None
    assert [error["extensions"]["code"] for error in plain["errors"]] == ["INVALID_CURSOR"]


async def test_a_variable_that_does_not_coerce_is_answered_alike(api: Api) -> None:
    plain, theirs, taken = await _both(api, LIST, {"first": "many"})
    assert taken == 1
    assert plain == theirs
    assert plain["data"] is None
    assert [error["extensions"]["code"] for error in plain["errors"]] == ["BAD_USER_INPUT"]


async def test_what_is_not_a_plain_read_takes_strawberrys_path(api: Api) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("{ orders { edges { cursor } } ", {}),  # does not parse
        ("{ orders { nope } }", {}),  # does not validate
        ("query A { viewer { tenant } }", {"operation_name": "B"}),  # no such operation
        ("mutation { refreshOrders(ids: []) { errors { code } } }", {}),
        ("{ viewer { tenant } }", {"scopes": frozenset({Scope.WRITE})}),  # no read
        ("{ viewer { tenant } }", {"tenant": None}),
        # within the document's limits, over the ids limit with these variables
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"variables": {"ids": ["x"] * 251}}),
    ]
    for query, options in cases:
        taken = _reads().taken
        context = Context(
            services=api.services,
            tenant=options.get("tenant", "acme"),
            scopes=options.get("scopes", READ),
        )
        try:
            result = await schema.execute(
                query,
                variable_values=options.get("variables"),
                context_value=context,
                operation_name=options.get("operation_name"),
            )
        except Exception:  # an unknown operation name is raised (the transports answer it)
            result = None
        assert _reads().taken == taken, query
        if result is not None:
            assert result.errors, query


async def test_a_traced_copy_takes_strawberrys_path(api: Api) -> None:
    # What ordergraph.tracing.traced makes: a shallow copy with another extension list.
    copied = copy.copy(schema)
    copied.extensions = (*schema.extensions,)
    taken = _reads().taken

    result = await copied.execute("{ viewer { tenant } }", context_value=_context(api))

    assert result.data == {"viewer": {"tenant": "acme"}}
    assert _reads().taken == taken
