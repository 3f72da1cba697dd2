"""The order poller: one per connection whose provider declares polling
(``ProviderPlugin.polling``; Kombo today, the one provider that lists orders).

Rescanning every order each cycle would cost one request per page of orders forever.
So:

1. **First run**: walk every order (pages of the adapter's ``bulk_page_size``),
   ingesting page by page; the cursor is saved after each page so a restart resumes
   instead of starting over.
2. **Each later cycle**:
   a. orders created since the previous cycle began (``created_after``, inclusive,
      with an overlap for clock skew) — new orders in any status;
   b. every OPEN order — status and content changes of the orders still open;
   c. the orders the index holds as OPEN that (b) did not return have left OPEN:
      read them back by id (``get_orders``, in the plug-in's ``id_batch`` batches: 250
      for Kombo) and ingest their new status.

This rests on what a polled provider promises (its plug-in declares polling only if
so): an order that is not OPEN no longer changes status (Kombo's result status may
change only while OPEN), so nothing else needs checking. Events only come from
real changes: the store appends none for an unchanged order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ordergraph.backoff import Backoff, Jitter
from ordergraph.errors import ProviderError
from ordergraph.models import Order, OrderStatus
from ordergraph.store import EventSource, OrderFilter, OrderStore, SyncState, SyncStateStore
from ordergraph.sync.connections import LiveConnection
from ordergraph.sync.ingest import Ingestor

__all__ = ["OrderPoller", "PollReport", "poll_interval"]

logger = logging.getLogger(__name__)

# created_after is compared with the provider's clock; re-reading a few minutes
# costs little (unchanged orders write nothing) and covers skew and slow commits.
DISCOVERY_OVERLAP = timedelta(minutes=5)
STORE_PAGE = 1000
_INITIAL_DONE = "initial_sync_complete"
_DISCOVERED_FROM = "discovered_from"
# Which process ran the last cycle (several processes: the lease holder).
_POLLED_BY = "polled_by"


def poll_interval(connection: LiveConnection, configured: float | None) -> float:
    """Seconds between one connection's polls: its own ``poll_interval``, else the
    ``[sync] poll_interval`` (``configured``), else what its provider's plug-in says."""
    if connection.settings.poll_interval is not None:
        return connection.settings.poll_interval
    if configured is not None:
        return configured
    polling = connection.plugin.polling
    if polling is None:
        msg = f"{connection.id}: {connection.plugin.label} declares no polling"
        raise ValueError(msg)
    return polling.interval


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollReport:
    """What one cycle did (for logs, metrics and tests)."""

    initial: bool = False
    pages: int = 0
    orders_listed: int = 0
    orders_read_by_id: int = 0
    id_batches: int = 0
    events: int = 0


