"""Scopes at the schema: which operations and fields a key may use.

An operation needs ``read`` (queries, subscriptions) or ``write`` (mutations; the
admin mutations need ``admin`` instead: ``ordergraph.schema.field_scopes``); the
check runs before execution, so the same rule holds over HTTP and over WebSocket
(where queries and mutations can be sent too). The HTTP handler also answers 403
before executing (``ordergraph.api.http``); this extension is what every transport
shares. A candidate's sensitive fields need ``pii``: without it each is null, with a
``FORBIDDEN`` error at its path naming the scope, and the rest of the answer stands.

A mutation payload shows order data, so past what a writer needs to know what it
touched, it needs ``read`` too. Without ``read`` a mutation may select its payload's
``errors`` (all of ``UserError``), ``warnings``, and only the ``id`` (and
``__typename``) of the objects it touched; a selection reaching further is refused
before the mutation runs, with one ``FORBIDDEN`` error naming ``requiredScope: "read"``
and the fields. Refused before, not nulled after: most order fields are non-null, so a
field error there would null the whole payload after the write had happened, and take
its ``errors`` and ids with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from ordergraph.keys import Scope
from ordergraph.resolvers.context import Context, MissingScopeError
from ordergraph.resolvers.subscriptions import event_context
from ordergraph.schema.field_scopes import root_field_scopes

__all__ = ["OperationScopes", "payload_fields_needing_read", "require_pii"]

_OPERATION_NAMES = {
    OperationType.QUERY: "a query",
    OperationType.MUTATION: "a mutation",
    OperationType.SUBSCRIPTION: "a subscription",
}

_OPEN_TYPES: Final = frozenset({"UserError"})
"""Types a mutation payload may show whole without ``read``: what went wrong."""
_NAMED_IN_MESSAGE: Final = 5


class OperationScopes(SchemaExtension):
    """Refuse an operation whose key lacks the scope its type needs (``FORBIDDEN``),
    and a mutation whose payload selection needs ``read`` the key does not have."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        operation = OperationType(self.execution_context.operation_type.value)
        if not isinstance(context, Context):
            msg = "ordergraph's schema runs with an ordergraph Context"
            raise TypeError(msg)
        # A request without a tenant never gets here over HTTP (401) or WebSocket
        # (4403); if one does, it is refused as unauthenticated, not let through.
        document = self.execution_context.graphql_document
        definition = (
            get_operation_ast(document, self.execution_context.operation_name)
            if document is not None
            else None
        )
        if document is None or definition is None:
            # Execution reports the unknown operation; no scope can be told, so the
            # least any operation of this type needs is required.
            context.require_scope(
                Scope.WRITE if operation is OperationType.MUTATION else Scope.READ,
                _OPERATION_NAMES[operation],
            )
        else:
            scopes = root_field_scopes(self.execution_context.schema)
            for scope in sorted(scopes.needed(document, definition)):
                context.require_scope(scope, _OPERATION_NAMES[operation])
        if operation is OperationType.MUTATION and Scope.READ not in context.scopes:
            self._refuse_order_data()
        yield

    def _refuse_order_data(self) -> None:
        document = self.execution_context.graphql_document
        if document is None:
            return
        needing = payload_fields_needing_read(
            self.execution_context.schema._schema, document, self.execution_context.operation_name
        )
        if needing:
            named = ", ".join(needing[:_NAMED_IN_MESSAGE])
            more = len(needing) - _NAMED_IN_MESSAGE
            if more > 0:
                named += f" and {more} more"
            raise MissingScopeError(Scope.READ, f"order data in a mutation payload ({named})")


def payload_fields_needing_read(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> list[str]:
    """``Type.field`` of every selection of the mutation past ids, errors and warnings.

    Linear in the document: each fragment is walked once, whatever spreads it.
    """
    operation = get_operation_ast(document, operation_name)
    root = schema.mutation_type
    if operation is None or root is None:
        return []
    payloads = {get_named_type(field.type).name for field in root.fields.values()}
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walker = _PayloadWalker(schema, payloads, fragments)
    walker.walk(operation.selection_set, root)
    return list(dict.fromkeys(walker.needing))


class _PayloadWalker:
    def __init__(
        self,
        schema: GraphQLSchema,
        payloads: set[str],
        fragments: dict[str, FragmentDefinitionNode],
    ) -> None:
        self.schema = schema
        self.payloads = payloads
        self.fragments = fragments
        self.seen: set[str] = set()
        self.needing: list[str] = []

    def walk(self, selections: SelectionSetNode, parent: GraphQLNamedType) -> None:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self.walk(selection.selection_set, inner or parent)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in self.seen:
                    continue
                self.seen.add(name)
                inner = self.schema.get_type(fragment.type_condition.name.value)
                self.walk(fragment.selection_set, inner or parent)

    def _field(self, node: FieldNode, parent: GraphQLNamedType) -> None:
        name = node.name.value
        if name == "__typename":
            return
        if name == "id" and _is_node(parent):
            return
        is_root = parent is self.schema.mutation_type
        if not (is_root or parent.name in self.payloads or parent.name in _OPEN_TYPES):
            self.needing.append(f"{parent.name}.{name}")
            return
        if node.selection_set is None or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return
        definition = parent.fields.get(name)
        if definition is not None:
            self.walk(node.selection_set, get_named_type(definition.type))


def _is_node(type_: GraphQLNamedType) -> bool:
    if type_.name == "Node":
        return True
    return isinstance(type_, GraphQLObjectType | GraphQLInterfaceType) and any(
        interface.name == "Node" for interface in type_.interfaces
    )


def require_pii(info: Info[Context, None], field: str) -> None:
    """Refuse ``field`` (``Type.field``, for the message) without the ``pii`` scope."""
    # Inside a subscription event the event's context is the one with loaders; both
    # carry the socket's scopes.
    context = event_context() or info.context
    context.require_scope(Scope.PII, field)
