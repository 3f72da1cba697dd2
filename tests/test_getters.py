"""Plain fields read by one getattr (``ordergraph.schema.getters``); resolver fields keep
their resolvers, and every field answers what Strawberry's resolver answered."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.resolvers import is_default_resolver

from ordergraph.schema import schema
from ordergraph.schema.getters import direct_getters


def test_plain_fields_read_their_attribute_and_resolver_fields_keep_resolving() -> None:
    order = schema._schema.type_map["Order"]
    fields: Any = order.fields  # type: ignore[attr-defined]

    assert fields["remoteId"].resolve.__name__ == "resolve"
    assert is_default_resolver(fields["remoteId"].resolve)  # tracing still skips it
    assert fields["connection"].resolve.__name__ != "resolve"  # a resolver of ours
    assert not is_default_resolver(fields["events"].resolve)
    assert direct_getters(schema) == 0  # done once, when the schema was built


@strawberry.type
class Thing:
    plain_value: int
    other: str = "x"

    @strawberry.field
    def computed(self) -> int:
        return self.plain_value * 2


@strawberry.type
class Query:
    @strawberry.field
    def thing(self) -> Thing:
        return Thing(plain_value=21)


def test_a_getter_answers_what_strawberrys_resolver_answered() -> None:
    mine = strawberry.Schema(query=Query)
    document = "{ thing { plainValue other computed } }"
    before = mine.execute_sync(document)

    assert direct_getters(mine) == 2  # plainValue and other, not computed
    after = mine.execute_sync(document)

    assert before.errors is None
    assert after.data == before.data == {"thing": {"plainValue": 21, "other": "x", "computed": 42}}
