"""The node types: Order, Candidate, Job, Package, ProviderConnection, and OrderEvent.

Each wraps what the store or an adapter returned (kept in a ``Private`` field) and
resolves the rest through the request's loaders. Global ids are Relay ``GlobalID``s
of these node keys:

- ``Order``: ``<connection id>:<remote id>``
- ``Candidate``: ``e:<lower-cased email>`` (one candidate per email across
  connections), or ``o:<order key>`` for a candidate without an email
- ``Job``: ``j:<connection id>:<job remote id>``, or ``o:<order key>`` without one
- ``Package``: ``<connection id>:<package remote id>``
- ``ProviderConnection``: the connection id
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ordergraph import models
from ordergraph.errors import ProviderError
from ordergraph.models import OrderStatus, PackageType, ProviderName
from ordergraph.providers.base import Capability
from ordergraph.resolvers import orders as order_resolvers
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.orders import PageRequest
from ordergraph.resolvers.subscriptions import event_context
from ordergraph.schema.access import require_pii
from ordergraph.schema.errors import PublicError, provider_failure
from ordergraph.schema.values import (
    Address,
    Application,
    AssessmentResult,
    HiringTeamMember,
    Location,
)
from ordergraph.store import (
    Delivery,
    DeliveryState,
    EventSource,
    OrderFilter,
    OrderPage,
    StoredEvent,
    StoredOrder,
)
from ordergraph.store.types import utcnow

__all__ = [
    "Candidate",
    "CandidateConnection",
    "CandidateEdge",
    "Job",
    "Order",
    "OrderConnection",
    "OrderEdge",
    "OrderEvent",
    "OrderEventConnection",
    "OrderEventEdge",
    "Package",
    "ProviderConnection",
    "ResultDelivery",
    "SyncStatus",
]

GraphInfo = Info[Context, None]


def _context(info: GraphInfo) -> Context:
    # Inside a subscription event: that event's context (its own fresh loaders).
    return event_context() or info.context


# --- orders ------------------------------------------------------------------------------


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
        found = await order_resolvers.load_orders(_context(info), list(node_ids))
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
        return ProviderConnection.for_id(_context(info), self.stored.connection_id, self._order)

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
        delivery = await _context(info).loaders.result_delivery_by_order.load(self.stored.id)
        return ResultDelivery.from_delivery(delivery) if delivery else None

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
        context = _context(info)
        cap = context.services.settings.limits.max_page_size
        request = PageRequest(first=first, after=after).checked(cap)
        size = request.first if request.first is not None else cap
        after_id = OrderEventConnection.decode_cursor(after) if after else None
        events = await order_resolvers.order_events(
            context, self.stored.id, after=after_id, limit=size + 1
        )
        return OrderEventConnection.build(events[:size], has_next=len(events) > size)


@strawberry.type(
    description="A submitted result on its way to the order's provider (the result "
    "itself is `Order.result`)."
)
class ResultDelivery:
    state: DeliveryState = strawberry.field(description="Where the delivery stands.")
    attempts: int = strawberry.field(description="Attempts made (or started) so far.")
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed (provider, request and status; never a "
        "credential); null once delivered or before any failure."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due (PENDING only)."
    )
    submitted_at: datetime = strawberry.field(description="When the result was recorded.")
    updated_at: datetime = strawberry.field(description="When the delivery last changed.")

    @classmethod
    def from_delivery(cls, delivery: Delivery) -> ResultDelivery:
        state = delivery.state
        # A claim whose lease ran out (its process died) is due again: waiting, not sent.
        if state is DeliveryState.IN_FLIGHT and delivery.next_attempt_at <= utcnow():
            state = DeliveryState.PENDING
        return cls(
            state=state,
            attempts=delivery.attempts,
            last_error=None if state is DeliveryState.DELIVERED else delivery.last_error,
            next_attempt_at=delivery.next_attempt_at if state is DeliveryState.PENDING else None,
            submitted_at=delivery.created_at,
            updated_at=delivery.updated_at,
        )


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
        return cls(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            where=where,
        )

    @strawberry.field(description="How many orders match, over all pages.")
    async def total_count(self, info: GraphInfo) -> int:
        return await order_resolvers.count_orders(_context(info), self.where)

    @strawberry.field(description="The orders of this page, without edges.")
    def nodes(self) -> list[Order]:
        return [edge.node for edge in self.edges]


# --- events ------------------------------------------------------------------------------

_EVENT_CURSOR_PREFIX = "event:"
_MAX_EVENT_ID = 2**63 - 1


@strawberry.type(description="A change of an order's status.")
class OrderEvent:
    stored: strawberry.Private[StoredEvent]
    # A subscription gives each event its own context (fresh loaders): the socket's
    # context lives as long as the socket, and its loaders would serve stale orders.
    event_context: strawberry.Private[Context | None] = None

    @strawberry.field(description="Cursor of this event in the log (resume after it).")
    def cursor(self) -> str:
        return OrderEventConnection.encode_cursor(self.stored.id)

    @strawberry.field(description="The order as it is now.")
    async def order(self, info: GraphInfo) -> Order | None:
        context = self.event_context or _context(info)
        # Shielded: one event's loaders are shared by every subscriber receiving it, and
        # a subscriber that goes away must not cancel the load the others await.
        stored = await asyncio.shield(order_resolvers.load_order(context, self.stored.order_id))
        return Order.wrap(stored) if stored else None

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
    page_info: relay.PageInfo = strawberry.field(description="Where this page stands.")

    @staticmethod
    def encode_cursor(event_id: int) -> str:
        return base64.urlsafe_b64encode(f"{_EVENT_CURSOR_PREFIX}{event_id}".encode()).decode()

    @staticmethod
    def decode_cursor(cursor: str) -> int:
        try:
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
            if not text.startswith(_EVENT_CURSOR_PREFIX):
                raise ValueError(text)
            value = int(text.removeprefix(_EVENT_CURSOR_PREFIX))
        except (ValueError, UnicodeDecodeError) as exc:
            raise PublicError("the event cursor is not valid", code="INVALID_CURSOR") from exc
        # Event ids are 64-bit integers in the store: a larger one is no cursor of ours
        # (and would overflow the database driver instead of matching nothing).
        if not 0 <= value <= _MAX_EVENT_ID:
            raise PublicError("the event cursor is not valid", code="INVALID_CURSOR")
        return value

    @classmethod
    def build(cls, events: list[StoredEvent], *, has_next: bool) -> OrderEventConnection:
        edges = [
            OrderEventEdge(cursor=cls.encode_cursor(e.id), node=OrderEvent(stored=e))
            for e in events
        ]
        return cls(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=has_next,
                has_previous_page=False,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


# --- candidates and jobs ------------------------------------------------------------------


@strawberry.type(
    description="A person taking assessments: one candidate per email across connections."
)
class Candidate(relay.Node):
    key: relay.NodeID[str]
    model: strawberry.Private[models.Candidate]
    source_order: strawberry.Private[str]

    @classmethod
    def from_order(cls, stored: StoredOrder, candidate: models.Candidate) -> Candidate:
        email = candidate.emails[0].lower() if candidate.emails else None
        key = f"e:{email}" if email else f"o:{stored.id}"
        return cls(key=key, model=candidate, source_order=stored.id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[Candidate | None]:
        from ordergraph.resolvers.candidates import candidate_orders

        context = _context(info)
        answers: list[Candidate | None] = []
        for node_id in node_ids:
            stored = await candidate_orders(context, node_id)
            answers.append(
                cls(key=node_id, model=stored.order.candidate, source_order=stored.id)
                if stored is not None and stored.order.candidate is not None
                else None
            )
        return answers

    @strawberry.field(description="The candidate's id in the ATS of the order seen.")
    def remote_id(self) -> str | None:
        return self.model.remote_id

    @strawberry.field(description="First name.")
    def first_name(self) -> str | None:
        return self.model.first_name

    @strawberry.field(description="Last name.")
    def last_name(self) -> str | None:
        return self.model.last_name

    @strawberry.field(description="Full name, as given or from first and last name.")
    def name(self) -> str | None:
        if self.model.name:
            return self.model.name
        parts = [p for p in (self.model.first_name, self.model.last_name) if p]
        return " ".join(parts) or None

    @strawberry.field(description="Email addresses.")
    def emails(self) -> list[str]:
        return list(self.model.emails)

    @strawberry.field(description="Phone numbers.")
    def phones(self) -> list[str]:
        return list(self.model.phones)

    @strawberry.field(description="Link to the candidate's profile or resume.")
    def profile_url(self) -> str | None:
        return self.model.profile_url

    # --- sensitive fields: each needs the `pii` scope (ordergraph.schema.access) ---------

    @strawberry.field(
        description="Date of birth as the ATS gives it (usually YYYY-MM-DD). Needs the `pii` "
        "scope: without it null, with a FORBIDDEN error."
    )
    def date_of_birth(self, info: GraphInfo) -> str | None:
        require_pii(info, "Candidate.dateOfBirth")
        return self.model.date_of_birth

    @strawberry.field(
        description="National identifier (social security or insurance number). Needs the "
        "`pii` scope: without it null, with a FORBIDDEN error."
    )
    def national_identifier(self, info: GraphInfo) -> str | None:
        require_pii(info, "Candidate.nationalIdentifier")
        return self.model.national_identifier

    @strawberry.field(
        description="IP address the candidate applied from. Needs the `pii` scope: without it "
        "null, with a FORBIDDEN error."
    )
    def ip_address(self, info: GraphInfo) -> str | None:
        require_pii(info, "Candidate.ipAddress")
        return self.model.ip_address

    @strawberry.field(
        description="Gender as the ATS records it (Unified: MALE, FEMALE, INTERSEX, TRANS, "
        "NON_BINARY). Needs the `pii` scope: without it null, with a FORBIDDEN error."
    )
    def gender(self, info: GraphInfo) -> str | None:
        require_pii(info, "Candidate.gender")
        return self.model.gender

    @strawberry.field(
        description="Postal addresses. Needs the `pii` scope: without it null, with a "
        "FORBIDDEN error."
    )
    def addresses(self, info: GraphInfo) -> list[Address] | None:
        require_pii(info, "Candidate.addresses")
        return [Address.from_model(a) for a in self.model.addresses]

    @strawberry.field(description="This candidate's orders across all connections.")
    async def orders(
        self, info: GraphInfo, first: int | None = None, after: str | None = None
    ) -> OrderConnection:
        if self.key.startswith("e:"):
            where = OrderFilter(candidate_email=self.key.removeprefix("e:"))
        else:
            where = OrderFilter(order_ids=[self.source_order])
        page = await order_resolvers.page_orders(
            _context(info), where=where, request=PageRequest(first=first, after=after)
        )
        return OrderConnection.from_page(page, where)


@strawberry.type(description="A candidate in a list, with its cursor.")
class CandidateEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this position.")
    node: Candidate = strawberry.field(description="The candidate.")


@strawberry.type(description="A page of candidates, in email order.")
class CandidateConnection:
    edges: list[CandidateEdge] = strawberry.field(description="The candidates of this page.")
    page_info: relay.PageInfo = strawberry.field(description="Where this page stands.")
    search: strawberry.Private[str | None]

    @strawberry.field(description="How many candidates match, over all pages.")
    async def total_count(self, info: GraphInfo) -> int:
        from ordergraph.resolvers.candidates import count_candidates

        return await count_candidates(_context(info), self.search)


@strawberry.type(description="A job in a customer's ATS.")
class Job(relay.Node):
    key: relay.NodeID[str]
    model: strawberry.Private[models.Job]
    connection_id: strawberry.Private[str]
    source_order: strawberry.Private[str]

    @classmethod
    def from_order(cls, stored: StoredOrder, job: models.Job) -> Job:
        key = f"j:{stored.connection_id}:{job.remote_id}" if job.remote_id else f"o:{stored.id}"
        return cls(key=key, model=job, connection_id=stored.connection_id, source_order=stored.id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[Job | None]:
        from ordergraph.resolvers.candidates import job_order

        context = _context(info)
        answers: list[Job | None] = []
        for node_id in node_ids:
            stored = await job_order(context, node_id)
            job = stored.order.job if stored is not None else None
            answers.append(cls.from_order(stored, job) if stored and job else None)
        return answers

    @strawberry.field(description="The job's id in the ATS.")
    def remote_id(self) -> str | None:
        return self.model.remote_id

    @strawberry.field(description="Job title.")
    def title(self) -> str | None:
        return self.model.title

    @strawberry.field(description="The ATS's job code or requisition number.")
    def code(self) -> str | None:
        return self.model.code

    @strawberry.field(description="Job description (often HTML).")
    def description(self) -> str | None:
        return self.model.description

    @strawberry.field(description="Where the job is.")
    def location(self) -> Location | None:
        return Location.from_model(self.model.location) if self.model.location else None

    @strawberry.field(description="The job's hiring team.")
    def hiring_team(self) -> list[HiringTeamMember]:
        return [HiringTeamMember.from_model(m) for m in self.model.hiring_team]

    @strawberry.field(description="Orders for this job.")
    async def orders(
        self, info: GraphInfo, first: int | None = None, after: str | None = None
    ) -> OrderConnection:
        if self.model.remote_id:
            where = OrderFilter(
                connection_ids=[self.connection_id], job_remote_id=self.model.remote_id
            )
        else:
            where = OrderFilter(order_ids=[self.source_order])
        page = await order_resolvers.page_orders(
            _context(info), where=where, request=PageRequest(first=first, after=after)
        )
        return OrderConnection.from_page(page, where)


# --- packages and connections ------------------------------------------------------------


@strawberry.type(description="An assessment package offered on a connection.")
class Package(relay.Node):
    key: relay.NodeID[str]
    connection_id: strawberry.Private[str]
    ref: strawberry.Private[models.PackageRef | None]
    loaded: strawberry.Private[models.Package | None]

    @classmethod
    def from_ref(cls, connection_id: str, ref: models.PackageRef) -> Package:
        return cls(
            key=f"{connection_id}:{ref.remote_id}",
            connection_id=connection_id,
            ref=ref,
            loaded=None,
        )

    @classmethod
    def from_model(cls, connection_id: str, package: models.Package) -> Package:
        return cls(
            key=f"{connection_id}:{package.remote_id}",
            connection_id=connection_id,
            ref=None,
            loaded=package,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[Package | None]:
        context = _context(info)
        answers: list[Package | None] = []
        for node_id in node_ids:
            connection_id, _, remote_id = node_id.partition(":")
            connection = context.services.connections.get(connection_id)
            if connection is None or connection.tenant != context.require_tenant():
                answers.append(None)
                continue
            try:
                package = await context.loaders.package_by_key.load((connection_id, remote_id))
            except ProviderError as exc:
                raise provider_failure(exc) from exc
            answers.append(cls.from_model(connection_id, package) if package else None)
        return answers

    async def _details(self, info: GraphInfo) -> models.Package | None:
        if self.loaded is not None:
            return self.loaded
        assert self.ref is not None
        try:
            return await _context(info).loaders.package_by_key.load(
                (self.connection_id, self.ref.remote_id)
            )
        except ProviderError as exc:
            raise provider_failure(exc) from exc

    @strawberry.field(description="The package's id at the provider.")
    def remote_id(self) -> str:
        if self.loaded is not None:
            return self.loaded.remote_id
        assert self.ref is not None
        return self.ref.remote_id

    @strawberry.field(description="Package name (from the provider's package list).")
    async def name(self, info: GraphInfo) -> str | None:
        if self.ref is not None and self.ref.name:
            return self.ref.name
        details = await self._details(info)
        return details.name if details else None

    @strawberry.field(description="Package description.")
    async def description(self, info: GraphInfo) -> str | None:
        if self.ref is not None and self.ref.description:
            return self.ref.description
        details = await self._details(info)
        return details.description if details else None

    @strawberry.field(description="Kind of package.")
    async def type(self, info: GraphInfo) -> PackageType | None:
        details = await self._details(info)
        return details.type if details else None


@strawberry.type(description="How a connection's synchronisation stands.")
class SyncStatus:
    last_synced_at: datetime | None = strawberry.field(
        description="When the last poll or registration succeeded."
    )
    last_error: str | None = strawberry.field(description="The last failure, if any.")
    webhook_registered: bool = strawberry.field(
        description="True when ordergraph registered its webhook with the provider."
    )


@strawberry.type(description="One customer account at one provider.")
class ProviderConnection(relay.Node):
    key: relay.NodeID[str]
    provider_name: strawberry.Private[ProviderName]
    account_id: strawberry.Private[str | None]
    capability_set: strawberry.Private[frozenset[Capability]]

    @classmethod
    def for_id(
        cls, context: Context, connection_id: str, order: models.Order | None = None
    ) -> ProviderConnection:
        live = context.services.connections.get(connection_id)
        if live is not None:
            return cls(
                key=connection_id,
                provider_name=live.provider_name,
                account_id=live.settings.account,
                # What this connection can do (a StackOne connection's API version
                # decides whether it reads orders back), not its provider in general.
                capability_set=frozenset(
                    c for c in live.provider.capabilities if live.provider.supports(c)
                ),
            )
        # A connection removed from the settings: its orders remain readable.
        provider = order.provider if order else ProviderName.UNIFIED
        return cls(
            key=connection_id, provider_name=provider, account_id=None, capability_set=frozenset()
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[ProviderConnection | None]:
        context = _context(info)
        tenant = context.require_tenant()
        answers: list[ProviderConnection | None] = []
        for node_id in node_ids:
            live = context.services.connections.get(node_id)
            answers.append(
                cls.for_id(context, node_id) if live is not None and live.tenant == tenant else None
            )
        return answers

    @strawberry.field(description="The provider.")
    def provider(self) -> ProviderName:
        return self.provider_name

    @strawberry.field(
        description="The provider-side account id (Unified connection, StackOne account, "
        "Kombo integration)."
    )
    def account(self) -> str | None:
        return self.account_id

    @strawberry.field(description="What the provider lets ordergraph do on this connection.")
    def capabilities(self) -> list[Capability]:
        return sorted(self.capability_set, key=lambda c: c.value)

    @strawberry.field(description="Synchronisation state (polling, webhook registration).")
    async def sync_status(self, info: GraphInfo) -> SyncStatus:
        state = await _context(info).loaders.sync_state_by_connection.load(self.key)
        details: dict[str, Any] = dict(state.details) if state else {}
        return SyncStatus(
            last_synced_at=state.last_synced_at if state else None,
            last_error=state.last_error if state else None,
            webhook_registered=bool(details.get("webhook_ids")),
        )
