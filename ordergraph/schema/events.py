"""Order events: a change of an order's status, and pages of them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from ordergraph.models import OrderStatus
from ordergraph.resolvers import orders as order_resolvers
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.node_keys import codec_of
from ordergraph.resolvers.orders import EventPage
from ordergraph.schema.connection import build_connection
from ordergraph.schema.info import GraphInfo, context_of
from ordergraph.store import EventSource, StoredEvent

if TYPE_CHECKING:
    from ordergraph.schema.orders import Order

__all__ = ["OrderEvent", "OrderEventConnection", "OrderEventEdge"]


@strawberry.type(description="A change of an order's status.")
class OrderEvent:
    stored: strawberry.Private[StoredEvent]
    # Signed for the event's tenant by the store (ordergraph/store/cursors.py).
    signed_cursor: strawberry.Private[str]
    # A subscription gives each event its own context (fresh loaders): the socket's
    # context lives as long as the socket, and its loaders would serve stale orders.
    event_context: strawberry.Private[Context | None] = None

    @strawberry.field(description="Cursor of this event in the log (resume after it).")
    def cursor(self) -> str:
        return self.signed_cursor

    @strawberry.field(description="The order as it is now.")
    async def order(
        self, info: GraphInfo
    ) -> Annotated[Order, strawberry.lazy("ordergraph.schema.orders")] | None:
        from ordergraph.schema.orders import Order  # a cycle: Order.events lists these

        context = self.event_context or context_of(info)
        # Shielded: one event's loaders are shared by every subscriber receiving it, and
        # a subscriber that goes away must not cancel the load the others await.
        stored = await asyncio.shield(order_resolvers.load_order(context, self.stored.order_id))
        return Order.wrap(stored, codec_of(context)) if stored else None

    @strawberry.field(description="Status before the change; null for a new order.")
    def previous_status(self) -> OrderStatus | None:
        return self.stored.previous_status

    @strawberry.field(description="Status after the change.")
    def new_status(self) -> OrderStatus:
        return self.stored.new_status

    @strawberry.field(description="How the change reached ordergraph.")
    def source(self) -> EventSource:
        return self.stored.source

    @strawberry.field(description="When ordergraph recorded the change.")
    def occurred_at(self) -> datetime:
        return self.stored.occurred_at


@strawberry.type(description="An event in a list, with its cursor.")
class OrderEventEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this event.")
    node: OrderEvent = strawberry.field(description="The event.")


@strawberry.type(description="A page of order events, oldest first.")
class OrderEventConnection:
    edges: list[OrderEventEdge] = strawberry.field(description="The events of this page.")
    nodes: list[OrderEvent] = strawberry.field(
        description="The events of this page, without edges."
    )
    page_info: relay.PageInfo = strawberry.field(description="Where this page stands.")

    @classmethod
    def from_page(cls, page: EventPage) -> OrderEventConnection:
        edges = [
            OrderEventEdge(cursor=cursor, node=OrderEvent(stored=event, signed_cursor=cursor))
            for event, cursor in zip(page.events, page.cursors, strict=True)
        ]
        return build_connection(
            cls, edges, has_next_page=page.has_next, has_previous_page=page.has_previous
        )
