"""The resolver ``info`` of this schema, and the context a field resolves in."""

from __future__ import annotations

from strawberry.types import Info

from ordergraph.resolvers.context import Context
from ordergraph.resolvers.subscriptions import event_context

__all__ = ["NODE_ID_DESCRIPTION", "GraphInfo", "context_of"]

GraphInfo = Info[Context, None]
# Relay's own wording for ``Node.id``, for nodes that set their id as a plain field.
NODE_ID_DESCRIPTION = "The Globally Unique ID of this object"


def context_of(info: GraphInfo) -> Context:
    """The context to resolve in: inside a subscription event, that event's own (fresh
    loaders); else the request's."""
    return event_context() or info.context
