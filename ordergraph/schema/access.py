"""Scopes at the schema: which operations and fields a key may use.

An operation needs ``read`` (queries, subscriptions) or ``write`` (mutations); the
check runs before execution, so the same rule holds over HTTP and over WebSocket
(where queries and mutations can be sent too). The HTTP handler also answers 403
before executing (``ordergraph.api.http``); this extension is what every transport
shares. A candidate's sensitive fields need ``pii``: without it each is null, with a
``FORBIDDEN`` error at its path naming the scope, and the rest of the answer stands.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import OperationType
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from ordergraph.auth import required_scope
from ordergraph.keys import Scope
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.subscriptions import event_context

__all__ = ["OperationScopes", "require_pii"]

_OPERATION_NAMES = {
    OperationType.QUERY: "a query",
    OperationType.MUTATION: "a mutation",
    OperationType.SUBSCRIPTION: "a subscription",
}


class OperationScopes(SchemaExtension):
    """Refuse an operation whose key lacks the scope its type needs (``FORBIDDEN``)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        operation = OperationType(self.execution_context.operation_type.value)
        if not isinstance(context, Context):
            msg = "ordergraph's schema runs with an ordergraph Context"
            raise TypeError(msg)
        # A request without a tenant never gets here over HTTP (401) or WebSocket
        # (4403); if one does, it is refused as unauthenticated, not let through.
        context.require_scope(required_scope(operation), _OPERATION_NAMES[operation])
        yield


def require_pii(info: Info[Context, None], field: str) -> None:
    """Refuse ``field`` (``Type.field``, for the message) without the ``pii`` scope."""
    # Inside a subscription event the event's context is the one with loaders; both
    # carry the socket's scopes.
    context = event_context() or info.context
    context.require_scope(Scope.PII, field)
