"""Looking up candidates and jobs, which have no table of their own: each is read from
an order that carries it."""

from __future__ import annotations

from ordergraph.resolvers.context import Context
from ordergraph.store import OrderFilter, SortOrder, StoredOrder

__all__ = ["candidate_orders", "job_order"]


async def _latest(context: Context, where: OrderFilter) -> StoredOrder | None:
    page = await context.services.store.orders.page(
        context.require_tenant(), filter=where, first=1, order=SortOrder.DESC
    )
    return page.edges[0].node if page.edges else None


async def candidate_orders(context: Context, node_id: str) -> StoredOrder | None:
    """The newest order of the candidate behind ``node_id`` (``e:<email>`` or ``o:<order>``)."""
    kind, _, value = node_id.partition(":")
    if kind == "e" and value:
        return await _latest(context, OrderFilter(candidate_email=value))
    if kind == "o" and value:
        return await context.loaders.order_by_id.load(value)
    return None


async def job_order(context: Context, node_id: str) -> StoredOrder | None:
    """The newest order for the job behind ``node_id`` (``j:<conn>:<job>`` or ``o:<order>``)."""
    kind, _, value = node_id.partition(":")
    if kind == "j":
        connection_id, _, job_remote_id = value.partition(":")
        if connection_id and job_remote_id:
            return await _latest(
                context,
                OrderFilter(connection_ids=[connection_id], job_remote_id=job_remote_id),
            )
        return None
    if kind == "o" and value:
        return await context.loaders.order_by_id.load(value)
    return None
