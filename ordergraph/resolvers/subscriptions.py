"""Subscriptions: tail the durable ``order_events`` log for one tenant.

Why it is built this way:

- **The log is the truth, the broker only says "look again".** A subscription reads
  ``events_after(tenant, last_id, ...)`` in pages until it is caught up, then waits
  for a broker wake-up *or* ``poll_interval`` seconds, and reads again either way. A
  lost wake-up costs latency, never an event; a reconnecting client passes its last
  cursor and gets exactly the events after it, in commit order (per-tenant ids grow
  in commit order).
- **Start.** With ``after``, the first reads replay the log after that cursor, then
  live events follow from the same loop (no seam, so no duplicate and no gap).
  Without it, the tail starts at the tenant's latest event id at subscribe time.
- **Bounded buffer, then close.** A reader task tails the log into a queue of at
  most ``max_backlog`` events; the GraphQL generator takes from the queue and
  Strawberry sends each event, so a consumer that does not read stalls the send
  (aiohttp waits for the socket to drain) and the queue fills. The reader only
  reads as many events as there is room for, so memory per subscription is bounded
  by ``max_backlog`` events plus socket buffers, whatever the log holds. When the
  queue is full *and* the log holds another matching event (the consumer is more
  than ``max_backlog`` events behind), the reader gives the consumer
  ``backlog_grace`` seconds to take one; a consumer that takes nothing in that time
  is closed with ``SLOW_CONSUMER_CODE`` and a reason naming the limit. It can
  reconnect with its last cursor and miss nothing. A long replay to a client that
  *is* reading never trips this: it frees room continuously.
- **Isolation.** Each subscription has its own reader task and queue; the broker
  only notifies a condition (held for an instant), so a stalled consumer blocks
  neither the broker, nor ingestion, nor other subscribers.
- **Fresh loaders per event.** A WebSocket's context lives as long as the socket;
  each event gets a copy of it with no loaders, so its ``order`` is read as it is
  when that event is sent, not from a cache filled by an earlier event.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from aiohttp import web

from ordergraph.broker import Broker
from ordergraph.models import OrderStatus
from ordergraph.resolvers.context import Context
from ordergraph.store import OrderStore, StoredEvent

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
class EventFilter:
    """Which of the tenant's events a subscription wants (None: any)."""

    connection_ids: Sequence[str] | None = None
    statuses: Sequence[OrderStatus] | None = None
    order_ids: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class TailLimits:
    """``subscriptions`` settings as the tail uses them."""

    page_size: int = 100
    max_backlog: int = 1000
    backlog_grace: float = 10.0
    poll_interval: float = 5.0


class EventTail:
    """One subscription's reader: the log into a bounded queue, see the module docstring."""

    def __init__(
        self,
        orders: OrderStore,
        broker: Broker,
        tenant: str,
        *,
        after_id: int,
        where: EventFilter,
        limits: TailLimits,
        on_overflow: Callable[[SlowConsumerError], Awaitable[None]] | None = None,
    ) -> None:
        self._orders = orders
        self._broker = broker
        self._tenant = tenant
        self._read_id = after_id
        self._seen = after_id
        self._where = where
        self._limits = limits
        self._on_overflow = on_overflow
        self._queue: asyncio.Queue[StoredEvent] = asyncio.Queue(maxsize=limits.max_backlog)
        self._taken = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[StoredEvent]:
        """Events in log order; the reader runs only while this is iterated."""
        reader = asyncio.create_task(self._read())
        try:
            while True:
                event = await self._next(reader)
                self._taken.set()
                yield event
        finally:
            reader.cancel()
            await asyncio.wait({reader})
            if not reader.cancelled():
                reader.exception()  # retrieved: a closed subscription has no one to tell

    async def _next(self, reader: asyncio.Task[None]) -> StoredEvent:
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
        # The reader ended: it failed (store error, overflow); surface that.
        error = reader.exception()
        raise error if error is not None else RuntimeError("event reader stopped")

    async def _read(self) -> None:
        async with self._broker.subscribe(self._tenant) as wakeups:
            while True:
                await self._fill()
                latest = await wakeups.wait(self._seen, self._limits.poll_interval)
                if latest is not None:
                    self._seen = max(self._seen, latest)

    async def _fill(self) -> None:
        """Read the log until caught up, never holding more than ``max_backlog`` events."""
        while True:
            room = self._queue.maxsize - self._queue.qsize()
            # With a full queue, read one event to learn whether the consumer is behind.
            limit = min(self._limits.page_size, room) if room > 0 else 1
            page = await self._orders.events_after(
                self._tenant,
                self._read_id,
                limit=limit,
                connection_ids=self._where.connection_ids,
                statuses=self._where.statuses,
                order_ids=self._where.order_ids,
            )
            for event in page:
                if self._queue.full():
                    await self._wait_for_room()
                self._queue.put_nowait(event)
                self._read_id = event.id
                self._seen = max(self._seen, event.id)
            if len(page) < limit:
                return

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
    """The tenant's matching events after ``after_id`` (or from now), each with a fresh
    per-event context (its own loaders) to resolve the event's fields with."""
    tenant = context.require_tenant()
    orders = context.services.store.orders
    start = after_id if after_id is not None else await orders.latest_event_id(tenant)
    tail = EventTail(
        orders,
        context.services.broker,
        tenant,
        after_id=start,
        where=where,
        limits=limits_of(context),
        on_overflow=close_websocket_on_overflow(context),
    )
    async for event in tail:
        fresh = fresh_context(context)
        _EVENT_CONTEXT.set(fresh)
        yield event, fresh
