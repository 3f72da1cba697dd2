"""The npm ``graphql-ws`` client against a live gateway (tests/js/subscribe.mjs).

Events are caused end to end: the Kombo simulator delivers signed webhooks to the
gateway's ``/webhooks/kombo``, which ingests them. The client subscribes, receives,
completes; more events happen while it is away; it reconnects with its last cursor
and must get every missed event exactly once, in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from ordergraph.broker import MemoryBroker
from tests.api.conftest import KEYS, Api
from tests.api.helpers import gid
from tests.conftest import Sandbox

JS = Path(__file__).parent.parent / "js"
SCRIPT = JS / "subscribe.mjs"


def _node() -> str:
    """The node binary, or skip (fail under CI) when node or the client is missing."""
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else "tests/js/node_modules is missing (run `make install`)"
        if not (JS / "node_modules" / "graphql-ws").is_dir()
        else None
    )
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"graphql-ws client test cannot run in CI: {missing}")
        pytest.skip(missing)
    assert node is not None
    return node


class Subscriber:
    """A running ``subscribe.mjs``: its JSON lines as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, api: Api, after: str | None, count: int) -> Subscriber:
        ws_url = api.url.replace("http://", "ws://", 1) + "/graphql"
        process = await asyncio.create_subprocess_exec(
            _node(),
            str(SCRIPT),
            ws_url,
            KEYS["acme"],
            after or "-",
            str(count),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def line(self, within: float = 15.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), within)
        if not raw:
            stderr = await self.process.stderr.read() if self.process.stderr else b""
            raise AssertionError(f"subscriber ended early: {stderr.decode()}")
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    async def finish(self, within: float = 15.0) -> None:
        """The client completed on its own (it exits 0 after its count of events)."""
        code = await asyncio.wait_for(self.process.wait(), within)
        stderr = await self.process.stderr.read() if self.process.stderr else b""
        assert code == 0, stderr.decode()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def _subscribed(api: Api, subscriber: Subscriber) -> None:
    """The client is connected and the server tails the log for it."""
    assert await subscriber.line() == {"subscribed": True}
    broker = api.services.broker
    assert isinstance(broker, MemoryBroker)
    for _ in range(500):
        if api.services.hubs.subscriber_count() == 1:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never started")


async def _kombo_orders(api: Api, sandbox: Sandbox, count: int) -> list[str]:
    """Create orders in the Kombo simulator, which delivers them by signed webhook."""
    live = api.services.connections.get("acme-kombo")
    assert live is not None
    created = await sandbox.control(
        "POST", "orders", {"provider": "kombo", "account": live.settings.account, "count": count}
    )
    return [gid("Order", f"acme-kombo:{o['id']}") for o in created["orders"]]


async def test_graphql_ws_client_resumes_from_its_last_cursor(api: Api, sandbox: Sandbox) -> None:
    _node()
    await sandbox.control("POST", "webhooks", {"kombo": api.url + "/webhooks/kombo"})

    # Subscribe (new events only), receive one caused by a webhook, complete.
    first = await Subscriber.start(api, None, 1)
    try:
        await _subscribed(api, first)
        [order_id] = await _kombo_orders(api, sandbox, 1)
        event = await first.line()
        await first.finish()
    finally:
        first.kill()
    assert event["order"]["id"] == order_id
    assert event["newStatus"]
    last_cursor = event["cursor"]

    # Away: three more orders arrive.
    missed = await _kombo_orders(api, sandbox, 3)
    logged = await api.services.store.orders.events_after(
        "acme", api.services.store.orders.event_position("acme", last_cursor), limit=100
    )
    assert len(logged) == 3

    # Back with the last cursor: each missed event exactly once, in order.
    second = await Subscriber.start(api, last_cursor, 3)
    try:
        await _subscribed(api, second)
        replayed = [await second.line() for _ in range(3)]
        await second.finish()
    finally:
        second.kill()
    assert [e["order"]["id"] for e in replayed] == missed
    assert [api.services.store.orders.event_position("acme", e["cursor"]) for e in replayed] == [
        e.id for e in logged
    ]
