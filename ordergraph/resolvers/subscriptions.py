"""Subscriptions: tail the durable ``order_events`` log for one tenant.

Why it is built this way:

- **The log is the truth, the broker only says "look again".** A lost wake-up costs
  latency, never an event; a reconnecting client passes its last cursor and gets
  exactly the events after it, in commit order (per-tenant ids grow in commit order).
- **One reader per process and tenant: the hub** (``ordergraph.fanout``). The first
  subscription of a tenant starts a ``TenantHub`` task, the last one to leave stops
  it. The hub remembers ``position`` (the newest id it has read), subscribes to the
  broker once, and after each wake-up *or* ``poll_interval`` seconds reads
  ``events_after(tenant, position)`` in unfiltered pages until caught up. Each event
  is fanned out in memory to every live member whose filter (connectionIds, statuses,
  orderIds) matches: ``put_nowait`` into the member's queue, never an await, so one
  log read per wake-up serves every subscriber of the tenant in this process, and a
  slow subscriber cannot hold up the hub or the others. A failed read is logged and
  retried with backoff; members keep their place.
- **Loaders made fresh for each event, shared by its subscribers.** A WebSocket's
  context lives as long as the socket, so each event is resolved with a copy of it
  whose loaders were made for that event (its ``order`` is read as it is when that
  event is sent, never from an earlier event's cache). The hub hands every member the
  same ``EventShare`` for one event, so those loaders, and the ``order`` load, happen
  once per event and process, not once per subscriber (the load is shielded so a
  subscriber that leaves does not cancel it for the others).
- **Start and replay, then hand-over.** Without ``after``, a subscription starts at
  the tenant's latest event id at subscribe time; with it, at the cursor. It joins the
  hub (not yet live) and, while it is behind the hub's ``position``, reads the log
  itself: filtered, paged, never more than there is room for in its queue. When a
  read comes back short, every matching event up to the hub's position taken before
  that read is queued. Once it has covered the hub's position it goes live: that check
  and the switch happen without an await, and the hub advances ``position`` and fans
  out without one either, so the hub gives it exactly the events after those it
  replayed (it also skips ids at or below the member's ``after``): no gap, no
  duplicate.
- **Bounded buffer, then close.** Each subscription's queue holds at most
  ``max_backlog`` events; Strawberry sends them, so a consumer that does not read
  stalls the send and the queue fills. If the hub finds a live member's queue full,
  it drops the member back to catching up from the log (as in a replay) and moves on.
  Catching up reads only as many events as there is room for; with a full queue it
  reads one to learn whether the consumer is behind, then gives the consumer
  ``backlog_grace`` seconds to take one. A consumer that takes nothing in that time is
  closed with ``SLOW_CONSUMER_CODE`` and a reason naming the limit; it can reconnect
  with its last cursor and miss nothing. A long replay to a client that *is* reading
  never trips this: it frees room continuously. Memory per subscription is bounded by
  ``max_backlog`` events plus socket buffers, whatever the log holds.
- **Isolation.** Hubs are per tenant; a subscription only ever joins its own tenant's
  hub and reads its own tenant's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from aiohttp import web

from ordergraph.backoff import RECONNECT
from ordergraph.fanout import Delivery, EventFilter, EventShare, HubMember, Hubs, TenantHub
from ordergraph.resolvers.context import Context
from ordergraph.store import OrderStore, StoredEvent
from ordergraph.store.budget import start_budget, unbudgeted_context

__all__ = [
    "SLOW_CONSUMER_CODE",
    "EventFilter",
    "EventTail",
    "SlowConsumerError",
    "TailLimits",
    "event_context",
    "event_stream",
    "fresh_context",
]

logger = logging.getLogger(__name__)

SLOW_CONSUMER_CODE = 4008
"""WebSocket close code for a subscriber more than ``max_backlog`` events behind."""

_CLOSE_TIMEOUT = 30.0
"""How long a close frame may wait for a stalled peer before the socket is dropped."""

_background: set[asyncio.Task[None]] = set()

_EVENT_CONTEXT: ContextVar[Context | None] = ContextVar("ordergraph_event_context", default=None)


def event_context() -> Context | None:
    """The context of the subscription event being resolved in this task, if any.

    ``event_stream`` sets it before each event is handed to GraphQL; Strawberry runs
    each subscription in its own task and resolves an event in the task that took it
    from the stream (child tasks inherit it), so every field of one event, however
    nested, sees that event's loaders and no other's.
    """
    return _EVENT_CONTEXT.get()


class SlowConsumerError(Exception):
    """The consumer fell more than ``max_backlog`` events behind and stopped taking them."""

    def __init__(self, max_backlog: int) -> None:
        self.max_backlog = max_backlog
        super().__init__(
            f"slow consumer: more than {max_backlog} events behind; "
            "reconnect with the last cursor to resume"
        )


@dataclass(frozen=True, slots=True)
class TailLimits:
    """``subscriptions`` settings as the tail uses them."""

    page_size: int = 100
    max_backlog: int = 1000
    backlog_grace: float = 10.0
    poll_interval: float = 5.0


class EventTail:
    """One subscription: its hub membership, its catch-up reads and its bounded queue,
    see the module docstring."""

    def __init__(
        self,
        orders: OrderStore,
        hubs: Hubs,
        tenant: str,
        *,
        after_id: int,
        where: EventFilter,
        limits: TailLimits,
        on_overflow: Callable[[SlowConsumerError], Awaitable[None]] | None = None,
    ) -> None:
        self._orders = orders
        self._hubs = hubs
        self._tenant = tenant
        self._where = where
        self._limits = limits
        self._on_overflow = on_overflow
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=limits.max_backlog)
        self._member = HubMember(where, self._queue, after_id)
        self._taken = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[Delivery]:
        """Events in log order; the subscription is a hub member only while iterated."""
        # The reader (and the tenant hub it may start) works for every event to come,
        # not for one operation: no statement budget of the subscriber's applies.
        reader = asyncio.create_task(self._read(), context=unbudgeted_context())
        try:
            while True:
                delivery = await self._next(reader)
                self._taken.set()
                yield delivery
        finally:
            reader.cancel()
            await asyncio.wait({reader})
            if not reader.cancelled():
                reader.exception()  # retrieved: a closed subscription has no one to tell

    async def _next(self, reader: asyncio.Task[None]) -> Delivery:
        if not self._queue.empty():
            return self._queue.get_nowait()
        getter = asyncio.ensure_future(self._queue.get())
        try:
            await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        # The reader ended: the consumer overflowed (or a bug); surface that.
        error = reader.exception()
        raise error if error is not None else RuntimeError("event reader stopped")

    async def _read(self) -> None:
        """Catch up from the log, go live on the hub; again whenever the hub drops us."""
        member = self._member
        async with self._hubs.use(self._tenant) as hub:
            hub.members.add(member)
            try:
                while True:
                    await self._catch_up(hub)
                    await member.behind.wait()
                    member.behind.clear()
            finally:
                member.live = False
                hub.members.discard(member)

    async def _catch_up(self, hub: TenantHub) -> None:
        """Read the log after ``member.after`` (this subscription's own filtered, paged
        reads, never holding more than ``max_backlog`` events) until it reaches the
        hub's position, then switch to the hub's stream.

        The check and the switch run without an await in between, and the hub moves
        ``position`` and fans out each event without awaiting either, so the hub gives
        this member exactly the events after what the replay has covered: no gap, no
        duplicate.
        """
        member = self._member
        retries = RECONNECT.retries()
        while True:
            if member.after >= hub.position:
                member.live = True
                return
            target = hub.position
            room = self._queue.maxsize - self._queue.qsize()
            # With a full queue, read one event to learn whether the consumer is behind.
            limit = min(self._limits.page_size, room) if room > 0 else 1
            try:
                page = await self._orders.events_after(
                    self._tenant,
                    member.after,
                    limit=limit,
                    connection_ids=self._where.connection_ids,
                    statuses=self._where.statuses,
                    order_ids=self._where.order_ids,
                )
            except Exception as exc:
                logger.warning(
                    "a subscription of %s could not read the log (%s); retrying",
                    self._tenant,
                    type(exc).__name__,
                )
                await asyncio.sleep(retries.next_delay())
                continue
            retries.reset()
            for event in page:
                if self._queue.full():
                    await self._wait_for_room()
                self._queue.put_nowait(Delivery(event, EventShare()))
                member.after = event.id
            if len(page) < limit:
                # Every matching event up to ``target`` (read by the hub, so committed
                # and visible) is now queued.
                member.after = max(member.after, target)

    async def _wait_for_room(self) -> None:
        self._taken.clear()
        try:
            await asyncio.wait_for(self._taken.wait(), timeout=self._limits.backlog_grace)
        except TimeoutError:
            error = SlowConsumerError(self._limits.max_backlog)
            logger.info("closing a subscription of %s: %s", self._tenant, error)
            if self._on_overflow is not None:
                await self._on_overflow(error)
            raise error from None


def close_websocket_on_overflow(
    context: Context,
) -> Callable[[SlowConsumerError], Awaitable[None]]:
    """Close the subscription's WebSocket with ``SLOW_CONSUMER_CODE``.

    The close runs in its own task: the operation that owns the reader is cancelled
    when the socket closes, and must not cancel the close half-way.
    """

    async def close(error: SlowConsumerError) -> None:
        socket = context.response
        if not isinstance(socket, web.WebSocketResponse) or socket.closed:
            return
        reason = str(error)[:120].encode()

        async def run() -> None:
            # aiohttp drops the connection itself if the close frame cannot be sent.
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(
                    socket.close(code=SLOW_CONSUMER_CODE, message=reason), _CLOSE_TIMEOUT
                )

        task = asyncio.create_task(run())
        _background.add(task)
        task.add_done_callback(_background.discard)

    return close


def fresh_context(context: Context) -> Context:
    """A copy of ``context`` with no loaders yet (they are made on first use)."""
    return dataclasses.replace(context, _loaders=None)


def limits_of(context: Context) -> TailLimits:
    settings = context.services.settings.subscriptions
    return TailLimits(
        page_size=settings.page_size,
        max_backlog=settings.max_backlog,
        backlog_grace=settings.backlog_grace,
        poll_interval=settings.poll_interval,
    )


async def event_stream(
    context: Context, where: EventFilter, after_id: int | None
) -> AsyncIterator[tuple[StoredEvent, Context]]:
    """The tenant's matching events after ``after_id`` (or from now), each with a
    per-event context to resolve the event's fields with: loaders made fresh for that
    event, shared by every subscription of this process receiving it from the hub, and
    a store statement budget of its own (``ordergraph.store.budget``)."""
    tenant = context.require_tenant()
    orders = context.services.store.orders
    start = after_id if after_id is not None else await orders.latest_event_id(tenant)
    tail = EventTail(
        orders,
        context.services.hubs,
        tenant,
        after_id=start,
        where=where,
        limits=limits_of(context),
        on_overflow=close_websocket_on_overflow(context),
    )
    async for delivery in tail:
        share = delivery.share
        if share.loaders is None:
            share.loaders = context.new_loaders()
        shared = dataclasses.replace(context, _loaders=share.loaders)
        _EVENT_CONTEXT.set(shared)
        # Each event resolves within a store statement budget of its own.
        start_budget(context.services.settings.limits.max_store_statements)
        yield delivery.event, shared
