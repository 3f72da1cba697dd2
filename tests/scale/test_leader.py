"""Poller leases: one holder among competitors, takeover within the TTL when the holder
dies, prompt stop when the lease is lost, release on a clean stop."""

from __future__ import annotations

import asyncio
import time

from ordergraph.sync.leader import (
    RedisLease,
    RedisLeases,
    SingleProcessLeases,
    create_leases,
    run_while_leader,
)
from tests.scale.conftest import RedisServer

TTL = 1.5


class _Work:
    """A stand-in for a poller: records when it runs and when it was told to stop."""

    def __init__(self) -> None:
        self.running = False
        self.started_at: float | None = None
        self.runs = 0

    async def __call__(self, stop: asyncio.Event) -> None:
        self.running = True
        self.runs += 1
        self.started_at = time.monotonic()
        try:
            await stop.wait()
        finally:
            self.running = False


async def _until(predicate: object, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if callable(predicate) and predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


class _DiesWithoutRelease(RedisLease):
    async def release(self) -> None:  # kill -9: nothing runs on the way out
        return None


async def test_memory_deployments_need_no_lease() -> None:
    leases = create_leases("memory://", "memory://", prefix="x", ttl=TTL)
    assert isinstance(leases, SingleProcessLeases)
    assert await leases.lease("a").acquire()


async def test_exactly_one_of_many_competitors_holds_the_lease(redis_url: str, prefix: str) -> None:
    factories = [RedisLeases(redis_url, prefix=prefix, ttl=TTL) for _ in range(5)]
    try:
        leases = [f.lease("kombo-poller:c1") for f in factories]
        held = await asyncio.gather(*(lease.acquire() for lease in leases))
        assert sorted(held) == [False, False, False, False, True]
        holder = leases[held.index(True)]
        assert await holder.acquire()  # re-entrant for its holder
        others = [lease for lease in leases if lease is not holder]
        assert not any(await asyncio.gather(*(lease.renew() for lease in others)))
        await others[0].release()  # not theirs to release
        assert await holder.renew()
        await holder.release()
        assert await others[0].acquire()
    finally:
        for factory in factories:
            await factory.close()


async def test_a_dead_holder_is_replaced_within_the_ttl(redis_url: str, prefix: str) -> None:
    a_factory = RedisLeases(redis_url, prefix=prefix, ttl=TTL)
    b_factory = RedisLeases(redis_url, prefix=prefix, ttl=TTL)
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    work_a, work_b = _Work(), _Work()
    lease_a = _DiesWithoutRelease(a_factory.client, f"{prefix}:lease:c1", ttl=TTL)
    a = asyncio.create_task(run_while_leader(lease_a, work_a, stop_a))
    await _until(lambda: work_a.running, TTL)
    b = asyncio.create_task(run_while_leader(b_factory.lease("c1"), work_b, stop_b))
    try:
        await asyncio.sleep(TTL * 1.5)  # a renews: b never runs while a lives
        assert work_a.running
        assert work_b.runs == 0

        a.cancel()  # a dies: no renewal, no release
        died = time.monotonic()
        await asyncio.gather(a, return_exceptions=True)
        await _until(lambda: work_b.running, TTL * 2 + 1)
        assert work_b.started_at is not None
        takeover = work_b.started_at - died
        assert takeover <= TTL + TTL / 3 + 0.5, takeover
    finally:
        stop_a.set()
        stop_b.set()
        await asyncio.wait_for(b, timeout=5)
        await a_factory.close()
        await b_factory.close()


async def test_losing_the_lease_stops_the_work_promptly(redis_url: str, prefix: str) -> None:
    factory = RedisLeases(redis_url, prefix=prefix, ttl=TTL)
    stop = asyncio.Event()
    work = _Work()
    task = asyncio.create_task(run_while_leader(factory.lease("c1"), work, stop))
    try:
        await _until(lambda: work.running, TTL)
        # Someone else owns it now (say, our renewals stalled past the TTL).
        await factory.client.set(f"{prefix}:lease:c1", "someone-else", px=60_000)
        elapsed = await _until(lambda: not work.running, TTL)
        assert elapsed <= TTL / 3 + 0.3
        await asyncio.sleep(TTL)
        assert work.runs == 1  # it does not take the lease back while held elsewhere
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        await factory.close()
    assert work.runs == 1


async def test_a_holder_that_cannot_reach_redis_stops_before_its_lease_expires(
    redis_server: RedisServer,
) -> None:
    await redis_server.start()
    factory = RedisLeases(redis_server.url, prefix="og", ttl=TTL)
    stop = asyncio.Event()
    work = _Work()
    task = asyncio.create_task(run_while_leader(factory.lease("c1"), work, stop))
    try:
        await _until(lambda: work.running, TTL)
        await redis_server.stop()
        elapsed = await _until(lambda: not work.running, TTL * 2)
        assert elapsed <= TTL  # by its own clock, before the key could have expired
        await redis_server.start()  # back (empty): it takes the lease again
        await _until(lambda: work.running, TTL * 3)
        assert work.runs == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        await factory.close()


async def test_a_stop_ends_the_work_at_once_however_long_the_ttl() -> None:
    # given: work under a lease whose next renewal is 20 s away
    stop = asyncio.Event()
    work = _Work()
    task = asyncio.create_task(run_while_leader(SingleProcessLeases(60.0).lease("c1"), work, stop))
    await _until(lambda: work.running, 1.0)

    # when
    stop.set()

    # then: the work is told and the leader returns now, not at the next renewal
    await asyncio.wait_for(task, timeout=1.0)
    assert not work.running


async def test_a_clean_stop_releases_the_lease_at_once(redis_url: str, prefix: str) -> None:
    factory = RedisLeases(redis_url, prefix=prefix, ttl=TTL)
    stop = asyncio.Event()
    work = _Work()
    task = asyncio.create_task(run_while_leader(factory.lease("c1"), work, stop))
    try:
        await _until(lambda: work.running, TTL)
        assert await factory.client.exists(f"{prefix}:lease:c1")
        stop.set()
        await asyncio.wait_for(task, timeout=2)
        assert not work.running
        assert not await factory.client.exists(f"{prefix}:lease:c1")
    finally:
        stop.set()
        await factory.close()
