"""Direct resolvers (``ordergraph.schema.direct_resolvers``): plain reads call them in
place of Strawberry's wrapped resolver; every other execution still calls Strawberry's."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from graphql import execute, parse

from ordergraph.schema import schema
from ordergraph.schema.direct_resolvers import direct, direct_resolvers

CALLS: list[str] = []


def _shout_directly(root: Any, info: Any) -> str:
    CALLS.append("direct")
    return f"{root.word.upper()} (direct, {type(info).__name__})"


@strawberry.type
class Thing:
    word: str

    @strawberry.field(metadata=direct(_shout_directly))
    def shout(self) -> str:
        CALLS.append("strawberry")
        return f"{self.word.upper()} (direct, GraphQLResolveInfo)"


@strawberry.type
class Query:
    @strawberry.field
    def thing(self) -> Thing:
        return Thing(word="hi")


SMALL = strawberry.Schema(query=Query)


def test_plain_reads_call_the_direct_resolver_with_graphql_cores_info() -> None:
    CALLS.clear()
    table = direct_resolvers(SMALL)

    direct_answer = execute(SMALL._schema, parse("{ thing { shout } }"), middleware=table)
    strawberrys = SMALL.execute_sync("{ thing { shout } }")

    assert (
        direct_answer.data
        == strawberrys.data
        == {"thing": {"shout": "HI (direct, GraphQLResolveInfo)"}}
    )
    assert CALLS == ["direct", "strawberry"]


@strawberry.type
class Bad:
    @strawberry.field(metadata=direct(_shout_directly))
    def shout(self, times: int) -> str:
        return "x" * times


@strawberry.type
class BadQuery:
    bad: Bad


def test_a_direct_resolver_is_refused_on_a_field_with_arguments() -> None:
    with pytest.raises(TypeError, match="only for a field without arguments"):
        direct_resolvers(strawberry.Schema(query=BadQuery))


def test_the_gateways_direct_resolvers() -> None:
    assert schema.plain_reads is not None
    named = {
        getattr(resolver, "__qualname__", "")
        for resolver in schema.plain_reads.direct.table.values()
    }
    assert named == {"_connection", "Package.<lambda>"}
    assert len(schema.plain_reads.direct.table) == 3
