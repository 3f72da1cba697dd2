"""Orders: the ``Order`` node and its Relay connection.

An ``Order``'s key is ``<connection id>:<remote id>``; its global id is that key signed
(``ordergraph.ids``), so it cannot be written from the provider's ids.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import UNSET, relay

from ordergraph.ids import NodeIdCodec
from ordergraph.models import OrderStatus, ProviderName
from ordergraph.resolvers import orders as order_resolvers
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.deliveries import delivery_view
from ordergraph.resolvers.node_keys import codec_of, order_keys
from ordergraph.resolvers.orders import PageRequest
from ordergraph.schema.candidates import Candidate
from ordergraph.schema.completed import keep_completed
from ordergraph.schema.connection import build_connection, paged
from ordergraph.schema.connections import ProviderConnection
from ordergraph.schema.direct_resolvers import direct
from ordergraph.schema.events import OrderEventConnection
from ordergraph.schema.info import NODE_ID_DESCRIPTION, GraphInfo, context_of
from ordergraph.schema.jobs import Job
from ordergraph.schema.packages import Package
from ordergraph.schema.results import ResultDelivery
from ordergraph.schema.values import (
    Application,
    AssessmentResult,
    HiringTeamMember,
)
from ordergraph.store import OrderFilter, OrderPage, SortOrder, StoredOrder

__all__ = ["Order", "OrderConnection", "OrderEdge"]


# The fields that load something or need the context. Module functions rather than
# methods, so each keeps its place among the plain fields (the SDL's field order).


def _connection(root: Order, info: GraphInfo) -> ProviderConnection:
    return ProviderConnection.for_id(context_of(info), root.stored.connection_id, root.stored.order)


async def _result_delivery(root: Order, info: GraphInfo) -> ResultDelivery | None:
    view = await delivery_view(context_of(info), root.stored.id)
    return ResultDelivery.from_view(view) if view else None


async def _events(
    root: Order,
    info: GraphInfo,
    first: int | None = UNSET,
    after: str | None = UNSET,
    last: int | None = UNSET,
    before: str | None = UNSET,
) -> OrderEventConnection:
    page = await order_resolvers.order_events_page(
        context_of(info), root.stored.id, PageRequest.of(first, after, last, before)
    )
    return OrderEventConnection.from_page(page)


# Every field whose value the stored order already holds is a plain attribute, set once
# when the node is built: graphql-core reads it without Strawberry's per-field resolver
# wrapping (an Info object, argument conversion, extension chain), which cost several
# times the read itself. Only fields that load something (or need the context) resolve.
@strawberry.type(description="An assessment order from one connection's ATS.")
class Order(relay.Node):
    id: relay.GlobalID = strawberry.field(description=NODE_ID_DESCRIPTION)
    remote_id: str = strawberry.field(description="The order's id at the provider.")
    provider: ProviderName = strawberry.field(description="The provider the order came through.")

    connection: ProviderConnection = strawberry.field(
        resolver=_connection,
        description="The connection (customer account) the order belongs to.",
        metadata=direct(_connection),
    )

    status: OrderStatus = strawberry.field(description="Canonical status.")
    provider_status: str | None = strawberry.field(
        description="The provider's own status word, unmapped."
    )
    created_at: datetime = strawberry.field(
        description="When the order was created: the provider's time, or when ordergraph "
        "first saw it if the provider does not say (Kombo, StackOne)."
    )
    created_at_from_provider: bool = strawberry.field(
        description="True when `createdAt` is the provider's own time."
    )
    updated_at: datetime = strawberry.field(
        description="When the order last changed: the provider's time where it gives one "
        "(Unified), else when ordergraph saw the last change (Kombo and StackOne give none; "
        "then equal to `ingestedAt`). What `filter: {updatedSince}` compares."
    )
    updated_at_from_provider: bool = strawberry.field(
        description="True when `updatedAt` is the provider's own time."
    )
    ingested_at: datetime = strawberry.field(
        description="When ordergraph last stored a change to the order."
    )
    candidate: Candidate | None = strawberry.field(
        description="The candidate taking the assessment."
    )
    job: Job | None = strawberry.field(description="The job applied to.")
    application: Application | None = strawberry.field(
        description="The candidate's application in the ATS."
    )
    package: Package | None = strawberry.field(description="The package (assessment) ordered.")
    requester: HiringTeamMember | None = strawberry.field(
        description="The recruiter who ordered, where the provider says."
    )
    result: AssessmentResult | None = strawberry.field(description="The result, once there is one.")

    result_delivery: ResultDelivery | None = strawberry.field(
        resolver=_result_delivery,
        description="How the delivery of the newest submitted result to the provider "
        "stands; null when no result was submitted through ordergraph. Never served from "
        "the response cache.",
    )

    test_url: str | None = strawberry.field(
        description="Where the candidate takes the test (StackOne)."
    )
    target_url: str | None = strawberry.field(
        description="Where to send the candidate after the assessment."
    )
    redirect_url: str | None = strawberry.field(
        description="Where the candidate is redirected after the result."
    )

    events: OrderEventConnection = strawberry.field(
        resolver=_events,
        description=paged(
            "Status changes of this order; `last` reads from the newest.",
            "oldest first (event order), on every page",
        ),
    )

    stored: strawberry.Private[StoredOrder]

    @classmethod
    def wrap(cls, stored: StoredOrder, ids: NodeIdCodec) -> Order:
        """The node of a stored order, every plain field (and id) computed once, and
        built once per process for the same row (``_BUILT``)."""
        return _BUILT.node(stored, ids)

    @classmethod
    def build(cls, stored: StoredOrder, ids: NodeIdCodec) -> Order:
        """A new node of ``stored`` (``wrap`` gives the one already built)."""
        order = stored.order
        return cls(
            id=relay.GlobalID("Order", ids.encode("Order", stored.id)),
            remote_id=order.remote_id,
            provider=order.provider,
            status=order.status,
            provider_status=order.provider_status,
            created_at=stored.created_at,
            created_at_from_provider=order.created_at is not None,
            # The same value the store's ``changed_at`` holds (store/tables.py), which
            # ``updatedSince`` filters on.
            updated_at=order.updated_at or stored.ingested_at,
            updated_at_from_provider=order.updated_at is not None,
            ingested_at=stored.ingested_at,
            candidate=Candidate.from_order(stored, order.candidate, ids)
            if order.candidate
            else None,
            job=Job.from_order(stored, order.job, ids) if order.job else None,
            application=Application.from_model(order.application) if order.application else None,
            package=Package.from_ref(stored.connection_id, order.package, ids)
            if order.package
            else None,
            requester=HiringTeamMember.from_model(order.requester) if order.requester else None,
            result=AssessmentResult.from_model(order.result) if order.result else None,
            test_url=order.test_url,
            target_url=order.target_url,
            redirect_url=order.redirect_url,
            stored=stored,
        )

    @classmethod
    def resolve_id(cls, root: Order, *, info: GraphInfo) -> str:
        # The signed node id the node was built with, never the bare key.
        return root.id.node_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[Order | None]:
        context = context_of(info)
        keys = await order_keys(context, list(node_ids))
        wanted = [key for key in keys if key is not None]
        loaded = dict(zip(wanted, await order_resolvers.load_orders(context, wanted), strict=True))
        ids = codec_of(context)
        return [
            cls.wrap(stored, ids)
            if key is not None and (stored := loaded.get(key)) is not None
            else None
            for key in keys
        ]


class _BuiltNodes:
    """Order nodes by the row they were built from: an LRU.

    Building a page's nodes (ids, candidates, jobs, packages) was ~1.5 ms of a 50-order
    page, for the same rows page after page. A node is a pure function of its
    ``StoredOrder`` and the id codec, and nothing mutates it once built (graphql-core
    reads attributes; resolvers read ``stored``), so one node serves every read of the
    same row. The key is every field of the row, with the decoded document by identity
    (``ordergraph.store.decoded`` shares one model per document text) and the codec by
    identity; the entry keeps both alive, so an identity cannot be reused while it is a key.
    """

    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[object, ...], tuple[NodeIdCodec, Order]] = OrderedDict()

    def node(self, stored: StoredOrder, ids: NodeIdCodec) -> Order:
        key = (
            id(ids),
            id(stored.order),
            stored.id,
            stored.tenant,
            stored.connection_id,
            stored.created_at,
            stored.created_at_source,
            stored.first_seen_at,
            stored.ingested_at,
            stored.version,
        )
        entries = self._entries
        entry = entries.get(key)
        if entry is not None and entry[0] is ids and entry[1].stored.order is stored.order:
            entries.move_to_end(key)
            return entry[1]
        node = _shared(Order.build(stored, ids))
        entries[key] = (ids, node)
        if len(entries) > self.max_entries:
            entries.popitem(last=False)
        return node


def _shared(node: Order) -> Order:
    """``node`` and the objects it holds keep their completed selections: all are
    shared by every read of the row and never change (``schema/completed.py``)."""
    for part in (node, node.candidate, node.job, node.package):
        if part is not None:
            keep_completed(part)
    return node


_BUILT = _BuiltNodes()


@strawberry.type(description="An order in a list, with its cursor.")
class OrderEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this position.")
    node: Order = strawberry.field(description="The order.")


@strawberry.type(description="A page of orders.")
class OrderConnection:
    edges: list[OrderEdge] = strawberry.field(description="The orders of this page.")
    nodes: list[Order] = strawberry.field(description="The orders of this page, without edges.")
    page_info: relay.PageInfo = strawberry.field(description="Where this page stands.")
    where: strawberry.Private[OrderFilter]

    @classmethod
    def from_page(cls, page: OrderPage, where: OrderFilter, ids: NodeIdCodec) -> OrderConnection:
        edges = [OrderEdge(cursor=e.cursor, node=Order.wrap(e.node, ids)) for e in page.edges]
        return build_connection(
            cls,
            edges,
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            where=where,
        )

    @classmethod
    async def load(
        cls,
        context: Context,
        where: OrderFilter,
        request: PageRequest,
        order: SortOrder = SortOrder.ASC,
    ) -> OrderConnection:
        """One page of the orders ``where`` selects: how every list of orders is read
        (``Query.orders``, ``Candidate.orders``, ``Job.orders``)."""
        page = await order_resolvers.page_orders(context, where=where, request=request, order=order)
        return cls.from_page(page, where, codec_of(context))

    @strawberry.field(description="How many orders match, over all pages.")
    async def total_count(self, info: GraphInfo) -> int:
        return await order_resolvers.count_orders(context_of(info), self.where)
