"""Redis (broker, cache and poller leases) killed and started again under two ``serve``
processes on PostgreSQL: webhooks to one keep being stored, a subscriber on the other
gets every event exactly once (late while Redis is down: the log is the truth, read
every ``subscriptions.poll_interval``), and GraphQL keeps answering on both."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import Sandbox
from tests.faults.deploy import KomboVendor, deployment, graphql
from tests.faults.services import ServeProcess
from tests.scale.conftest import RedisServer
from tests.secrets_scan import Captured, SecretScanner
from tests.serve_support import SECRETS

pytestmark = [
    pytest.mark.faults,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

SUBSCRIPTION = "subscription { orderEvents { cursor newStatus order { remoteId } } }"
COUNT = "{ orders(first: 1) { totalCount } connections { id } }"


class Subscriber:
    """A graphql-transport-ws client that records every event it is sent."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, captured: Captured) -> None:
        self.ws = ws
        self.captured = captured
        self.remote_ids: list[str] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        auth = {"authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"}
        await self.ws.send_json({"type": "connection_init", "payload": auth})
        ack = await self.ws.receive_json(timeout=10)
        assert ack["type"] == "connection_ack", ack
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        await self.ws.send_json(subscribe)
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            self.captured.add("websocket frame", message.data)
            frame: dict[str, Any] = json.loads(message.data)
            if frame["type"] == "ping":
                await self.ws.send_json({"type": "pong"})
            elif frame["type"] == "next":
                assert "errors" not in frame["payload"], frame
                event = frame["payload"]["data"]["orderEvents"]
                self.remote_ids.append(event["order"]["remoteId"])
            else:
                raise AssertionError(frame)

    async def until_live(self, vendor: KomboVendor, url: str) -> None:
        """The subscription starts from the log's end once it runs: probe orders are
        delivered until it sends one (not a sleep that a loaded machine outlasts)."""
        for n in range(30):
            probe = f"probe_{n}"
            await vendor.deliver(url, probe)
            try:
                await self.until_seen([probe], 1.5)
                return
            except AssertionError:
                assert self.task is not None
                assert not self.task.done(), self.task
        raise AssertionError("the subscription never sent an event")

    async def until_seen(self, ids: list[str], within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if set(ids) <= set(self.remote_ids):
                return
            assert self.task is not None
            assert not self.task.done(), self.task
            await asyncio.sleep(0.1)
        raise AssertionError(f"missing events: {sorted(set(ids) - set(self.remote_ids))}")


async def test_a_redis_outage_loses_no_event_and_graphql_keeps_answering(
    sandbox: Sandbox, fresh_store_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    await redis_server.start()
    deploy = await deployment(
        sandbox,
        tmp_path,
        store_url=fresh_store_url,
        broker_url=redis_server.url,
        cache_url=redis_server.url,
        prefix=f"ogfaults-{uuid.uuid4().hex[:8]}",
        sections={"subscriptions": {"poll_interval": 1}},
    )
    first = ServeProcess(deploy.config, deploy.env, tmp_path / "first.log")
    second = ServeProcess(deploy.config, deploy.env, tmp_path / "second.log")
    captured = Captured()
    await first.start()
    await second.start()
    try:
        async with aiohttp.ClientSession() as session:
            vendor = KomboVendor(deploy, session, captured, [])
            ws_url = second.url.replace("http://", "ws://") + "/graphql"
            async with session.ws_connect(ws_url, protocols=["graphql-transport-ws"]) as ws:
                subscriber = Subscriber(ws, captured)
                await subscriber.start()
                await subscriber.until_live(vendor, first.url)

                async def deliver(label: str, count: int) -> list[str]:
                    ids = [f"redis_{label}_{i}" for i in range(count)]
                    for remote_id in ids:
                        await vendor.deliver(first.url, remote_id)
                    return ids

                sent = await deliver("before", 3)
                await subscriber.until_seen(sent, 10)

                # Redis dies: webhooks are still stored, GraphQL still answers on both
                await redis_server.stop()
                sent += await deliver("down", 5)
                for process in (first, second):
                    status, body = await graphql(session, process.url, COUNT, captured)
                    assert status == 200, body
                    assert "errors" not in body, body
                await subscriber.until_seen(sent, 15)

                # Redis is back: wake-ups flow again
                await redis_server.start()
                sent += await deliver("after", 5)
                await subscriber.until_seen(sent, 15)
                await asyncio.sleep(2)  # a late duplicate would arrive by now
                # (the poller's first page may arrive too: only the webhooks are counted)
                ours = [i for i in subscriber.remote_ids if i.startswith("redis_")]
                assert sorted(ours) == sorted(sent), ours
                status, body = await graphql(session, second.url, COUNT, captured)
                assert status == 200, body
                assert "errors" not in body, body
    finally:
        codes = [await first.stop(), await second.stop()]
    assert codes == [0, 0], first.output()[-2000:] + second.output()[-2000:]
    captured.add("first output", first.output())
    captured.add("second output", second.output())
    scanner = SecretScanner.from_settings(deploy.settings(), api_key=SECRETS["OG_ACME_KEY"])
    scanner.scan(captured)
