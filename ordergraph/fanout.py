"""One log reader per (process, tenant), fanned out to that tenant's subscriptions.

How subscriptions use it is explained in ``ordergraph.resolvers.subscriptions``. This
module holds only what needs no GraphQL: the per-tenant ``TenantHub`` (reads
``events_after`` once per wake-up or poll and puts each new event into every live
member's queue without awaiting) and the per-process ``Hubs`` registry (a hub starts
with the first subscription of a tenant and stops with the last).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ordergraph.backoff import RECONNECT
from ordergraph.broker import Broker
from ordergraph.models import OrderStatus
from ordergraph.store import OrderStore, StoredEvent

__all__ = ["Delivery", "EventFilter", "EventShare", "HubMember", "Hubs", "TenantHub"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which of the tenant's events a subscription wants (None: any)."""

    connection_ids: Sequence[str] | None = None
    statuses: Sequence[OrderStatus] | None = None
    order_ids: Sequence[str] | None = None

    def matches(self, event: StoredEvent) -> bool:
        """The in-memory twin of ``events_after``'s filters."""
        return (
            (self.connection_ids is None or event.connection_id in self.connection_ids)
            and (self.statuses is None or event.new_status in self.statuses)
            and (self.order_ids is None or event.order_id in self.order_ids)
        )


class EventShare:
    """What every subscriber receiving one event shares: that event's loaders, made
    on first use (so the event's ``order`` is loaded once per event, not per subscriber)."""

    __slots__ = ("loaders",)

    def __init__(self) -> None:
        self.loaders: Any = None


@dataclass(frozen=True, slots=True)
class Delivery:
    event: StoredEvent
    share: EventShare


class HubMember:
    """One subscription as its hub sees it.

    ``after`` is the newest log id the subscription has been given or has skipped
    past. While ``live``, the hub puts each later matching event into ``queue``; when
    the queue is full the hub stops (``live`` goes False, ``behind`` is set) and the
    subscription catches up from the log on its own, at the consumer's pace.
    """

    __slots__ = ("after", "behind", "live", "queue", "where")

    def __init__(self, where: EventFilter, queue: asyncio.Queue[Delivery], after: int) -> None:
        self.where = where
        self.queue = queue
        self.after = after
        self.live = False
        self.behind = asyncio.Event()


class TenantHub:
    """The tenant's single log reader in this process."""

    def __init__(self, hubs: Hubs, tenant: str) -> None:
        self.hubs = hubs
        self.tenant = tenant
        self.position = 0
        """The newest id read from the log and fanned out (valid once ``ready``)."""
        self.ready = asyncio.Event()
        self.members: set[HubMember] = set()
        self.users = 0
        self.reads = 0
        """``events_after`` calls made by this hub (tests and metrics)."""
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        hubs = self.hubs
        retries = RECONNECT.retries()
        while True:
            try:
                self.position = await hubs.orders.latest_event_id(self.tenant)
                break
            except Exception as exc:
                logger.warning("subscription hub of %s: %s; retrying", self.tenant, exc)
                await asyncio.sleep(retries.next_delay())
        self.ready.set()
        async with hubs.broker.subscribe(self.tenant) as wakeups:
            seen = self.position
            retries.reset()
            while True:
                try:
                    await self.read()
                    retries.reset()
                except Exception as exc:
                    delay = retries.next_delay()
                    # The log is the truth: members keep their place, the hub reads again.
                    logger.warning(
                        "subscription hub of %s could not read the log (%s); retrying in %.1fs",
                        self.tenant,
                        type(exc).__name__,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
                latest = await wakeups.wait(max(seen, self.position), hubs.poll_interval)
                if latest is not None:
                    seen = max(seen, latest)

    async def read(self) -> None:
        """Read the log after ``position`` until caught up, fanning each page out."""
        page_size = self.hubs.page_size
        while True:
            page = await self.hubs.orders.events_after(self.tenant, self.position, limit=page_size)
            self.reads += 1
            for event in page:
                self.fan_out(event)
            if len(page) < page_size:
                return

    def fan_out(self, event: StoredEvent) -> None:
        """Give ``event`` to every live member that wants it; never awaits."""
        self.position = event.id
        share = EventShare()
        for member in self.members:
            if not member.live or event.id <= member.after:
                continue
            if member.where.matches(event):
                if member.queue.full():
                    # Too far behind: it catches up from the log (or is closed) on its own.
                    member.live = False
                    member.behind.set()
                    continue
                member.queue.put_nowait(Delivery(event, share))
            member.after = event.id


class Hubs:
    """This process's hubs, one per tenant with subscriptions."""

    def __init__(
        self, orders: OrderStore, broker: Broker, *, poll_interval: float, page_size: int
    ) -> None:
        self.orders = orders
        self.broker = broker
        self.poll_interval = poll_interval
        self.page_size = page_size
        self._hubs: dict[str, TenantHub] = {}

    def get(self, tenant: str) -> TenantHub | None:
        return self._hubs.get(tenant)

    def subscriber_count(self) -> int:
        """Subscriptions registered with a hub (their start position is fixed)."""
        return sum(len(h.members) for h in self._hubs.values())

    def subscribers_by_tenant(self) -> dict[str, int]:
        """Subscriptions registered with each tenant's hub (tenants with a hub only)."""
        return {tenant: len(hub.members) for tenant, hub in self._hubs.items()}

    @asynccontextmanager
    async def use(self, tenant: str) -> AsyncIterator[TenantHub]:
        """The tenant's hub, started if needed and ready; stopped after its last user."""
        hub = self._hubs.get(tenant)
        if hub is None:
            hub = self._hubs[tenant] = TenantHub(self, tenant)
            # A fresh context: the hub outlives the request that started it, and must
            # not log under that request's id (ordergraph.logs) for the rest of its life.
            hub.task = asyncio.create_task(
                hub.run(), name=f"subscription-hub:{tenant}", context=contextvars.Context()
            )
        hub.users += 1
        try:
            await hub.ready.wait()
            yield hub
        finally:
            hub.users -= 1
            if hub.users == 0:
                self._stop(hub)

    def _stop(self, hub: TenantHub) -> None:
        if self._hubs.get(hub.tenant) is hub:
            del self._hubs[hub.tenant]
        task = hub.task
        if task is not None and not task.done():
            task.cancel()
            task.add_done_callback(_retrieve)

    async def close(self) -> None:
        tasks = [h.task for h in self._hubs.values() if h.task is not None]
        for hub in list(self._hubs.values()):
            self._stop(hub)
        if tasks:
            await asyncio.wait(tasks)


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()
