"""Candidates: one per email across a tenant's connections, read from their orders.

A ``Candidate``'s node key is ``e:<lower-cased email>``, or ``o:<order key>`` for a
candidate without an email. Its global id is that key signed, with the email sealed
(``ordergraph.ids``): no id carries an email.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET, relay

from ordergraph import models
from ordergraph.ids import NodeIdCodec
from ordergraph.resolvers import candidates as candidate_resolvers
from ordergraph.resolvers.node_keys import candidate_keys, codec_of
from ordergraph.resolvers.orders import PageRequest
from ordergraph.schema.access import require_pii
from ordergraph.schema.connection import build_connection, paged
from ordergraph.schema.info import NODE_ID_DESCRIPTION, GraphInfo, context_of
from ordergraph.schema.values import Address
from ordergraph.store import CandidatePage, StoredOrder

if TYPE_CHECKING:
    from ordergraph.schema.orders import OrderConnection

__all__ = ["Candidate", "CandidateConnection", "CandidateEdge"]


@strawberry.type(
    description="A person taking assessments: one candidate per email across connections."
)
class Candidate(relay.Node):
    # Plain fields, set once (see ``ordergraph.schema.orders``); the sensitive ones and
    # ``orders`` resolve, and come after them in the SDL as resolver fields do.
    id: relay.GlobalID = strawberry.field(description=NODE_ID_DESCRIPTION)
    remote_id: str | None = strawberry.field(
        description="The candidate's id in the ATS of the order seen."
    )
    first_name: str | None = strawberry.field(description="First name.")
    last_name: str | None = strawberry.field(description="Last name.")
    name: str | None = strawberry.field(
        description="Full name, as given or from first and last name."
    )
    emails: list[str] = strawberry.field(description="Email addresses.")
    phones: list[str] = strawberry.field(description="Phone numbers.")
    profile_url: str | None = strawberry.field(
        description="Link to the candidate's profile or resume."
    )
    key: strawberry.Private[str]
    model: strawberry.Private[models.Candidate]
    source_order: strawberry.Private[str]

    @classmethod
    def of(
        cls, key: str, candidate: models.Candidate, source_order: str, ids: NodeIdCodec
    ) -> Candidate:
        full_name = " ".join(p for p in (candidate.first_name, candidate.last_name) if p)
        return cls(
            id=relay.GlobalID("Candidate", ids.encode("Candidate", key)),
            remote_id=candidate.remote_id,
            first_name=candidate.first_name,
            last_name=candidate.last_name,
            name=candidate.name or full_name or None,
            emails=list(candidate.emails),
            phones=list(candidate.phones),
            profile_url=candidate.profile_url,
            key=key,
            model=candidate,
            source_order=source_order,
        )

    @classmethod
    def from_order(
        cls, stored: StoredOrder, candidate: models.Candidate, ids: NodeIdCodec
    ) -> Candidate:
        email = candidate.emails[0].lower() if candidate.emails else None
        return cls.of(f"e:{email}" if email else f"o:{stored.id}", candidate, stored.id, ids)

    @classmethod
    def resolve_id(cls, root: Candidate, *, info: GraphInfo) -> str:
        # The signed node id the node was built with, never the bare key.
        return root.id.node_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[Candidate | None]:
        context = context_of(info)
        keys = await candidate_keys(context, list(node_ids))
        wanted = [key for key in keys if key is not None]
        loaded = iter(await candidate_resolvers.candidate_orders(context, wanted))
        found = [next(loaded) if key is not None else None for key in keys]
        ids = codec_of(context)
        return [
            cls.of(key, stored.order.candidate, stored.id, ids)
            if key is not None and stored is not None and stored.order.candidate is not None
            else None
            for key, stored in zip(keys, found, strict=True)
        ]

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

    @strawberry.field(
        description=paged(
            "This candidate's orders across all connections.", "`createdAt` ascending, then id"
        )
    )
    async def orders(
        self,
        info: GraphInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        last: int | None = UNSET,
        before: str | None = UNSET,
    ) -> Annotated[OrderConnection, strawberry.lazy("ordergraph.schema.orders")]:
        from ordergraph.schema.orders import OrderConnection  # a cycle: Order.candidate

        where = candidate_resolvers.candidate_order_filter(self.key, self.source_order)
        return await OrderConnection.load(
            context_of(info), where, PageRequest.of(first, after, last, before)
        )


@strawberry.type(description="A candidate in a list, with its cursor.")
class CandidateEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this position.")
    node: Candidate = strawberry.field(description="The candidate.")


@strawberry.type(description="A page of candidates, in email order.")
class CandidateConnection:
    edges: list[CandidateEdge] = strawberry.field(description="The candidates of this page.")
    nodes: list[Candidate] = strawberry.field(
        description="The candidates of this page, without edges."
    )
    page_info: relay.PageInfo = strawberry.field(description="Where this page stands.")
    search: strawberry.Private[str | None]

    @classmethod
    def from_page(
        cls,
        page: CandidatePage,
        orders: list[StoredOrder | None],
        search: str | None,
        ids: NodeIdCodec,
    ) -> CandidateConnection:
        """The page's candidates, each read from the order representing it (``orders``,
        in edge order)."""
        edges = [
            CandidateEdge(
                cursor=edge.cursor, node=Candidate.from_order(order, order.order.candidate, ids)
            )
            for edge, order in zip(page.edges, orders, strict=True)
            if order is not None and order.order.candidate is not None
        ]
        return build_connection(
            cls,
            edges,
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            search=search,
        )

    @strawberry.field(description="How many candidates match, over all pages.")
    async def total_count(self, info: GraphInfo) -> int:
        return await candidate_resolvers.count_candidates(context_of(info), self.search)
