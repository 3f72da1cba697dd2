"""Wake-ups between ingestion and subscribers.

The durable ``order_events`` log is the truth; the broker only says "tenant T has
events up to id N", so a subscriber knows to read the log again. A lost wake-up
costs latency, never an event: subscribers also re-read the log on a timeout.

The same wake-ups carry the tenant's new *data version* when a write changed it (to
every ``VersionListener`` registered with ``watch_versions``: the in-memory data
versions of ``ordergraph.data_versions``), and ``publish_refresh`` tells every
process to re-read a tenant's version and response epoch (after a mutation replaced
the epoch). A listener is told ``forget`` whenever wake-ups may have been missed.

``MemoryBroker`` serves one process. ``RedisBroker`` (ordergraph/broker_redis.py,
several processes) has the same interface; ``create_broker``
(ordergraph/broker_factory.py) picks one from a URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

__all__ = ["Broker", "MemoryBroker", "VersionListener", "Wakeups"]


class Wakeups(Protocol):
    """A subscriber's view: wait until the tenant's latest event id exceeds ``seen``."""

    async def wait(self, seen: int, max_wait: float) -> int | None:
        """The newest event id known when it exceeds ``seen``; None after max_wait seconds."""
        ...


class VersionListener(Protocol):
    """Told each tenant's data versions as writes commit (here or in other processes)."""

    def observe(self, tenant: str, version: int) -> None: ...

    def forget(self, tenant: str | None = None) -> None:
        """Versions of ``tenant`` (None: of all) may be out of date: read them again."""
        ...


class Broker(Protocol):
    async def publish(self, tenant: str, event_id: int, *, data_version: int | None = None) -> None:
        """After a commit: wake subscribers (``event_id``: the newest event, 0 when the
        write appended none) and tell version listeners ``data_version`` (when given)."""
        ...

    async def publish_refresh(self, tenant: str) -> None:
        """Make every process's version listeners re-read ``tenant``'s version."""
        ...

    def watch_versions(self, listener: VersionListener) -> None: ...

    def forget_versions(self, tenant: str) -> None:
        """Make this process's version listeners re-read ``tenant``'s version (no
        message: for a change this process learned of by other means)."""
        ...

    def subscribe(self, tenant: str) -> AbstractAsyncContextManager[Wakeups]: ...

    async def ping(self) -> None:
        """Raise unless the broker can carry wake-ups now (readiness)."""
        ...

    async def close(self) -> None: ...


class _TenantSignal:
    def __init__(self) -> None:
        self.latest = 0
        self.changed = asyncio.Condition()
        self.subscribers = 0

    async def wait(self, seen: int, max_wait: float) -> int | None:
        async with self.changed:
            try:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: self.latest > seen), timeout=max_wait
                )
            except TimeoutError:
                return None
            return self.latest


class MemoryBroker:
    """Wake-ups inside one process."""

    def __init__(self) -> None:
        self._signals: dict[str, _TenantSignal] = {}
        self._version_listeners: list[VersionListener] = []

    def _signal(self, tenant: str) -> _TenantSignal:
        signal = self._signals.get(tenant)
        if signal is None:
            signal = self._signals[tenant] = _TenantSignal()
        return signal

    async def publish(self, tenant: str, event_id: int, *, data_version: int | None = None) -> None:
        if data_version is not None:
            for listener in self._version_listeners:
                listener.observe(tenant, data_version)
        signal = self._signal(tenant)
        async with signal.changed:
            if event_id > signal.latest:
                signal.latest = event_id
                signal.changed.notify_all()

    async def publish_refresh(self, tenant: str) -> None:
        # One process: whoever replaced the epoch has already told its listeners.
        return None

    def forget_versions(self, tenant: str) -> None:
        for listener in self._version_listeners:
            listener.forget(tenant)

    def watch_versions(self, listener: VersionListener) -> None:
        self._version_listeners.append(listener)

    @asynccontextmanager
    async def subscribe(self, tenant: str) -> AsyncIterator[Wakeups]:
        signal = self._signal(tenant)
        signal.subscribers += 1
        try:
            yield signal
        finally:
            signal.subscribers -= 1

    def subscriber_count(self) -> int:
        return sum(s.subscribers for s in self._signals.values())

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._signals.clear()
