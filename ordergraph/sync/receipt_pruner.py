"""Forget webhook receipts older than the replay window, so the table stays bounded.

The table then holds about ``replay_window`` worth of deliveries. A delivery re-sent
after its receipt went is ingested again; ingestion skips orders the store holds a
newer ``updated_at`` for, so such a late copy can only repeat what it said then.
Run by one process at a time (``server.BackgroundSync`` holds a lease for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from ordergraph.store import StoreError, WebhookReceipts
from ordergraph.store.types import utcnow

__all__ = ["ReceiptPruner"]

logger = logging.getLogger(__name__)


class ReceiptPruner:
    """Deletes receipts older than ``window``, now and then every ``interval``."""

    def __init__(
        self,
        receipts: WebhookReceipts,
        *,
        window: timedelta,
        interval: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.receipts = receipts
        self.window = window
        self.interval = interval
        self.clock = clock

    async def prune_once(self) -> int:
        """Delete the receipts that left the window; returns how many."""
        removed = await self.receipts.prune(self.clock() - self.window)
        if removed:
            logger.info("pruned %d webhook receipts older than %s", removed, self.window)
        return removed

    async def run(self, stop: asyncio.Event) -> None:
        """Prune until ``stop`` is set; a store outage is logged and retried next time."""
        while not stop.is_set():
            try:
                await self.prune_once()
            except (StoreError, SQLAlchemyError, OSError) as exc:
                logger.warning("could not prune webhook receipts: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval.total_seconds())
