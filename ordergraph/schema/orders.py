"""Orders: the ``Order`` node and its Relay connection.

An ``Order``'s global id is the Relay ``GlobalID`` of ``<connection id>:<remote id>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from ordergraph import models
from ordergraph.models import OrderStatus, ProviderName
from ordergraph.resolvers import orders as order_resolvers
from ordergraph.resolvers.deliveries import delivery_view
from ordergraph.schema.candidates import Candidate
from ordergraph.schema.connection import build_connection
from ordergraph.schema.connections import ProviderConnection
from ordergraph.schema.events import OrderEventConnection
from ordergraph.schema.info import GraphInfo, context_of
from ordergraph.schema.jobs import Job
from ordergraph.schema.packages import Package
from ordergraph.schema.results import ResultDelivery
from ordergraph.schema.values import (
    Application,
    AssessmentResult,
    HiringTeamMember,
)
from ordergraph.store import OrderFilter, OrderPage, StoredOrder

__all__ = ["Order", "OrderConnection", "OrderEdge"]


@strawberry.type(description="An assessment order from one connection's ATS.")
class Order(relay.Node):
    key: relay.NodeID[str]
    stored: strawberry.Private[StoredOrder]

    @classmethod
    def wrap(cls, stored: StoredOrder) -> Order:
        return cls(key=stored.id, stored=stored)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[Order | None]:
        found = await order_resolvers.load_orders(context_of(info), list(node_ids))
        return [cls.wrap(s) if s is not None else None for s in found]

    @property
    def _order(self) -> models.Order:
        return self.stored.order

    @strawberry.field(description="The order's id at the provider.")
    def remote_id(self) -> str:
        return self._order.remote_id

    @strawberry.field(description="The provider the order came through.")
    def provider(self) -> ProviderName:
        return self._order.provider

    @strawberry.field(description="The connection (customer account) the order belongs to.")
    def connection(self, info: GraphInfo) -> ProviderConnection:
        return ProviderConnection.for_id(context_of(info), self.stored.connection_id, self._order)

    @strawberry.field(description="Canonical status.")
    def status(self) -> OrderStatus:
        return self._order.status

    @strawberry.field(description="The provider's own status word, unmapped.")
    def provider_status(self) -> str | None:
        return self._order.provider_status

    @strawberry.field(
        description="When the order was created: the provider's time, or when ordergraph "
        "first saw it if the provider does not say (Kombo, StackOne)."
    )
    def created_at(self) -> datetime:
        return self.stored.created_at

    @strawberry.field(description="True when `createdAt` is the provider's own time.")
    def created_at_from_provider(self) -> bool:
        return self._order.created_at is not None

    @strawberry.field(description="When the provider last changed the order, if it says.")
    def updated_at(self) -> datetime | None:
        return self._order.updated_at

    @strawberry.field(description="When ordergraph last stored a change to the order.")
    def ingested_at(self) -> datetime:
        return self.stored.ingested_at

    @strawberry.field(description="The candidate taking the assessment.")
    def candidate(self) -> Candidate | None:
        candidate = self._order.candidate
        return Candidate.from_order(self.stored, candidate) if candidate else None

    @strawberry.field(description="The job applied to.")
    def job(self) -> Job | None:
        job = self._order.job
        return Job.from_order(self.stored, job) if job else None

    @strawberry.field(description="The candidate's application in the ATS.")
    def application(self) -> Application | None:
        application = self._order.application
        return Application.from_model(application) if application else None

    @strawberry.field(description="The package (assessment) ordered.")
    def package(self) -> Package | None:
        ref = self._order.package
        if ref is None:
            return None
        return Package.from_ref(self.stored.connection_id, ref)

    @strawberry.field(description="The recruiter who ordered, where the provider says.")
    def requester(self) -> HiringTeamMember | None:
        requester = self._order.requester
        return HiringTeamMember.from_model(requester) if requester else None

    @strawberry.field(description="The result, once there is one.")
    def result(self) -> AssessmentResult | None:
        result = self._order.result
        return AssessmentResult.from_model(result) if result else None

    @strawberry.field(
        description="How the delivery of the newest submitted result to the provider "
        "stands; null when no result was submitted through ordergraph. Never served from "
        "the response cache."
    )
    async def result_delivery(self, info: GraphInfo) -> ResultDelivery | None:
        view = await delivery_view(context_of(info), self.stored.id)
        return ResultDelivery.from_view(view) if view else None

    @strawberry.field(description="Where the candidate takes the test (StackOne).")
    def test_url(self) -> str | None:
        return self._order.test_url

    @strawberry.field(description="Where to send the candidate after the assessment.")
    def target_url(self) -> str | None:
        return self._order.target_url

    @strawberry.field(description="Where the candidate is redirected after the result.")
    def redirect_url(self) -> str | None:
        return self._order.redirect_url

    @strawberry.field(description="Status changes of this order, oldest first.")
    async def events(
        self, info: GraphInfo, first: int | None = None, after: str | None = None
    ) -> OrderEventConnection:
        page = await order_resolvers.order_events_page(
            context_of(info), self.stored.id, first=first, after=after
        )
        return OrderEventConnection.from_page(page)


@strawberry.type(description="An order in a list, with its cursor.")
class OrderEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this position.")
    node: Order = strawberry.field(description="The order.")


@strawberry.type(description="A page of orders.")
class OrderConnection:
    edges: list[OrderEdge] = strawberry.field(description="The orders of this page.")
    page_info: relay.PageInfo = strawberry.field(description="Where this page stands.")
    where: strawberry.Private[OrderFilter]

    @classmethod
    def from_page(cls, page: OrderPage, where: OrderFilter) -> OrderConnection:
        edges = [OrderEdge(cursor=e.cursor, node=Order.wrap(e.node)) for e in page.edges]
        return build_connection(
            cls,
            edges,
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            where=where,
        )

    @strawberry.field(description="How many orders match, over all pages.")
    async def total_count(self, info: GraphInfo) -> int:
        return await order_resolvers.count_orders(context_of(info), self.where)

    @strawberry.field(description="The orders of this page, without edges.")
    def nodes(self) -> list[Order]:
        return [edge.node for edge in self.edges]
