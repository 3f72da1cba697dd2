"""PostgreSQL stopped, started and restarted under ``ordergraph serve``: webhooks in the
outage get 503 and are resent as the vendor would, /readyz follows the store, and once
it is back every order and event is there exactly once and GraphQL answers again
without restarting serve (the pool replaces its dead connections)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from ordergraph.store import Store
from tests.conftest import Sandbox
from tests.faults.conftest import create_database
from tests.faults.deploy import KomboVendor, deployment, graphql
from tests.faults.services import PrivatePostgres, ServeProcess
from tests.secrets_scan import Captured, SecretScanner
from tests.serve_support import SECRETS

COUNT = "{ orders(first: 1) { totalCount } }"

pytestmark = pytest.mark.faults


async def _ready(session: aiohttp.ClientSession, url: str, captured: Captured) -> int:
    async with session.get(url + "/readyz") as response:
        text = await response.text()
        captured.response("GET /readyz", response.status, dict(response.headers), text)
        return response.status


async def _until(predicate: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {within}s")


async def test_a_postgres_outage_and_restart_lose_nothing(
    private_postgres: PrivatePostgres, sandbox: Sandbox, tmp_path: Path
) -> None:
    store_url = create_database(private_postgres, f"og_{uuid.uuid4().hex[:10]}")
    deploy = await deployment(sandbox, tmp_path, store_url=store_url)
    serve = ServeProcess(deploy.config, deploy.env, tmp_path / "serve.log")
    captured = Captured()
    await serve.start("--migrate")
    try:
        async with aiohttp.ClientSession() as session:
            vendor = KomboVendor(deploy, session, captured, [])

            async def polled() -> bool:
                _, body = await graphql(session, serve.url, COUNT, captured)
                return bool(body.get("data") and body["data"]["orders"]["totalCount"] == 30)

            await _until(polled, 20, "the poller's first run")
            sent: list[str] = []

            async def deliver(label: str, count: int) -> list[int]:
                ids = [f"pg_{label}_{i}" for i in range(count)]
                sent.extend(ids)
                return list(await asyncio.gather(*(vendor.deliver(serve.url, rid) for rid in ids)))

            assert await deliver("before", 5) == [1] * 5

            # when the database stops, webhooks are refused with 503 (and resent)
            await asyncio.to_thread(private_postgres.stop)
            outage = asyncio.create_task(deliver("outage", 5))
            await _until(lambda: _true(503 in vendor.statuses), 20, "a 503 in the outage")
            assert await _ready(session, serve.url, captured) == 503
            status, body = await graphql(session, serve.url, COUNT, captured)
            assert status == 200, body  # GraphQL answers, with an error for the field
            assert body.get("errors"), body
            await asyncio.to_thread(private_postgres.start)
            attempts = await outage
            assert max(attempts) > 1  # they were resent
            await _until(lambda: _is(_ready(session, serve.url, captured), 200), 20, "ready")

            # then GraphQL works again on the first try, with no restart of serve
            status, body = await graphql(session, serve.url, COUNT, captured)
            assert (status, body) == (200, {"data": {"orders": {"totalCount": 40}}}), body

            # a fast restart while webhooks and queries flow
            restart = asyncio.create_task(asyncio.to_thread(private_postgres.restart))
            flowing = asyncio.create_task(deliver("restart", 10))
            queries = [await graphql(session, serve.url, COUNT, captured) for _ in range(10)]
            await restart
            await flowing
            assert all(status == 200 for status, _ in queries)
            # a restart nobody noticed: the pooled connections are all dead, and the
            # next query and webhook must not fail on them
            quiet = len(serve.output())
            await asyncio.to_thread(private_postgres.restart)
            status, body = await graphql(session, serve.url, COUNT, captured)
            assert (status, body) == (200, {"data": {"orders": {"totalCount": 50}}}), body
            assert await deliver("after", 5) == [1] * 5
            assert "Traceback" not in serve.output()[quiet:], serve.output()[quiet:]
            status, body = await graphql(session, serve.url, COUNT, captured)
            assert (status, body) == (200, {"data": {"orders": {"totalCount": 55}}}), body
    finally:
        code = await serve.stop()
    assert code == 0, serve.output()[-3000:]

    # every webhook order once, with exactly one event
    store = await Store.open(store_url, cursor_secret=SECRETS["OG_CURSOR_SECRET"])
    try:
        events = await store.orders.events_after("acme", None, limit=10_000)
    finally:
        await store.close()
    per_order = Counter(event.order_id for event in events)
    assert {f"acme-kombo:{rid}" for rid in sent} <= set(per_order)
    assert set(per_order.values()) == {1}, per_order
    assert len(per_order) == 30 + len(sent)

    captured.add("serve output", serve.output())
    scanner = SecretScanner.from_settings(deploy.settings(), api_key=SECRETS["OG_ACME_KEY"])
    scanner.scan(captured)


async def _true(value: bool) -> bool:
    return value


async def _is(value: object, expected: int) -> bool:
    return bool(await value == expected)  # type: ignore[misc]