class OrderPoller:
    """Keeps one polled connection's orders in the index (see the module docstring)."""

    def __init__(
        self,
        connection: LiveConnection,
        ingestor: Ingestor,
        orders: OrderStore,
        sync_state: SyncStateStore,
        *,
        interval: float,
        clock: Callable[[], datetime] = _utcnow,
        identity: Mapping[str, Any] | None = None,
    ) -> None:
        self.connection = connection
        self.identity = dict(identity) if identity else None
        self.ingestor = ingestor
        self.orders = orders
        self.sync_state = sync_state
        self.interval = interval
        # After n failures in a row: the interval doubled n times, at most 5 min more.
        self._backoff = Backoff(2 * interval, interval + 300, Jitter.NONE)
        self.clock = clock

    # --- one cycle -------------------------------------------------------------------

    async def poll_once(self) -> PollReport:
        state = await self.sync_state.get(self.connection.id) or SyncState(
            connection_id=self.connection.id
        )
        started = self.clock()
        report = PollReport()
        if not state.details.get(_INITIAL_DONE):
            report.initial = True
            state = await self._initial_walk(state, report)
        else:
            await self._incremental(state, report)
        details = {**state.details, _INITIAL_DONE: True, _DISCOVERED_FROM: started.isoformat()}
        if self.identity is not None:
            details[_POLLED_BY] = self.identity
        if report.initial and state.details.get(_DISCOVERED_FROM):
            # A resumed first walk: discovery runs from when the walk first began.
            details[_DISCOVERED_FROM] = state.details[_DISCOVERED_FROM]
        await self.sync_state.put(
            replace(state, cursor=None, last_synced_at=started, last_error=None, details=details)
        )
        return report

    async def _ingest(self, orders: Sequence[Order], report: PollReport, read_at: datetime) -> None:
        if orders:
            result = await self.ingestor.ingest(
                self.connection, orders, EventSource.POLL, read_at=read_at
            )
            report.events += len(result.events)

    async def _initial_walk(self, state: SyncState, report: PollReport) -> SyncState:
        provider = self.connection.provider
        if not state.details.get(_DISCOVERED_FROM):
            state = replace(
                state, details={**state.details, _DISCOVERED_FROM: self.clock().isoformat()}
            )
        cursor = state.cursor
        while True:
            # When the read began: a page read before a result was delivered must not
            # put the old status back (ordergraph/store/ingest_plan.py).
            read_at = self.clock()
            page = await provider.list_orders(cursor=cursor, page_size=provider.bulk_page_size)
            report.pages += 1
            report.orders_listed += len(page.items)
            await self._ingest(page.items, report, read_at)
            cursor = page.next_token
            if cursor is None:
                return state
            # Saved after the page is committed: a restart resumes here.
            state = replace(state, cursor=cursor)
            await self.sync_state.put(state)

    async def _incremental(self, state: SyncState, report: PollReport) -> None:
        provider = self.connection.provider
        since = datetime.fromisoformat(str(state.details[_DISCOVERED_FROM])) - DISCOVERY_OVERLAP
        await self._walk(report, created_after=since)
        still_open = await self._walk(report, statuses=[OrderStatus.OPEN])
        left_open = [rid for rid in await self._indexed_open_ids() if rid not in still_open]
        if left_open:
            polling = self.connection.plugin.polling
            size = polling.id_batch if polling is not None else len(left_open)
            report.id_batches += -(-len(left_open) // size)
            read_at = self.clock()
            found = await provider.get_orders(left_open)
            report.orders_read_by_id += len(found)
            await self._ingest(list(found.values()), report, read_at)
            missing = len(left_open) - len(found)
            if missing:
                logger.warning(
                    "%d orders of %s are OPEN in the index but unknown to %s",
                    missing,
                    self.connection.id,
                    self.connection.plugin.label,
                )

    async def _walk(
        self,
        report: PollReport,
        *,
        statuses: Sequence[OrderStatus] | None = None,
        created_after: datetime | None = None,
    ) -> set[str]:
        provider = self.connection.provider
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            read_at = self.clock()
            page = await provider.list_orders(
                cursor=cursor,
                page_size=provider.bulk_page_size,
                statuses=statuses,
                created_after=created_after,
            )
            report.pages += 1
            report.orders_listed += len(page.items)
            seen.update(order.remote_id for order in page.items)
            await self._ingest(page.items, report, read_at)
            cursor = page.next_token
            if cursor is None:
                return seen

    async def _indexed_open_ids(self) -> list[str]:
        where = OrderFilter(connection_ids=[self.connection.id], statuses=[OrderStatus.OPEN])
        ids: list[str] = []
        after: str | None = None
        while True:
            page = await self.orders.page(
                self.connection.tenant, filter=where, first=STORE_PAGE, after=after
            )
            ids.extend(edge.node.order.remote_id for edge in page.edges)
            if not page.has_next_page or not page.edges:
                return ids
            after = page.edges[-1].cursor

    # --- the loop ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set; errors are recorded in
        the sync state (and logged) and the next cycle tries again."""
        failures = 0
        while not stop.is_set():
            delay = self.interval
            try:
                report = await self.poll_once()
                failures = 0
                logger.info(
                    "polled %s: %d pages, %d orders listed, %d by id, %d events",
                    self.connection.id,
                    report.pages,
                    report.orders_listed,
                    report.orders_read_by_id,
                    report.events,
                )
            except ProviderError as exc:
                failures += 1
                delay = self._backoff.delay(failures, retry_after=exc.retry_after)
                logger.warning("polling %s failed: %s", self.connection.id, exc)
                await self._record_error(str(exc))
            except Exception:
                failures += 1
                delay = self._backoff.delay(failures)
                logger.exception("polling %s failed unexpectedly", self.connection.id)
                await self._record_error("internal error while polling")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _record_error(self, message: str) -> None:
        try:
            state = await self.sync_state.get(self.connection.id) or SyncState(
                connection_id=self.connection.id
            )
            await self.sync_state.put(replace(state, last_error=message))
        except Exception:
            logger.exception("could not record the polling error for %s", self.connection.id)
