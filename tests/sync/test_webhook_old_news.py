"""Old news at the webhook intake: a delivery never moves an order back in time.

A Kombo delivery carries no time. Captured from the sandbox as Kombo sent it (signed)
and replayed once its receipt was pruned, it claims the order is OPEN long after it
COMPLETED; the intake reads the order back from Kombo (``ids``) and ingests what
Kombo says now. Unified orders carry ``updated_at``: an older one is skipped, and one
without a time that would change the stored status is read back by id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ordergraph.models import OrderStatus
from ordergraph.store import EventSource, WebhookReceipt
from ordergraph.store.types import utcnow
from ordergraph.sync.poller import OrderPoller
from ordergraph.sync.receipt_pruner import ReceiptPruner
from tests.conftest import Sandbox
from tests.sync.conftest import TENANT, Gateway
from tests.sync.signed import account, unified_body, unified_order

KOMBO = "/webhooks/kombo"
UNIFIED = "/webhooks/unified/acme-unified"
KOMBO_READ = "GET /assessment/orders"


@dataclass
class Captured:
    """Deliveries a vendor sent to the capturing server, byte for byte."""

    deliveries: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
async def capture() -> AsyncIterator[tuple[str, Captured]]:
    """A real loopback server that takes any webhook with 200 and keeps it."""
    captured = Captured()

    async def take(request: web.Request) -> web.Response:
        captured.deliveries.append((await request.read(), dict(request.headers)))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", take)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/hook")), captured
    await server.close()


async def _capture_new_kombo_order(
    sandbox: Sandbox, gateway: Gateway, hook: tuple[str, Captured]
) -> tuple[str, bytes, dict[str, str]]:
    """Let the Kombo simulator create an order and send its signed webhook to the
    capturing server: the delivery an attacker could have recorded."""
    url, captured = hook
    await sandbox.control("POST", "webhooks", {"kombo": url})
    owner = account(gateway, "acme-kombo")
    created = await sandbox.control(
        "POST", "orders", {"provider": "kombo", "account": owner, "count": 1}
    )
    [body_and_headers] = captured.deliveries
    body, headers = body_and_headers
    signature = {"X-Kombo-Signature": headers["X-Kombo-Signature"]}
    return str(created["orders"][0]["id"]), body, signature


async def _set_kombo_status(
    sandbox: Sandbox, gateway: Gateway, remote_id: str, status: str
) -> None:
    owner = account(gateway, "acme-kombo")
    await sandbox.control(
        "PATCH",
        "orders",
        {"provider": "kombo", "account": owner, "id": remote_id, "status": status},
    )


def _poller(gateway: Gateway) -> OrderPoller:
    connection = gateway.services.connections.get("acme-kombo")
    assert connection is not None
    store = gateway.services.store
    return OrderPoller(
        connection, gateway.services.ingestor, store.orders, store.sync_state, interval=3600
    )


async def _prune_everything(gateway: Gateway) -> None:
    """The pruner, a month on: every receipt is past the replay window."""
    month_on = utcnow() + timedelta(days=30)
    pruner = ReceiptPruner(
        gateway.services.store.webhook_receipts,
        window=timedelta(days=14),
        interval=timedelta(hours=1),
        clock=lambda: month_on,
    )
    await pruner.prune_once()
    assert await gateway.services.store.webhook_receipts.count() == 0


async def _status(gateway: Gateway, connection_id: str, remote_id: str) -> str:
    key = f"{connection_id}:{remote_id}"
    found = await gateway.services.store.orders.get(TENANT, [key])
    return str(found[key].order.status.value)


async def _statuses_of(gateway: Gateway, connection_id: str, remote_id: str) -> list[str]:
    key = f"{connection_id}:{remote_id}"
    return [e.new_status for e in await gateway.events() if e.order_id == key]


async def _kombo_reads(sandbox: Sandbox) -> int:
    stats = await sandbox.stats()
    return int(stats["requests"].get("kombo", {}).get(KOMBO_READ, 0))


async def test_a_kombo_delivery_replayed_after_pruning_does_not_reopen_a_completed_order(
    gateway: Gateway, sandbox: Sandbox, capture: tuple[str, Captured]
) -> None:
    remote_id, body, headers = await _capture_new_kombo_order(sandbox, gateway, capture)
    assert (await gateway.post(KOMBO, body, headers))[1]["events"] == 1
    # The candidate finishes; the poller sees it.
    await _set_kombo_status(sandbox, gateway, remote_id, "COMPLETED")
    await _poller(gateway).poll_once()
    assert await _status(gateway, "acme-kombo", remote_id) == "COMPLETED"
    events_before = len(await gateway.events())
    await _prune_everything(gateway)
    reads_before = await _kombo_reads(sandbox)

    status, answer = await gateway.post(KOMBO, body, headers)

    # Taken (its receipt is gone), but what was ingested is what Kombo says now.
    assert (status, answer["status"], answer["events"]) == (200, "ok", 0)
    assert await _status(gateway, "acme-kombo", remote_id) == "COMPLETED"
    assert len(await gateway.events()) == events_before
    assert await _statuses_of(gateway, "acme-kombo", remote_id) == ["OPEN", "COMPLETED"]
    # One ``ids`` read confirmed it, and the receipt is written again.
    assert await _kombo_reads(sandbox) == reads_before + 1
    receipt = WebhookReceipt("acme-kombo", _event_id(body))
    assert await gateway.services.store.webhook_receipts.contains(receipt)


def _event_id(body: bytes) -> str:
    return str(json.loads(body)["id"])


async def test_a_copy_inside_the_window_costs_no_provider_read(
    gateway: Gateway, sandbox: Sandbox, capture: tuple[str, Captured]
) -> None:
    remote_id, body, headers = await _capture_new_kombo_order(sandbox, gateway, capture)
    await gateway.post(KOMBO, body, headers)
    await _set_kombo_status(sandbox, gateway, remote_id, "CANCELLED")
    await _poller(gateway).poll_once()
    reads_before = await _kombo_reads(sandbox)

    status, answer = await gateway.post(KOMBO, body, headers)

    assert (status, answer["status"]) == (200, "duplicate")
    assert await _kombo_reads(sandbox) == reads_before
    assert await _status(gateway, "acme-kombo", remote_id) == "CANCELLED"


async def test_a_new_order_is_taken_as_delivered_without_a_read(
    gateway: Gateway, sandbox: Sandbox, capture: tuple[str, Captured]
) -> None:
    # Nothing in the index to move back: no read, so a delivery is never lost to a
    # provider that does not list a brand-new order yet.
    reads_before = await _kombo_reads(sandbox)
    remote_id, body, headers = await _capture_new_kombo_order(sandbox, gateway, capture)

    status, answer = await gateway.post(KOMBO, body, headers)

    assert (status, answer["events"]) == (200, 1)
    assert await _status(gateway, "acme-kombo", remote_id) == "OPEN"
    assert await _kombo_reads(sandbox) == reads_before


async def test_a_replay_while_kombo_is_down_is_answered_503_and_kept_for_the_retry(
    gateway: Gateway, sandbox: Sandbox, capture: tuple[str, Captured]
) -> None:
    remote_id, body, headers = await _capture_new_kombo_order(sandbox, gateway, capture)
    await gateway.post(KOMBO, body, headers)
    await _set_kombo_status(sandbox, gateway, remote_id, "COMPLETED")
    await _poller(gateway).poll_once()
    await _prune_everything(gateway)
    events_before = len(await gateway.events())

    await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
    status, answer = await gateway.post(KOMBO, body, headers)

    # Not acknowledged, nothing written (not even the receipt): Kombo retries.
    assert (status, answer["error"]["code"]) == (503, "PROVIDER_UNAVAILABLE")
    assert await gateway.services.store.webhook_receipts.count() == 0
    assert await _status(gateway, "acme-kombo", remote_id) == "COMPLETED"
    assert len(await gateway.events()) == events_before

    await sandbox.faults({})
    status, answer = await gateway.post(KOMBO, body, headers)
    assert (status, answer["status"], answer["events"]) == (200, "ok", 0)
    assert await gateway.services.store.webhook_receipts.count() == 1
    assert await _status(gateway, "acme-kombo", remote_id) == "COMPLETED"


@pytest.mark.parametrize("rounds", [6])
async def test_a_replay_racing_the_poll_of_a_status_change_never_reopens_the_order(
    gateway: Gateway, sandbox: Sandbox, capture: tuple[str, Captured], rounds: int
) -> None:
    # Whichever commits first: the replay's look at the index sees OPEN (same as it
    # claims: its status may then only fill a new row) or COMPLETED (read back from
    # Kombo, which says COMPLETED). Neither can put OPEN back over COMPLETED.
    remote_id, body, headers = await _capture_new_kombo_order(sandbox, gateway, capture)
    await gateway.post(KOMBO, body, headers)
    poller = _poller(gateway)
    await poller.poll_once()  # the first walk, out of the way
    await _set_kombo_status(sandbox, gateway, remote_id, "COMPLETED")
    for _ in range(rounds):
        await _prune_everything(gateway)
        answers = await asyncio.gather(poller.poll_once(), gateway.post(KOMBO, body, headers))
        assert answers[1][0] == 200, answers[1]
        assert await _status(gateway, "acme-kombo", remote_id) == "COMPLETED"

    assert await _statuses_of(gateway, "acme-kombo", remote_id) == ["OPEN", "COMPLETED"]


async def _unified_truth(sandbox: Sandbox, gateway: Gateway) -> tuple[str, str]:
    owner = account(gateway, "acme-unified")
    truth = await sandbox.control("GET", f"orders?provider=unified&account={owner}")
    first = truth["orders"][0]
    return str(first["id"]), str(first["status"])


async def test_an_older_unified_delivery_is_skipped_as_stale(gateway: Gateway) -> None:
    owner = account(gateway, "acme-unified")
    done = unified_order(owner, "ord_late", "COMPLETED") | {"updated_at": "2026-03-02T10:00:00Z"}
    late = unified_order(owner, "ord_late", "OPEN") | {"updated_at": "2026-03-01T10:00:00Z"}

    await gateway.post(UNIFIED, unified_body(gateway, [done], nonce="n-done"))
    status, answer = await gateway.post(UNIFIED, unified_body(gateway, [late], nonce="n-late"))

    assert (status, answer["status"], answer["events"]) == (200, "ok", 0)
    assert await _status(gateway, "acme-unified", "ord_late") == "COMPLETED"


async def test_a_unified_delivery_without_a_time_is_confirmed_by_reading_the_order(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    owner = account(gateway, "acme-unified")
    remote_id, truth = await _unified_truth(sandbox, gateway)
    claimed = "FAILED" if truth != "FAILED" else "OPEN"
    current = unified_order(owner, remote_id, truth)
    timeless = {
        k: v for k, v in unified_order(owner, remote_id, claimed).items() if k != "updated_at"
    }
    await gateway.post(UNIFIED, unified_body(gateway, [current], nonce="n-now"))
    route = "GET /assessment/{connection_id}/order/{id}"
    reads_before = (await sandbox.stats())["requests"].get("unified", {}).get(route, 0)

    status, answer = await gateway.post(UNIFIED, unified_body(gateway, [timeless], nonce="n-old"))

    assert (status, answer["status"], answer["events"]) == (200, "ok", 0)
    assert await _status(gateway, "acme-unified", remote_id) == truth
    reads = (await sandbox.stats())["requests"]["unified"].get(route, 0)
    assert reads == reads_before + 1


async def test_a_status_for_new_orders_only_leaves_a_stored_status_alone(gateway: Gateway) -> None:
    # What decides the race above, under the ingestion lock: an order the intake saw
    # as new (or unchanged) that has meanwhile been stored with another status.
    connection = gateway.services.connections.get("acme-kombo")
    assert connection is not None
    ingestor = gateway.services.ingestor
    provider = connection.provider
    [stored] = (await provider.list_orders(page_size=1)).items
    done = stored.model_copy(
        update={"status": OrderStatus.COMPLETED, "provider_status": "COMPLETED"}
    )
    claim = stored.model_copy(update={"status": OrderStatus.OPEN, "provider_status": "OPEN"})
    await ingestor.ingest(connection, [done], EventSource.POLL)
    fresh = claim.model_copy(update={"remote_id": "brand-new"})

    result = await ingestor.ingest(
        connection,
        [claim, fresh],
        EventSource.WEBHOOK,
        status_if_new={claim.remote_id, fresh.remote_id},
    )

    assert [(e.order_id, e.new_status) for e in result.events] == [("acme-kombo:brand-new", "OPEN")]
    assert await _status(gateway, "acme-kombo", stored.remote_id) == "COMPLETED"


async def test_a_unified_delivery_with_the_stored_time_but_another_status_is_confirmed(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    # Same updated_at, different status: the times cannot tell which is newer.
    owner = account(gateway, "acme-unified")
    remote_id, truth = await _unified_truth(sandbox, gateway)
    claimed = "FAILED" if truth != "FAILED" else "OPEN"
    await gateway.post(
        UNIFIED, unified_body(gateway, [unified_order(owner, remote_id, truth)], nonce="n-a")
    )
    same_time = unified_order(owner, remote_id, claimed)

    status, answer = await gateway.post(UNIFIED, unified_body(gateway, [same_time], nonce="n-b"))

    assert (status, answer["status"], answer["events"]) == (200, "ok", 0)
    assert await _status(gateway, "acme-unified", remote_id) == truth


async def test_a_newer_unified_delivery_applies_without_a_read(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    owner = account(gateway, "acme-unified")
    first = unified_order(owner, "ord_new", "OPEN")
    later = unified_order(owner, "ord_new", "COMPLETED") | {"updated_at": "2026-03-02T10:00:00Z"}
    await gateway.post(UNIFIED, unified_body(gateway, [first], nonce="n-1"))
    reads_before = (await sandbox.stats())["requests"].get("unified", {})

    status, answer = await gateway.post(UNIFIED, unified_body(gateway, [later], nonce="n-2"))

    assert (status, answer["events"]) == (200, 1)
    assert await _status(gateway, "acme-unified", "ord_new") == "COMPLETED"
    assert (await sandbox.stats())["requests"].get("unified", {}) == reads_before
