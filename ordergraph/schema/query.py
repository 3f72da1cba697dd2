"""The root ``Query`` type."""

from __future__ import annotations

import strawberry
from strawberry import relay

from ordergraph.errors import ProviderError
from ordergraph.resolvers import candidates as candidate_resolvers
from ordergraph.resolvers import orders as order_resolvers
from ordergraph.resolvers.orders import PageRequest
from ordergraph.schema.errors import PublicError, provider_failure
from ordergraph.schema.inputs import OrderFilterInput, OrderOrderInput, expect_id
from ordergraph.schema.node_ids import UnknownNodeTypeIsInvalidId
from ordergraph.schema.types import (
    Candidate,
    CandidateConnection,
    CandidateEdge,
    GraphInfo,
    Order,
    OrderConnection,
    Package,
    ProviderConnection,
)
from ordergraph.store import OrderFilter, SortOrder

__all__ = ["Query"]


@strawberry.type(description="Reads: orders and what they refer to, across connections.")
class Query:
    node: relay.Node | None = relay.node(
        description="Any object by its global id.", extensions=[UnknownNodeTypeIsInvalidId()]
    )
    nodes: list[relay.Node | None] = relay.node(
        description="Objects by their global ids.", extensions=[UnknownNodeTypeIsInvalidId()]
    )

    @strawberry.field(description="Orders of every connection of your tenant, page by page.")
    async def orders(
        self,
        info: GraphInfo,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: OrderFilterInput | None = None,
        order_by: OrderOrderInput | None = None,
    ) -> OrderConnection:
        where = filter.to_store() if filter is not None else OrderFilter()
        sort = order_by.to_store() if order_by is not None else SortOrder.ASC
        page = await order_resolvers.page_orders(
            info.context,
            where=where,
            request=PageRequest(first=first, after=after, last=last, before=before),
            order=sort,
        )
        return OrderConnection.from_page(page, where)

    @strawberry.field(description="Candidates (one per email across connections), by email.")
    async def candidates(
        self,
        info: GraphInfo,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        search: str | None = None,
    ) -> CandidateConnection:
        context = info.context
        page = await candidate_resolvers.page_candidates(
            context,
            search=search,
            request=PageRequest(first=first, after=after, last=last, before=before),
        )
        stored = await order_resolvers.load_orders(context, [e.order_id for e in page.edges])
        edges = [
            CandidateEdge(
                cursor=edge.cursor, node=Candidate.from_order(order, order.order.candidate)
            )
            for edge, order in zip(page.edges, stored, strict=True)
            if order is not None and order.order.candidate is not None
        ]
        return CandidateConnection(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            search=search,
        )

    @strawberry.field(description="One order by its id; null when it does not exist.")
    async def order(self, info: GraphInfo, id: relay.GlobalID) -> Order | None:
        key = expect_id(id, "Order", "id")
        stored = await order_resolvers.load_order(info.context, key)
        return Order.wrap(stored) if stored else None

    @strawberry.field(description="The packages offered on one connection.")
    async def packages(self, info: GraphInfo, connection_id: relay.GlobalID) -> list[Package]:
        context = info.context
        key = expect_id(connection_id, "ProviderConnection", "connectionId")
        connection = context.services.connections.get(key)
        if connection is None or connection.tenant != context.require_tenant():
            raise PublicError("no such connection", code="NOT_FOUND")
        try:
            packages = await context.loaders.packages_by_connection.load(key)
        except ProviderError as exc:
            raise provider_failure(exc) from exc
        return [Package.from_model(key, p) for p in packages]

    @strawberry.field(description="Your tenant's connections to providers.")
    def connections(self, info: GraphInfo) -> list[ProviderConnection]:
        context = info.context
        tenant = context.require_tenant()
        return [
            ProviderConnection.for_id(context, c.id)
            for c in context.services.connections.of_tenant(tenant)
        ]
