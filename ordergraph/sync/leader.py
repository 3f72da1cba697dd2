"""Leadership: one process polls each Kombo connection, whatever the number of processes.

A lease is a Redis key ``<prefix>:lease:<name>`` holding a token unique to the
holder, set with ``SET NX PX ttl``. The holder renews it every ``ttl / 3`` with a
compare-and-extend script and releases it on a clean stop with compare-and-delete,
so a process never extends or deletes a lease it no longer holds.

- A holder that dies (kill -9, lost host) stops renewing; its key expires after at
  most ``ttl`` and another process, which retries every ``ttl / 3``, takes over:
  takeover within ``ttl + ttl / 3`` (plus one Redis round trip).
- A holder that cannot renew (Redis unreachable) keeps working only until its lease
  would have expired by its own clock (``ttl`` after the last successful renewal,
  less a 10 % drift margin), then stops; nobody polls until Redis is back, and then
  the first process to ``SET NX`` wins. A renewal that finds another token stops the
  work at once.
- ``memory://`` broker and cache mean one process: ``AlwaysLeader`` then holds every
  lease without asking anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from redis.asyncio import Redis

from ordergraph.broker_redis import redis_client

__all__ = [
    "AlwaysLeader",
    "Lease",
    "LeaseFactory",
    "RedisLease",
    "RedisLeases",
    "SingleProcessLeases",
    "create_leases",
    "holder_identity",
    "run_while_leader",
]

logger = logging.getLogger(__name__)

# Keep working at most this share of the TTL after the last successful renewal, so
# the lease has not expired in Redis (clock drift, the renewal's own round trip).
_DRIFT = 0.9

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def holder_identity() -> dict[str, str | int]:
    """Who holds a lease (for logs and the sync state): host and process id."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


class Lease(Protocol):
    name: str
    ttl: float

    async def acquire(self) -> bool:
        """Take the lease if free (or already ours); True when held."""
        ...

    async def renew(self) -> bool:
        """Extend the lease; False when it is no longer ours."""
        ...

    async def release(self) -> None:
        """Give the lease up if still ours."""
        ...


class AlwaysLeader:
    """The lease of a single-process deployment: always held."""

    def __init__(self, name: str, ttl: float) -> None:
        self.name = name
        self.ttl = ttl

    async def acquire(self) -> bool:
        return True

    async def renew(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class RedisLease:
    """One lease in Redis (see the module docstring)."""

    def __init__(self, client: Redis, key: str, *, ttl: float, token: str | None = None) -> None:
        self.client = client
        self.name = key
        self.ttl = ttl
        identity = holder_identity()
        self.token = token or f"{identity['host']}:{identity['pid']}:{uuid.uuid4().hex}"

    @property
    def _ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    async def acquire(self) -> bool:
        if await self.client.set(self.name, self.token, nx=True, px=self._ttl_ms):
            return True
        # Our own lease (a renewal whose reply was lost): keep it.
        return await self.renew()

    async def renew(self) -> bool:
        result = await self.client.eval(_RENEW, 1, self.name, self.token, str(self._ttl_ms))
        return bool(result)

    async def release(self) -> None:
        await self.client.eval(_RELEASE, 1, self.name, self.token)

    async def holder(self) -> str | None:
        """The token holding the lease now (None when free)."""
        value = await self.client.get(self.name)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)


class LeaseFactory(Protocol):
    def lease(self, name: str) -> Lease: ...

    async def close(self) -> None: ...


class SingleProcessLeases:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl

    def lease(self, name: str) -> Lease:
        return AlwaysLeader(name, self.ttl)

    async def close(self) -> None:
        return None


class RedisLeases:
    """Leases ``<prefix>:lease:<name>`` in one Redis, sharing one client."""

    def __init__(self, url: str, *, prefix: str, ttl: float) -> None:
        self.prefix = prefix
        self.ttl = ttl
        # A round trip must fail well before the lease could lapse.
        self.client = redis_client(url, timeout=max(0.2, min(2.0, ttl / 4)))

    def lease(self, name: str) -> Lease:
        return RedisLease(self.client, f"{self.prefix}:lease:{name}", ttl=self.ttl)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.aclose()


def create_leases(
    broker_url: str, cache_url: str, *, prefix: str, ttl: float
) -> RedisLeases | SingleProcessLeases:
    """Leases in the broker's Redis, else the cache's; none needed for memory:// both."""
    for url in (broker_url, cache_url):
        if url.startswith(("redis://", "rediss://", "unix://")):
            return RedisLeases(url, prefix=prefix, ttl=ttl)
    return SingleProcessLeases(ttl)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


async def run_while_leader(
    lease: Lease,
    work: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    stop: asyncio.Event,
    *,
    grace: float | None = None,
) -> None:
    """Run ``work(work_stop)`` only while ``lease`` is held, until ``stop`` is set.

    ``work`` must return soon after its event is set; after ``grace`` seconds (default
    half the TTL, at most 5) it is cancelled. On ``stop`` the lease is released.
    """
    loop = asyncio.get_running_loop()
    every = lease.ttl / 3
    grace = min(lease.ttl / 2, 5.0) if grace is None else grace
    warned = False
    while not stop.is_set():
        started = loop.time()
        try:
            held = await lease.acquire()
        except Exception as exc:
            held = False
            if not warned:
                logger.warning("cannot reach the lease store for %s: %s", lease.name, exc)
                warned = True
        if not held:
            await _sleep_unless(stop, every)
            continue
        warned = False
        valid_until = started + lease.ttl * _DRIFT
        logger.info("took lease %s (%s)", lease.name, holder_identity())
        work_stop = asyncio.Event()
        task: asyncio.Task[None] = asyncio.create_task(work(work_stop))
        stopping = asyncio.create_task(stop.wait())
        reason = "stopping"
        try:
            while True:
                timeout = min(every, valid_until - loop.time())
                # FIRST_COMPLETED: a stop (or the work ending) is acted on at once, not
                # at the next renewal, which is up to ttl / 3 away.
                await asyncio.wait(
                    {task, stopping},
                    timeout=max(0.0, timeout),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stop.is_set():
                    break
                if task.done():
                    reason = "work ended"
                    break
                renew_started = loop.time()
                try:
                    ours = await lease.renew()
                except Exception as exc:
                    if loop.time() >= valid_until:
                        reason = f"could not renew before expiry ({type(exc).__name__})"
                        break
                    continue
                if not ours:
                    reason = "taken by another holder"
                    break
                valid_until = renew_started + lease.ttl * _DRIFT
        finally:
            stopping.cancel()
            work_stop.set()
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            elif not task.cancelled() and task.exception() is not None:
                logger.error("work under lease %s failed", lease.name, exc_info=task.exception())
            with contextlib.suppress(Exception):
                await lease.release()
        if stop.is_set():
            logger.info("released lease %s", lease.name)
            return
        logger.warning("gave up lease %s: %s", lease.name, reason)
        await _sleep_unless(stop, every)
