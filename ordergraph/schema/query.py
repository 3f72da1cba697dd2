"""The root ``Query`` type."""

from __future__ import annotations

import strawberry
from strawberry import UNSET, relay

from ordergraph.resolvers import candidates as candidate_resolvers
from ordergraph.resolvers import orders as order_resolvers
from ordergraph.resolvers import packages as package_resolvers
from ordergraph.resolvers.node_keys import codec_of, key_of
from ordergraph.resolvers.orders import PageRequest, given
from ordergraph.schema.candidates import CandidateConnection
from ordergraph.schema.connection import paged
from ordergraph.schema.connections import ProviderConnection
from ordergraph.schema.errors import PublicError
from ordergraph.schema.info import GraphInfo
from ordergraph.schema.inputs import OrderFilterInput, OrderOrderInput, expect_id
from ordergraph.schema.node_ids import UnknownNodeTypeIsInvalidId
from ordergraph.schema.nodes import resolve_nodes_each
from ordergraph.schema.orders import Order, OrderConnection
from ordergraph.schema.packages import Package
from ordergraph.schema.viewer import Viewer, resolve_viewer
from ordergraph.store import OrderFilter, SortOrder

__all__ = ["Query"]


@strawberry.type(description="Reads: orders and what they refer to, across connections.")
class Query:
    node: relay.Node | None = relay.node(
        description="Any object by its global id.", extensions=[UnknownNodeTypeIsInvalidId()]
    )
    nodes: list[relay.Node | None] = strawberry.field(
        resolver=resolve_nodes_each,
        description="Objects by their global ids.",
    )
    viewer: Viewer = strawberry.field(
        resolver=resolve_viewer,
        description="The calling API key: its tenant's name and its scopes (a UI can hide "
        "what the key may not do).",
    )

    @strawberry.field(
        description=paged(
            "Orders of every connection of your tenant, page by page.",
            "`createdAt` ascending, then id (`orderBy` to change it)",
        )
    )
    async def orders(
        self,
        info: GraphInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        last: int | None = UNSET,
        before: str | None = UNSET,
        filter: OrderFilterInput | None = UNSET,
        order_by: OrderOrderInput | None = UNSET,
    ) -> OrderConnection:
        where_given, sort_given = given(filter), given(order_by)
        where = where_given.to_store(info.context) if where_given is not None else OrderFilter()
        sort = sort_given.to_store() if sort_given is not None else SortOrder.ASC
        return await OrderConnection.load(
            info.context, where, PageRequest.of(first, after, last, before), sort
        )

    @strawberry.field(
        description=paged(
            "Candidates (one per email across connections).",
            "email ascending (lower-cased)",
        )
    )
    async def candidates(
        self,
        info: GraphInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        last: int | None = UNSET,
        before: str | None = UNSET,
        search: str | None = UNSET,
    ) -> CandidateConnection:
        context = info.context
        text = given(search)
        page = await candidate_resolvers.page_candidates(
            context, search=text, request=PageRequest.of(first, after, last, before)
        )
        stored = await order_resolvers.load_orders(context, [e.order_id for e in page.edges])
        return CandidateConnection.from_page(page, stored, text, codec_of(context))

    @strawberry.field(description="One order by its id; null when it does not exist.")
    async def order(self, info: GraphInfo, id: relay.GlobalID) -> Order | None:
        expect_id(id, "Order", "id")
        key = await key_of(info.context, id, "Order")
        stored = await order_resolvers.load_order(info.context, key) if key else None
        return Order.wrap(stored, codec_of(info.context)) if stored else None

    @strawberry.field(description="The packages offered on one connection.")
    async def packages(self, info: GraphInfo, connection_id: relay.GlobalID) -> list[Package]:
        expect_id(connection_id, "ProviderConnection", "connectionId")
        key = await key_of(info.context, connection_id, "ProviderConnection")
        if key is None:
            raise PublicError("no such connection", code="NOT_FOUND")
        packages = await package_resolvers.connection_packages(info.context, key)
        ids = codec_of(info.context)
        return [Package.from_model(key, p, ids) for p in packages]

    @strawberry.field(description="Your tenant's connections to providers.")
    def connections(self, info: GraphInfo) -> list[ProviderConnection]:
        context = info.context
        tenant = context.require_tenant()
        return [
            ProviderConnection.for_id(context, c.id)
            for c in context.services.connections.of_tenant(tenant)
        ]
