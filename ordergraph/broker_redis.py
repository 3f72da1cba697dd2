"""Wake-ups across processes over Redis pub/sub.

``publish`` sends the event id on ``<prefix>:<tenant>``, followed by the tenant's new
data version when the write changed it (``"<event id> <version>"``; ``"refresh"`` from
``publish_refresh``). Each process keeps **one**
pub/sub connection, pattern-subscribed to ``<prefix>:*``, and fans messages out to its
local per-tenant waiters, so a thousand subscribers cost one Redis connection.

The ``order_events`` log stays the truth, so Redis trouble costs latency, never events:

- a failed publish is logged and swallowed (ingestion has committed; subscribers of
  this process are still woken locally, others find the events on their next read);
- while the pub/sub connection is down, ``wait`` returns ``None`` at least every
  ``degraded_wait`` seconds, so subscribers fall back to reading the log periodically;
- the listener reconnects with backoff (ordergraph.backoff: capped, jittered), and on every
  (re)subscription wakes every local waiter with ``None`` so it re-reads the log and
  picks up whatever was published while the connection was down; version listeners
  are told to ``forget`` then (and when the connection drops), so they re-read the
  store instead of trusting versions that may have missed a wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ordergraph.backoff import RECONNECT, Backoff
from ordergraph.broker import VersionListener, Wakeups

__all__ = ["RedisBroker", "redis_client"]

logger = logging.getLogger(__name__)

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
_REFRESH = "refresh"


def redis_client(url: str, *, timeout: float = 2.0) -> Redis:
    """A client for ``redis://host:port/db`` that fails fast instead of retrying
    internally (callers decide what a failure means)."""
    client: Redis = Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    return client


class _TenantSignal:
    """The newest event id this process knows for one tenant, and who waits on it."""

    def __init__(self) -> None:
        self.latest = 0
        # Bumped on reconnect: waiters return None and re-read the log.
        self.generation = 0
        self.changed = asyncio.Condition()
        self.subscribers = 0

    async def bump(self, event_id: int | None) -> None:
        async with self.changed:
            if event_id is None:
                self.generation += 1
            elif event_id > self.latest:
                self.latest = event_id
            else:
                return
            self.changed.notify_all()


class _Wakeups:
    def __init__(self, broker: RedisBroker, signal: _TenantSignal) -> None:
        self._broker = broker
        self._signal = signal

    async def wait(self, seen: int, max_wait: float) -> int | None:
        """The newest event id once it exceeds ``seen``; ``None`` on timeout or when
        wake-ups may have been missed (reconnect, or Redis unreachable): re-read the log."""
        signal = self._signal
        if not self._broker.connected:
            max_wait = min(max_wait, self._broker.degraded_wait)
        async with signal.changed:
            generation = signal.generation
            try:
                await asyncio.wait_for(
                    signal.changed.wait_for(
                        lambda: signal.latest > seen or signal.generation != generation
                    ),
                    timeout=max_wait,
                )
            except TimeoutError:
                return None
            if signal.latest > seen:
                return signal.latest
            return None


class RedisBroker:
    """The ``Broker`` for several processes (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        channel_prefix: str = "ordergraph",
        degraded_wait: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.url = url
        self.channel_prefix = channel_prefix
        self.degraded_wait = degraded_wait
        self.max_backoff = max_backoff
        self._client = redis_client(url)
        self._signals: dict[str, _TenantSignal] = {}
        self._version_listeners: list[VersionListener] = []
        self._listener: asyncio.Task[None] | None = None
        self._closed = False
        self.connected = False
        # Wake-ups received from Redis and (re)connections made, for tests and metrics.
        self.received = 0
        self.connects = 0
        self.publish_failures = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def channel(self, tenant: str) -> str:
        return f"{self.channel_prefix}:{tenant}"

    def _signal(self, tenant: str) -> _TenantSignal:
        signal = self._signals.get(tenant)
        if signal is None:
            signal = self._signals[tenant] = _TenantSignal()
        return signal

    async def publish(self, tenant: str, event_id: int, *, data_version: int | None = None) -> None:
        # Local waiters and listeners need no round trip (and still learn while Redis
        # is down).
        message = str(event_id)
        if data_version is not None:
            message += f" {data_version}"
            for listener in self._version_listeners:
                listener.observe(tenant, data_version)
        await self._signal(tenant).bump(event_id)
        await self._send(tenant, message, event_id)

    async def publish_refresh(self, tenant: str) -> None:
        await self._send(tenant, _REFRESH, None)

    def watch_versions(self, listener: VersionListener) -> None:
        self._version_listeners.append(listener)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the first subscribe (or ``start``) starts listening
        self._ensure_listener()

    def forget_versions(self, tenant: str | None = None) -> None:
        for listener in self._version_listeners:
            listener.forget(tenant)

    async def _send(self, tenant: str, message: str, event_id: int | None) -> None:
        try:
            await self._client.publish(self.channel(tenant), message)
        except Exception as exc:  # the log is the truth: never fail an ingestion
            self.publish_failures += 1
            logger.warning(
                "could not publish a wake-up for tenant %s (%s); other processes will "
                "find event %s on their next log read and version read",
                tenant,
                type(exc).__name__,
                event_id if event_id is not None else "(a refresh)",
            )

    def _ensure_listener(self) -> None:
        if self._listener is None and not self._closed:
            self._listener = asyncio.create_task(self._listen(), name="redis-broker-listener")

    async def start(self) -> None:
        """Start listening now (otherwise the first ``subscribe`` starts it)."""
        self._ensure_listener()

    @asynccontextmanager
    async def subscribe(self, tenant: str) -> AsyncIterator[Wakeups]:
        self._ensure_listener()
        signal = self._signal(tenant)
        signal.subscribers += 1
        try:
            yield _Wakeups(self, signal)
        finally:
            signal.subscribers -= 1

    def subscriber_count(self) -> int:
        return sum(s.subscribers for s in self._signals.values())

    async def ping(self) -> None:
        await self._client.ping()

    async def _wake_all(self) -> None:
        self.forget_versions()
        for signal in list(self._signals.values()):
            await signal.bump(None)

    async def _listen(self) -> None:
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.channel_prefix) + ":*"
        prefix_length = len(self.channel_prefix) + 1
        retries = Backoff(RECONNECT.base, self.max_backoff).retries()
        while not self._closed:
            client = redis_client(self.url)
            pubsub: PubSub = client.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                while not self._closed:
                    message: dict[str, Any] | None = await pubsub.get_message(
                        ignore_subscribe_messages=False, timeout=1.0
                    )
                    if message is None:
                        continue
                    kind = message["type"]
                    if kind == "psubscribe":
                        if not self.connected:
                            logger.info("broker subscribed to Redis wake-ups")
                        self.connected = True
                        self.connects += 1
                        retries.reset()
                        # Anything published while we were away is in the log.
                        await self._wake_all()
                    elif kind == "pmessage":
                        await self._deliver(message, prefix_length)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                was_connected = self.connected
                self.connected = False
                if was_connected:
                    # Waiters blocked with a long max_wait re-loop with the short one.
                    await self._wake_all()
                    logger.warning(
                        "broker lost Redis (%s); subscribers fall back to reading the "
                        "log every %.1fs until it reconnects",
                        type(exc).__name__,
                        self.degraded_wait,
                    )
            finally:
                self.connected = False
                # Typed from redis-py 8.2 on, untyped before: called through a
                # typed name so both type-check.
                close_pubsub: Callable[[], Awaitable[object]] = pubsub.aclose
                with contextlib.suppress(Exception):
                    await close_pubsub()
                with contextlib.suppress(Exception):
                    await client.aclose()
            if self.closed:
                return
            await asyncio.sleep(retries.next_delay())

    async def _deliver(self, message: dict[str, Any], prefix_length: int) -> None:
        channel = message["channel"]
        data = message["data"]
        try:
            tenant = (channel.decode() if isinstance(channel, bytes) else str(channel))[
                prefix_length:
            ]
            text = data.decode() if isinstance(data, bytes) else str(data)
            if text == _REFRESH:
                self.received += 1
                self.forget_versions(tenant)
                return
            event_text, _, version_text = text.partition(" ")
            event_id = int(event_text)
            version = int(version_text) if version_text else None
        except (UnicodeDecodeError, ValueError, TypeError):
            logger.warning("ignored a malformed wake-up on the broker channel")
            return
        self.received += 1
        if version is not None:
            for listener in self._version_listeners:
                listener.observe(tenant, version)
        signal = self._signals.get(tenant)
        if signal is not None:  # nobody here listens to this tenant
            await signal.bump(event_id)

    async def close(self) -> None:
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._wake_all()
        self._signals.clear()
        with contextlib.suppress(Exception):
            await self._client.aclose()
