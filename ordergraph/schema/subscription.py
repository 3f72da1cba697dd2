"""The subscription root: order events tailed from the durable log.

Served over WebSocket (graphql-transport-ws) on ``/graphql``; the tenant comes from
``connection_init``. How the tail works (replay, wake-ups, slow consumers) is
explained in ``ordergraph.resolvers.subscriptions``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from ordergraph.models import OrderStatus
from ordergraph.resolvers import orders as order_resolvers
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.node_keys import key_of, order_keys
from ordergraph.resolvers.subscriptions import EventFilter, event_stream, fresh_context
from ordergraph.schema.errors import PublicError
from ordergraph.schema.events import OrderEvent
from ordergraph.schema.info import GraphInfo
from ordergraph.schema.inputs import MAX_FILTER_VALUES, LeftOutIsNone, connection_keys, expect_id
from ordergraph.store import StoredEvent

__all__ = ["OrderEventFilter", "Subscription"]


@strawberry.input(description="Which order events a subscription receives (all when omitted).")
class OrderEventFilter(LeftOutIsNone):
    connection_ids: list[relay.GlobalID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Events of orders of these connections (ProviderConnection ids).",
    )
    statuses: list[OrderStatus] | None = strawberry.field(
        default=strawberry.UNSET, description="Events whose new status is one of these."
    )
    order_ids: list[relay.GlobalID] | None = strawberry.field(
        default=strawberry.UNSET, description="Events of these orders (Order ids)."
    )

    async def to_filter(self, context: Context) -> EventFilter:
        for name in ("connection_ids", "statuses", "order_ids"):
            values = getattr(self, name)
            if values is not None and len(values) > MAX_FILTER_VALUES:
                raise PublicError(
                    f"filter.{name} takes at most {MAX_FILTER_VALUES} values",
                    code="INVALID_ARGUMENT",
                )
        order_node_ids = (
            [expect_id(g, "Order", "filter.orderIds") for g in self.order_ids]
            if self.order_ids is not None
            else None
        )
        return EventFilter(
            connection_ids=connection_keys(context, self.connection_ids, "filter.connectionIds")
            if self.connection_ids is not None
            else None,
            statuses=list(self.statuses) if self.statuses is not None else None,
            # An id that does not resolve is left out: the list narrows, never widens.
            order_ids=[key for key in await order_keys(context, order_node_ids) if key]
            if order_node_ids is not None
            else None,
        )


def _event(context: Context, stored: StoredEvent, event_context: Context) -> OrderEvent:
    cursor = order_resolvers.event_cursor(context, stored)
    return OrderEvent(stored=stored, signed_cursor=cursor, event_context=event_context)


@strawberry.type(description="Live order events (GraphQL over WebSocket, graphql-transport-ws).")
class Subscription:
    @strawberry.subscription(
        description="The tenant's order events, oldest first. With `after` (an event "
        "cursor), the events since it are replayed from the log before live ones, so a "
        "client that reconnects with its last cursor misses nothing; without it, only "
        "events from now on."
    )
    async def order_events(
        self,
        info: GraphInfo,
        filter: OrderEventFilter | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
    ) -> AsyncGenerator[OrderEvent, None]:
        context = info.context
        context.require_tenant()
        # Left out (UNSET: no "= null" in the SDL) and null mean the same.
        filter, after = order_resolvers.given(filter), order_resolvers.given(after)
        where = (
            await filter.to_filter(fresh_context(context)) if filter is not None else EventFilter()
        )
        after_id = order_resolvers.event_position(context, after) if after is not None else None
        async for stored, event_context in event_stream(context, where, after_id):
            yield _event(context, stored, event_context)

    @strawberry.subscription(
        description="Status changes of one order from now on (an Order id of this tenant)."
    )
    async def order_status_changed(
        self, info: GraphInfo, order_id: relay.GlobalID
    ) -> AsyncGenerator[OrderEvent, None]:
        context = info.context
        context.require_tenant()
        expect_id(order_id, "Order", "orderId")
        key = await key_of(fresh_context(context), order_id, "Order")
        # Tenant-scoped read: another tenant's order is "not found", not a silent stream.
        if key is None or await order_resolvers.load_order(fresh_context(context), key) is None:
            raise PublicError("no order with this id", code="NOT_FOUND", argument="orderId")
        async for stored, event_context in event_stream(
            context, EventFilter(order_ids=[key]), None
        ):
            yield _event(context, stored, event_context)
