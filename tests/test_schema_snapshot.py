"""The committed ``schema.graphql`` is the code's schema: a change to one without the
other fails here (regenerate with ``ordergraph schema > schema.graphql``)."""

from __future__ import annotations

from pathlib import Path

from ordergraph.schema import schema

SNAPSHOT = Path(__file__).parent.parent / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SNAPSHOT.read_text() == schema.as_str().rstrip() + "\n"


def test_every_type_and_field_is_described() -> None:
    from graphql import GraphQLInputObjectType, GraphQLObjectType

    undocumented: list[str] = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInputObjectType):
            if not graphql_type.description:
                undocumented.append(name)
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    undocumented.append(f"{name}.{field_name}")
    assert undocumented == []
