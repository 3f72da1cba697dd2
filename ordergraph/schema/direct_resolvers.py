"""Resolvers that plain reads call without Strawberry's wrapping.

A field with a resolver goes through Strawberry's ``extension_resolver`` on every call:
a Strawberry ``Info`` built around graphql-core's, argument conversion, the field
extension chain, an ``await_maybe`` for an async resolver. For ``Order.connection``
and ``Package.name`` that is most of what the dashboard page pays per order (100 such
calls per 50-order page), and ``Package.name`` is async even when the order already
names its package, so each of them costs a coroutine and graphql-core's awaiting.

A field declares a *direct* resolver in its metadata (``direct(fn)``): ``fn(root,
info)`` with graphql-core's ``GraphQLResolveInfo`` (``info.context`` is the same
context), returning the value or an awaitable of it. Only for fields without
arguments, permission classes or field extensions (checked when the table is built).
Plain reads (``schema/plain_reads.py``) hand graphql-core a ``MiddlewareManager``
that swaps Strawberry's resolver for the direct one; every other execution
(mutations, subscriptions, a traced copy of the schema) still runs Strawberry's, so a
tracing span or an extension that wraps resolvers sees them as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import strawberry
from graphql.execution import MiddlewareManager

from ordergraph.schema.getters import object_fields

__all__ = ["DIRECT_RESOLVER", "DirectResolvers", "direct", "direct_resolvers"]

DIRECT_RESOLVER: Final = "ordergraph_direct_resolver"
"""The metadata key of a field's direct resolver."""

Resolver = Callable[..., Any]


def direct(resolver: Resolver) -> dict[str, Resolver]:
    """A field's metadata naming ``resolver`` as its direct resolver."""
    return {DIRECT_RESOLVER: resolver}


class DirectResolvers(MiddlewareManager):
    """graphql-core's resolver hook, used as a table: Strawberry's resolver of a field
    with a direct one becomes the direct one; any other resolver is left as it is."""

    def __init__(self, table: dict[Resolver, Resolver]) -> None:
        super().__init__()
        self.table = table

    def get_field_resolver(self, field_resolver: Resolver) -> Resolver:
        return self.table.get(field_resolver, field_resolver)


def direct_resolvers(schema: strawberry.Schema) -> DirectResolvers:
    """The table of ``schema``'s fields that declare a direct resolver."""
    table: dict[Resolver, Resolver] = {}
    for type_name, field, graphql_field in object_fields(schema):
        metadata: dict[str, Any] = dict(field.metadata or {})
        resolver = metadata.get(DIRECT_RESOLVER)
        if resolver is None or graphql_field is None:
            continue
        if field.arguments or field.permission_classes or field.extensions:
            raise TypeError(
                f"{type_name}.{field.python_name}: a direct resolver is only for a field "
                "without arguments, permissions or extensions"
            )
        assert graphql_field.resolve is not None
        table[graphql_field.resolve] = resolver
    return DirectResolvers(table)
