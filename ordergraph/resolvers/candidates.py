"""Looking up candidates and jobs, which have no table of their own: each is read from
an order that carries it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ordergraph.resolvers.context import Context
from ordergraph.resolvers.orders import PageRequest
from ordergraph.resolvers.public_errors import PublicError
from ordergraph.store import (
    CandidatePage,
    InvalidCursorError,
    OrderFilter,
    PaginationError,
    StoredOrder,
)

__all__ = [
    "candidate_order_filter",
    "candidate_orders",
    "count_candidates",
    "job_order_filter",
    "job_orders",
    "page_candidates",
]


async def _candidate_order(context: Context, node_id: str) -> StoredOrder | None:
    """The newest order of the candidate behind ``node_id`` (``e:<email>`` or ``o:<order>``)."""
    kind, _, value = node_id.partition(":")
    if kind == "e" and value:
        return await context.loaders.newest_order_by_candidate.load(value)
    if kind == "o" and value:
        return await context.loaders.order_by_id.load(value)
    return None


async def _job_order(context: Context, node_id: str) -> StoredOrder | None:
    """The newest order for the job behind ``node_id`` (``j:<conn>:<job>`` or ``o:<order>``)."""
    kind, _, value = node_id.partition(":")
    if kind == "j":
        connection_id, _, job_remote_id = value.partition(":")
        if connection_id and job_remote_id:
            return await context.loaders.newest_order_by_job.load((connection_id, job_remote_id))
        return None
    if kind == "o" and value:
        return await context.loaders.order_by_id.load(value)
    return None


async def candidate_orders(context: Context, node_ids: Sequence[str]) -> list[StoredOrder | None]:
    """For each candidate node key, the order the candidate is read from (or None); the
    loads of all keys are batched (one query per kind of key).

    Plain gather, not ``bounded_gather``: these are dataloader loads, which a bound
    would split into several batches (ordergraph/concurrency.py says why)."""
    return list(await asyncio.gather(*(_candidate_order(context, key) for key in node_ids)))


async def job_orders(context: Context, node_ids: Sequence[str]) -> list[StoredOrder | None]:
    """For each job node key, the order the job is read from (or None), batched."""
    return list(await asyncio.gather(*(_job_order(context, key) for key in node_ids)))


def candidate_order_filter(node_key: str, source_order: str) -> OrderFilter:
    """The orders of a candidate: all of its email's, or only the one it was read from."""
    if node_key.startswith("e:"):
        return OrderFilter(candidate_email=node_key.removeprefix("e:"))
    return OrderFilter(order_ids=[source_order])


def job_order_filter(
    connection_id: str, job_remote_id: str | None, source_order: str
) -> OrderFilter:
    """The orders for a job: all on its connection with its id, or only its own order."""
    if job_remote_id:
        return OrderFilter(connection_ids=[connection_id], job_remote_id=job_remote_id)
    return OrderFilter(order_ids=[source_order])


async def page_candidates(
    context: Context, *, search: str | None, request: PageRequest
) -> CandidatePage:
    """One page of the tenant's candidates (one per email), in email order."""
    checked = request.checked(context.services.settings.limits.max_page_size)
    try:
        return await context.services.store.orders.candidates(
            context.require_tenant(),
            search=search,
            first=checked.first,
            after=checked.after,
            last=checked.last,
            before=checked.before,
        )
    except InvalidCursorError as exc:
        raise PublicError("the cursor is not valid for this list", code="INVALID_CURSOR") from exc
    except PaginationError as exc:
        raise PublicError(str(exc), code="INVALID_ARGUMENT") from exc


async def count_candidates(context: Context, search: str | None) -> int:
    return await context.services.store.orders.count_candidates(context.require_tenant(), search)
