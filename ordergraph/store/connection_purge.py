"""Deleting a removed connection's orders with everything that hangs off them.

Runs inside ``ConnectionStore.remove``'s transaction, which holds the tenant's ingestion
lock: no ingestion of the tenant can add an order or event for the connection half-way.
Event ids are never reused (SQLite AUTOINCREMENT, PostgreSQL sequences), so deleting
this connection's events leaves every other event's id, and every cursor naming one,
as it was.
"""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergraph.store.tables import order_events, orders, pending_deliveries, sync_state

__all__ = ["PurgeCounts", "purge_connection_orders"]


class PurgeCounts(NamedTuple):
    orders: int
    events: int


async def purge_connection_orders(
    conn: AsyncConnection, tenant: str, connection_id: str
) -> PurgeCounts:
    """Delete ``tenant``'s orders of ``connection_id``, their events, their queued
    result deliveries and the connection's sync state; four statements, each on an
    index, whatever the number of orders."""
    of_connection = sa.select(orders.c.id).where(
        orders.c.tenant == tenant, orders.c.connection_id == connection_id
    )
    # Events first: they refer to their order.
    events = await conn.execute(
        order_events.delete().where(
            order_events.c.tenant == tenant, order_events.c.order_id.in_(of_connection)
        )
    )
    await conn.execute(
        pending_deliveries.delete().where(
            pending_deliveries.c.tenant == tenant,
            pending_deliveries.c.connection_id == connection_id,
        )
    )
    deleted = await conn.execute(
        orders.delete().where(orders.c.tenant == tenant, orders.c.connection_id == connection_id)
    )
    # So an add under the same id walks the provider from the start again.
    await conn.execute(sync_state.delete().where(sync_state.c.connection_id == connection_id))
    return PurgeCounts(orders=int(deleted.rowcount), events=int(events.rowcount))
