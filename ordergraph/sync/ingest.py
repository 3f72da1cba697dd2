"""The one ingestion operation: store the orders and their events, then wake subscribers.

Webhooks, the Kombo poller and our own mutations all end here, so every source gets
the same guarantees: one transaction per call, no event for an unchanged order, and a
wake-up only after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime

from ordergraph.broker import Broker
from ordergraph.models import Order
from ordergraph.store import EventSource, IngestResult, OrderStore, WebhookReceipt
from ordergraph.sync.connections import LiveConnection

__all__ = ["Ingestor"]

logger = logging.getLogger(__name__)


class Ingestor:
    """Store-then-publish for one store and broker."""

    def __init__(self, orders: OrderStore, broker: Broker) -> None:
        self.orders = orders
        self.broker = broker

    async def ingest(
        self,
        connection: LiveConnection,
        orders: Sequence[Order],
        source: EventSource,
        *,
        receipt: WebhookReceipt | None = None,
        read_at: datetime | None = None,
        status_if_new: Collection[str] = (),
    ) -> IngestResult:
        """Store ``orders``; with a webhook ``receipt``, at most once per receipt
        (``IngestResult.duplicate`` when it was taken before). ``read_at``: when the
        provider read that returned them began, so a read that predates a delivered
        result cannot put the old status back (``OrderStore.ingest``). ``status_if_new``:
        remote ids whose status applies to a new order only (a delivery that cannot show
        it is newer than the stored row; ordergraph/sync/confirm.py)."""
        result = await self.orders.ingest(
            connection.tenant,
            connection.id,
            orders,
            source,
            receipt=receipt,
            read_at=read_at,
            status_if_new=status_if_new,
        )
        if result.events:
            # After the commit: a subscriber woken now finds the events in the log.
            await self.broker.publish(connection.tenant, result.events[-1].id)
        if result.changed:
            logger.debug(
                "ingested %d orders for %s from %s: %d new, %d updated, %d events",
                len(orders),
                connection.id,
                source.value,
                result.inserted,
                result.updated,
                len(result.events),
            )
        return result
