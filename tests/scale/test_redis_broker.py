"""The Redis broker: wake-ups cross processes, one pub/sub connection fans out to many
waiters, and a Redis restart costs latency but no event (the log is the truth)."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from ordergraph.broker_factory import create_broker
from ordergraph.broker_redis import RedisBroker
from tests.scale.conftest import RedisServer


async def _until(predicate: object, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def test_create_broker_returns_a_redis_broker(redis_url: str, prefix: str) -> None:
    broker = create_broker(redis_url, channel_prefix=prefix)
    try:
        assert isinstance(broker, RedisBroker)
        assert broker.channel("acme") == f"{prefix}:acme"
    finally:
        await broker.close()


async def test_a_wake_up_crosses_from_one_broker_to_another(redis_url: str, prefix: str) -> None:
    a = RedisBroker(redis_url, channel_prefix=prefix)
    b = RedisBroker(redis_url, channel_prefix=prefix)
    try:
        async with b.subscribe("acme") as wakeups, b.subscribe("globex") as other:
            await _until(lambda: b.connected)
            waiting = asyncio.create_task(wakeups.wait(0, 5))
            await asyncio.sleep(0.05)
            await a.publish("acme", 7)
            assert await waiting == 7
            # Another tenant's wake-up does not wake this one, and vice versa.
            assert await other.wait(0, 0.2) is None
            # An id not above what the subscriber saw does not wake it.
            assert await wakeups.wait(7, 0.2) is None
            await a.publish("acme", 9)
            assert await wakeups.wait(7, 5) == 9
    finally:
        await a.close()
        await b.close()


async def test_two_hundred_waiters_share_one_connection(redis_server: RedisServer) -> None:
    await redis_server.start()
    a = RedisBroker(redis_server.url, channel_prefix="og")
    b = RedisBroker(redis_server.url, channel_prefix="og")
    admin = Redis.from_url(redis_server.url)
    try:

        async def one() -> int:
            async with b.subscribe("acme") as wakeups:
                while True:  # None: (re)connected, re-read the log (here: wait again)
                    latest = await wakeups.wait(0, 10)
                    if latest is not None:
                        return latest

        waiters = [asyncio.create_task(one()) for _ in range(200)]
        await _until(lambda: b.connected and b.subscriber_count() == 200)
        await a.publish("acme", 42)
        results = await asyncio.wait_for(asyncio.gather(*waiters), timeout=10)
        assert results == [42] * 200
        # One pub/sub connection for the 200 subscribers (b); a has none.
        clients = await admin.client_list(_type="pubsub")
        assert len(clients) == 1
    finally:
        await a.close()
        await b.close()
        await admin.aclose()


class _Log:
    """A stand-in for ``order_events``: ids only, append-only."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def append(self) -> int:
        self.ids.append(len(self.ids) + 1)
        return self.ids[-1]

    def after(self, cursor: int) -> list[int]:
        return [i for i in self.ids if i > cursor]


async def test_a_redis_restart_loses_no_event(redis_server: RedisServer) -> None:
    await redis_server.start()
    publisher = RedisBroker(redis_server.url, channel_prefix="og")
    subscriber = RedisBroker(redis_server.url, channel_prefix="og", degraded_wait=0.3)
    log = _Log()
    seen: list[int] = []
    woken_by_id = 0
    # True while the subscription waits and Redis was up when it began waiting: the
    # reconnect's re-read is done, so the next event can only arrive as a wake-up.
    waiting_connected = False
    stop = asyncio.Event()

    async def subscription() -> None:
        # What a GraphQL subscription does: read the log from a cursor, then wait.
        nonlocal woken_by_id, waiting_connected
        cursor = 0
        async with subscriber.subscribe("acme") as wakeups:
            while not stop.is_set():
                for event_id in log.after(cursor):
                    seen.append(event_id)
                    cursor = event_id
                waiting_connected = subscriber.connected
                woken = await wakeups.wait(cursor, 30)
                waiting_connected = False
                if woken is not None:
                    woken_by_id += 1

    async def ingest(n: int) -> None:
        for _ in range(n):
            await publisher.publish("acme", log.append())  # never raises

    task = asyncio.create_task(subscription())
    try:
        await _until(lambda: subscriber.connected)
        await ingest(5)
        await _until(lambda: len(seen) == 5)

        await redis_server.stop()
        await _until(lambda: not subscriber.connected)
        started = time.monotonic()
        await ingest(5)  # Redis is down: publishing fails quietly, the log keeps them
        assert publisher.publish_failures == 5
        await _until(lambda: len(seen) == 10, within=3)  # periodic log reads find them
        assert time.monotonic() - started < 2

        await redis_server.start()
        await _until(lambda: subscriber.connected, within=10)
        # Publishing before the subscription has re-read the log after the reconnect
        # would let that re-read find the event first (and no wake-up be counted).
        await _until(lambda: waiting_connected, within=3)
        before = woken_by_id
        await ingest(1)
        await _until(lambda: len(seen) == 11)
        await _until(lambda: woken_by_id > before)  # woken by Redis again, not a timeout
        assert seen == list(range(1, 12))  # nothing lost, nothing twice
        assert subscriber.connects >= 2
    finally:
        stop.set()
        await publisher.publish("acme", log.append())
        await asyncio.wait_for(task, timeout=5)
        await publisher.close()
        await subscriber.close()
