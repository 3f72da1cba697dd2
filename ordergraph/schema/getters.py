"""Plain fields read by one ``getattr``.

Strawberry gives every field a resolver, even a field that only reads an attribute of
its object: ``_get_basic_result`` calls ``StrawberryField.get_result``, which calls the
schema's default resolver, ``getattr(source, python_name)``: three calls per field,
~600 times in a 50-order page (~8% of its execution under cProfile). For exactly those
fields (no resolver, no field extension, no exception handler: Strawberry's
``_get_basic_result``, with ``getattr`` as the default resolver) the resolver is
replaced by one that does the ``getattr`` itself: the same value, one call. It keeps
Strawberry's mark of a default resolver, which tracing reads to skip such fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

__all__ = ["direct_getters", "is_plain_getter", "object_fields"]

_PLAIN = "_og_plain_getter"
"""The mark of a getter made here: its value is the attribute, nothing else
(``schema/completed.py`` relies on that)."""

_BASIC = "_get_basic_result"
"""The name of Strawberry's resolver for a field that only reads an attribute."""


def _getter(python_name: str) -> Callable[..., Any]:
    def resolve(source: Any, info: Any, **_: Any) -> Any:
        return getattr(source, python_name)

    resolve._is_default = True  # type: ignore[attr-defined]  # Strawberry's mark
    setattr(resolve, _PLAIN, True)
    return resolve


def is_plain_getter(resolve: object) -> bool:
    """Whether ``resolve`` is a direct getter of this module (reads one attribute)."""
    return getattr(resolve, _PLAIN, False) is True


def object_fields(
    schema: strawberry.Schema,
) -> Iterator[tuple[str, StrawberryField, GraphQLField | None]]:
    """Every field of ``schema``'s Strawberry object types: the type's name, the
    Strawberry field and the graphql-core field it became (None if it has none)."""
    names = schema.config.name_converter
    for type_name, graphql_type in schema._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = schema.get_type_by_name(type_name)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        for field in definition.fields:
            yield type_name, field, graphql_type.fields.get(names.get_graphql_name(field))


def direct_getters(schema: strawberry.Schema) -> int:
    """Give ``schema``'s plain fields a direct getter; the number of fields changed."""
    changed = 0
    for _, field, graphql_field in object_fields(schema):
        if (
            graphql_field is None
            or not field.is_basic_field
            or field.default_resolver is not getattr
            or getattr(graphql_field.resolve, "__name__", None) != _BASIC
        ):
            continue
        graphql_field.resolve = _getter(field.python_name)
        changed += 1
    return changed
