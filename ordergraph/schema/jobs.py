"""Jobs of a customer's ATS, read from the orders for them.

A ``Job``'s node key is ``j:<connection id>:<job remote id>``, or ``o:<order key>``
for a job without a remote id; its global id is that key signed (``ordergraph.ids``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET, relay

from ordergraph import models
from ordergraph.ids import NodeIdCodec
from ordergraph.resolvers import candidates as candidate_resolvers
from ordergraph.resolvers.node_keys import codec_of, job_keys
from ordergraph.resolvers.orders import PageRequest
from ordergraph.schema.connection import paged
from ordergraph.schema.info import NODE_ID_DESCRIPTION, GraphInfo, context_of
from ordergraph.schema.values import HiringTeamMember, Location
from ordergraph.store import StoredOrder

if TYPE_CHECKING:
    from ordergraph.schema.orders import OrderConnection

__all__ = ["Job"]


@strawberry.type(description="A job in a customer's ATS.")
class Job(relay.Node):
    # Plain fields, set once (see ``ordergraph.schema.orders``); ``orders`` resolves.
    id: relay.GlobalID = strawberry.field(description=NODE_ID_DESCRIPTION)
    remote_id: str | None = strawberry.field(description="The job's id in the ATS.")
    title: str | None = strawberry.field(description="Job title.")
    code: str | None = strawberry.field(description="The ATS's job code or requisition number.")
    description: str | None = strawberry.field(description="Job description (often HTML).")
    location: Location | None = strawberry.field(description="Where the job is.")
    hiring_team: list[HiringTeamMember] = strawberry.field(description="The job's hiring team.")
    key: strawberry.Private[str]
    model: strawberry.Private[models.Job]
    connection_id: strawberry.Private[str]
    source_order: strawberry.Private[str]

    @classmethod
    def from_order(cls, stored: StoredOrder, job: models.Job, ids: NodeIdCodec) -> Job:
        key = f"j:{stored.connection_id}:{job.remote_id}" if job.remote_id else f"o:{stored.id}"
        return cls(
            id=relay.GlobalID("Job", ids.encode("Job", key)),
            remote_id=job.remote_id,
            title=job.title,
            code=job.code,
            description=job.description,
            location=Location.from_model(job.location) if job.location else None,
            hiring_team=[HiringTeamMember.from_model(m) for m in job.hiring_team],
            key=key,
            model=job,
            connection_id=stored.connection_id,
            source_order=stored.id,
        )

    @classmethod
    def resolve_id(cls, root: Job, *, info: GraphInfo) -> str:
        # The signed node id the node was built with, never the bare key.
        return root.id.node_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[Job | None]:
        context = context_of(info)
        keys = await job_keys(context, list(node_ids))
        loaded = iter(
            await candidate_resolvers.job_orders(context, [k for k in keys if k is not None])
        )
        found = [next(loaded) if key is not None else None for key in keys]
        ids = codec_of(context)
        return [
            cls.from_order(stored, stored.order.job, ids)
            if stored is not None and stored.order.job is not None
            else None
            for stored in found
        ]

    @strawberry.field(description=paged("Orders for this job.", "`createdAt` ascending, then id"))
    async def orders(
        self,
        info: GraphInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        last: int | None = UNSET,
        before: str | None = UNSET,
    ) -> Annotated[OrderConnection, strawberry.lazy("ordergraph.schema.orders")]:
        from ordergraph.schema.orders import OrderConnection  # a cycle: Order.job

        where = candidate_resolvers.job_order_filter(
            self.connection_id, self.model.remote_id, self.source_order
        )
        return await OrderConnection.load(
            context_of(info), where, PageRequest.of(first, after, last, before)
        )
