"""Replays and duplicates at the webhook intake, on SQLite and PostgreSQL.

A delivery is taken once: its key (Unified ``nonce``, Kombo event ``id``) is recorded
with its orders in one transaction, a copy is acknowledged without a second ingestion,
a delivery that never committed is taken when the vendor retries it, and receipts
older than the replay window are pruned.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergraph.errors import ConfigError
from ordergraph.settings import WebhookSettings, load_settings
from ordergraph.store import EventSource, WebhookReceipt
from ordergraph.store.types import utcnow
from ordergraph.sync.receipt_pruner import ReceiptPruner
from ordergraph.sync.webhooks import WEBHOOK_INTAKE, WebhookIntake, WebhookOutcome
from tests.kombo_events import order_received
from tests.sync.conftest import TENANT, Gateway, eventually
from tests.sync.signed import account, kombo_signed, unified_body, unified_order

UNIFIED = "/webhooks/unified/acme-unified"
KOMBO = "/webhooks/kombo"


async def _receipts(gateway: Gateway) -> int:
    return await gateway.services.store.webhook_receipts.count()


async def test_a_unified_delivery_sent_twice_is_ingested_once(gateway: Gateway) -> None:
    body = unified_body(gateway, [unified_order(account(gateway, "acme-unified"), "ord_1")])

    first = await gateway.post(UNIFIED, body)
    second = await gateway.post(UNIFIED, body)

    assert first == (200, {"status": "ok", "kind": "VIRTUAL", "orders": 1, "events": 1})
    assert second == (200, {"status": "duplicate", "kind": "VIRTUAL", "orders": 1, "events": 0})
    assert len(await gateway.events()) == 1
    assert await _receipts(gateway) == 1


async def test_a_replayed_nonce_with_changed_content_is_not_ingested(gateway: Gateway) -> None:
    # The nonce is signed together with data, so a body re-signed with the same nonce
    # can only come from someone holding the secret; it is still the same delivery id.
    owner = account(gateway, "acme-unified")
    await gateway.post(UNIFIED, unified_body(gateway, [unified_order(owner, "ord_1")], "n-7"))
    changed = unified_body(gateway, [unified_order(owner, "ord_1", "COMPLETED")], "n-7")

    status, answer = await gateway.post(UNIFIED, changed)

    assert (status, answer["status"]) == (200, "duplicate")
    events = await gateway.events()
    assert [e.new_status for e in events] == ["OPEN"]


async def test_a_kombo_event_sent_twice_is_ingested_once(gateway: Gateway) -> None:
    event = order_received(account(gateway, "acme-kombo"), "ko_1", event_id="evt_dup")
    body, headers = kombo_signed(gateway, event)

    first = await gateway.post(KOMBO, body, headers)
    second = await gateway.post(KOMBO, body, headers)

    assert (first[0], first[1]["status"], first[1]["events"]) == (200, "ok", 1)
    assert (second[0], second[1]["status"], second[1]["events"]) == (200, "duplicate", 0)
    assert await gateway.order_count("acme-kombo") == 1
    assert len(await gateway.events()) == 1


async def test_a_new_kombo_event_id_for_the_same_order_is_a_new_delivery(
    gateway: Gateway,
) -> None:
    owner = account(gateway, "acme-kombo")
    first = kombo_signed(gateway, order_received(owner, "ko_1", event_id="evt_a"))
    second = kombo_signed(gateway, order_received(owner, "ko_1", event_id="evt_b"))

    assert (await gateway.post(KOMBO, *first))[1]["status"] == "ok"
    status, answer = await gateway.post(KOMBO, *second)

    # taken (a new event), and unchanged content appends no event
    assert (status, answer["status"], answer["events"]) == (200, "ok", 0)
    assert await _receipts(gateway) == 2


async def test_kombo_events_without_orders_are_remembered_too(gateway: Gateway) -> None:
    event = {
        "id": "evt_sync",
        "type": "data-changed",
        "data": {"integration_id": account(gateway, "acme-kombo"), "changed_models": []},
    }
    body, headers = kombo_signed(gateway, event)

    first = await gateway.post(KOMBO, body, headers)
    second = await gateway.post(KOMBO, body, headers)

    assert (first[0], first[1]["status"]) == (200, "ok")
    assert (second[0], second[1]["status"]) == (200, "duplicate")
    assert await gateway.events() == []


async def test_receipts_are_per_connection(gateway: Gateway) -> None:
    # The same key from two connections names two deliveries.
    unified = unified_body(
        gateway, [unified_order(account(gateway, "acme-unified"), "ord_1")], nonce="shared"
    )
    kombo = kombo_signed(
        gateway, order_received(account(gateway, "acme-kombo"), "ko_1", event_id="shared")
    )

    assert (await gateway.post(UNIFIED, unified))[1]["status"] == "ok"
    assert (await gateway.post(KOMBO, *kombo))[1]["status"] == "ok"
    assert len(await gateway.events()) == 2


@pytest.mark.parametrize("copies", [2, 8])
async def test_concurrent_copies_of_one_delivery_ingest_exactly_once(
    gateway: Gateway, copies: int
) -> None:
    owner = account(gateway, "acme-unified")
    data = [unified_order(owner, f"ord_{i}") for i in range(20)]
    body = unified_body(gateway, data, nonce="n-race")

    answers = await asyncio.gather(*(gateway.post(UNIFIED, body) for _ in range(copies)))

    assert {status for status, _ in answers} == {200}
    statuses = sorted(answer["status"] for _, answer in answers)
    assert statuses == ["duplicate"] * (copies - 1) + ["ok"]
    assert sum(answer["events"] for _, answer in answers) == 20
    assert len(await gateway.events()) == 20
    assert await _receipts(gateway) == 1


@pytest.mark.parametrize("copies", [2, 8])
async def test_concurrent_copies_of_one_kombo_event_ingest_exactly_once(
    gateway: Gateway, copies: int
) -> None:
    event = order_received(account(gateway, "acme-kombo"), "ko_race", event_id="evt_race")
    body, headers = kombo_signed(gateway, event)

    answers = await asyncio.gather(*(gateway.post(KOMBO, body, headers) for _ in range(copies)))

    assert sorted(answer["status"] for _, answer in answers) == ["duplicate"] * (copies - 1) + [
        "ok"
    ]
    assert len(await gateway.events()) == 1


@contextmanager
def _crash_inserting_orders(engine: AsyncEngine) -> Iterator[list[str]]:
    """Fail the next ``INSERT INTO orders`` on ``engine``, as a lost database would:
    inside the ingestion transaction, after the receipt was written."""
    crashed: list[str] = []

    def crash(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not crashed and statement.lstrip().upper().startswith("INSERT INTO ORDERS"):
            crashed.append(statement)
            raise OSError("injected: connection to the database lost")

    sa.event.listen(engine.sync_engine, "before_cursor_execute", crash)
    try:
        yield crashed
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", crash)


async def test_a_retry_of_a_delivery_that_never_committed_is_ingested(gateway: Gateway) -> None:
    body = unified_body(gateway, [unified_order(account(gateway, "acme-unified"), "ord_1")])
    receipt = WebhookReceipt("acme-unified", "n-1")
    receipts = gateway.services.store.webhook_receipts

    with _crash_inserting_orders(gateway.services.store.engine) as crashed:
        status, answer = await gateway.post(UNIFIED, body)
    assert crashed, "the crash was not injected"
    # not acknowledged, and nothing remembered: the receipt rolled back with the orders
    assert (status, answer["error"]["code"]) == (503, "STORE_UNAVAILABLE")
    assert not await receipts.contains(receipt)
    assert await gateway.order_count() == 0

    # the vendor's retry carries the same nonce and is taken
    retry = await gateway.post(UNIFIED, body)
    assert retry == (200, {"status": "ok", "kind": "VIRTUAL", "orders": 1, "events": 1})
    assert await receipts.contains(receipt)
    assert len(await gateway.events()) == 1


async def test_receipts_older_than_the_window_are_pruned(gateway: Gateway) -> None:
    store = gateway.services.store
    connection = gateway.services.connections.get("acme-unified")
    assert connection is not None
    owner = connection.settings.account
    now = utcnow()
    # three deliveries taken 20, 10 and 1 days ago
    for age in (20, 10, 1):
        body = unified_body(gateway, [unified_order(owner, f"ord_{age}")], nonce=f"n-{age}")
        delivery = connection.provider.parse_webhook({}, body)
        await store.orders.ingest(
            TENANT,
            connection.id,
            delivery.orders,
            EventSource.WEBHOOK,
            now=now - timedelta(days=age),
            receipt=WebhookReceipt(connection.id, f"n-{age}"),
        )
    pruner = ReceiptPruner(
        store.webhook_receipts,
        window=timedelta(days=14),
        interval=timedelta(hours=1),
        clock=lambda: now,
    )

    assert await pruner.prune_once() == 1
    assert await pruner.prune_once() == 0
    assert await _receipts(gateway) == 2
    # inside the window a copy is still recognised ...
    recent = unified_body(gateway, [unified_order(owner, "ord_10")], nonce="n-10")
    assert (await gateway.post(UNIFIED, recent))[1]["status"] == "duplicate"
    # ... past it the delivery is taken again, and the unchanged order adds no event
    old = unified_body(gateway, [unified_order(owner, "ord_20")], nonce="n-20")
    status, answer = await gateway.post(UNIFIED, old)
    assert (status, answer["status"], answer["events"]) == (200, "ok", 0)
    assert len(await gateway.events()) == 3


async def test_the_pruner_runs_until_stopped(gateway: Gateway) -> None:
    store = gateway.services.store
    owner = account(gateway, "acme-unified")
    await gateway.post(UNIFIED, unified_body(gateway, [unified_order(owner, "ord_1")]))
    # a clock a month ahead: every receipt is out of the window
    pruner = ReceiptPruner(
        store.webhook_receipts,
        window=timedelta(days=14),
        interval=timedelta(hours=1),
        clock=lambda: utcnow() + timedelta(days=30),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(pruner.run(stop))

    async def emptied() -> bool:
        return await _receipts(gateway) == 0

    await eventually(emptied)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert task.exception() is None


async def test_duplicates_are_logged_at_info_without_secrets(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    body = unified_body(gateway, [unified_order(account(gateway, "acme-unified"), "ord_1")])
    await gateway.post(UNIFIED, body)

    with caplog.at_level(logging.INFO, logger="ordergraph.sync.webhooks"):
        await gateway.post(UNIFIED, body)

    lines = [r for r in caplog.records if r.name == "ordergraph.sync.webhooks"]
    assert [r.levelno for r in lines] == [logging.INFO]
    message = lines[0].getMessage()
    assert message.startswith("duplicate unified webhook for acme-unified ignored")
    assert "'n-1'" in message
    for secret in _secrets(gateway):
        assert secret not in caplog.text
    assert json.loads(body)["sig"] not in caplog.text


def _secrets(gateway: Gateway) -> list[str]:
    found = []
    for connection in gateway.services.settings.connections:
        found.append(connection.api_key.get_secret_value())
        if connection.webhook_secret is not None:
            found.append(connection.webhook_secret.get_secret_value())
    return found


async def test_outcomes_are_counted(gateway: Gateway) -> None:
    intake = _intake_of(gateway)
    before = dict(intake.outcomes)
    body = unified_body(gateway, [unified_order(account(gateway, "acme-unified"), "ord_1")])

    await gateway.post(UNIFIED, body)
    await gateway.post(UNIFIED, body)
    await gateway.post("/webhooks/unified/nobody", body)

    counted = {k: v - before.get(k, 0) for k, v in intake.outcomes.items()}
    assert {k: v for k, v in counted.items() if v} == {
        WebhookOutcome.ACCEPTED: 1,
        WebhookOutcome.DUPLICATE: 1,
        WebhookOutcome.NOT_FOUND: 1,
    }


def _intake_of(gateway: Gateway) -> WebhookIntake:
    assert gateway.app is not None
    return gateway.app[WEBHOOK_INTAKE]


async def test_the_server_prunes_receipts_in_the_background(
    gateway_factory: Callable[..., Any],
) -> None:
    server, services = await gateway_factory(
        background=True, webhooks={"replay_window": "P1D", "prune_interval": 0.05}
    )
    try:
        connection = services.connections.get("acme-kombo")
        assert connection is not None
        old = WebhookReceipt(connection.id, "evt_last_month")
        recorded = await services.store.orders.ingest(
            TENANT,
            connection.id,
            [],
            EventSource.WEBHOOK,
            now=utcnow() - timedelta(days=30),
            receipt=old,
        )
        # Recorded (not a duplicate); asking the table instead would race the pruner,
        # which may already have removed it.
        assert not recorded.duplicate

        async def pruned() -> bool:
            return not await services.store.webhook_receipts.contains(old)

        await eventually(pruned)
    finally:
        await server.close()
        await services.close()


def test_the_replay_window_is_a_duration_setting() -> None:
    assert load_settings(environ={}).webhooks == WebhookSettings(
        replay_window=timedelta(days=14), prune_interval=timedelta(hours=1)
    )
    configured = load_settings(
        environ={}, overrides={"webhooks": {"replay_window": "P3D", "prune_interval": 600}}
    )
    assert configured.webhooks.replay_window == timedelta(days=3)
    assert configured.webhooks.prune_interval == timedelta(minutes=10)
    with pytest.raises(ConfigError, match=r"webhooks\.replay_window"):
        load_settings(environ={}, overrides={"webhooks": {"replay_window": 0}})
