"""Webhook intake end to end: the sandbox delivers signed webhooks to a real server,
which stores them; bad deliveries are refused with a clear status and store nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from ordergraph.sandbox.kombo import sign as kombo_sign
from ordergraph.store import EventSource, OrderFilter
from tests.conftest import Sandbox
from tests.kombo_events import order_received
from tests.sync.conftest import TENANT, Gateway, eventually
from tests.sync.signed import kombo_signed_bytes, unified_body, unified_order


async def _truth(sandbox: Sandbox, provider: str, account: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = (
        await sandbox.control("GET", f"orders?provider={provider}&account={account}")
    )["orders"]
    return orders


async def _unified_account(gateway: Gateway) -> str:
    connection = gateway.services.connections.get("acme-unified")
    assert connection is not None
    return connection.settings.account


async def _kombo_account(gateway: Gateway) -> str:
    connection = gateway.services.connections.get("acme-kombo")
    assert connection is not None
    return connection.settings.account


async def test_unified_backfill_and_live_changes_arrive_by_signed_webhook(
    sandbox: Sandbox, gateway_factory: Callable[..., Any]
) -> None:
    # given a gateway that registers its Unified webhook on start (include_all)
    server, services = await gateway_factory(background=True)
    try:
        connection = services.connections.get("acme-unified")
        assert connection is not None
        truth = await _truth(sandbox, "unified", connection.settings.account)

        async def indexed() -> int:
            # The Kombo poller runs too; count the Unified connection's orders only.
            where = OrderFilter(connection_ids=["acme-unified"])
            return await services.store.orders.count(TENANT, where)

        # then every existing order arrives through INITIAL-PARTIAL pages
        await eventually(lambda: _equals(indexed, len(truth)))
        # when the ATS creates two orders, they arrive as live deliveries
        await sandbox.control(
            "POST",
            "orders",
            {"provider": "unified", "account": connection.settings.account, "count": 2},
        )
        await eventually(lambda: _equals(indexed, len(truth) + 2))
        # and a status change becomes one event with the previous status
        target = next(o for o in truth if o["status"] == "OPEN")
        await sandbox.control(
            "PATCH",
            "orders",
            {
                "provider": "unified",
                "account": connection.settings.account,
                "id": target["id"],
                "status": "COMPLETED",
            },
        )

        async def changed() -> bool:
            events = await services.store.orders.events_after(TENANT, None, limit=100_000)
            return any(
                e.order_id.endswith(":" + target["id"])
                and e.previous_status == "OPEN"
                and e.new_status == "COMPLETED"
                for e in events
            )

        await eventually(changed)
        events = await services.store.orders.events_after(
            TENANT, None, limit=100_000, connection_ids=["acme-unified"]
        )
        assert {e.source for e in events} == {EventSource.WEBHOOK}
        # registration is remembered, so a restart does not register again
        state = await services.store.sync_state.get("acme-unified")
        assert state is not None
        assert state.details["webhook_ids"]
    finally:
        await server.close()
        await services.close()


async def _equals(count: Callable[[], Any], expected: int) -> bool:
    return bool(await count() == expected)


async def test_kombo_orders_arrive_by_signed_webhook(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.control("POST", "webhooks", {"kombo": gateway.url + "/webhooks/kombo"})
    account = await _kombo_account(gateway)
    created = (
        await sandbox.control(
            "POST", "orders", {"provider": "kombo", "account": account, "count": 3}
        )
    )["orders"]
    assert await gateway.order_count("acme-kombo") == 3
    stored = await gateway.services.store.orders.get(
        TENANT, [f"acme-kombo:{o['id']}" for o in created]
    )
    assert len(stored) == 3
    deliveries = (await sandbox.control("GET", "deliveries"))["deliveries"]
    assert [d["status"] for d in deliveries] == [200, 200, 200]


async def test_the_same_delivery_twice_stores_one_order_and_one_event(gateway: Gateway) -> None:
    account = await _unified_account(gateway)
    body = unified_body(gateway, [unified_order(account, "ord_dup")])
    first = await gateway.post("/webhooks/unified/acme-unified", body)
    second = await gateway.post("/webhooks/unified/acme-unified", body)
    assert first == (200, {"status": "ok", "kind": "VIRTUAL", "orders": 1, "events": 1})
    # the same nonce again: acknowledged, recognised, not ingested
    assert second == (200, {"status": "duplicate", "kind": "VIRTUAL", "orders": 1, "events": 0})
    # the same order in a new delivery (new nonce) is ingested and changes nothing
    again = unified_body(gateway, [unified_order(account, "ord_dup")], nonce="n-2")
    third = await gateway.post("/webhooks/unified/acme-unified", again)
    assert third == (200, {"status": "ok", "kind": "VIRTUAL", "orders": 1, "events": 0})
    assert await gateway.order_count() == 1
    assert len(await gateway.events()) == 1


async def test_many_orders_in_one_delivery(gateway: Gateway) -> None:
    account = await _unified_account(gateway)
    data = [unified_order(account, f"ord_{i}") for i in range(50)]
    status, answer = await gateway.post(
        "/webhooks/unified/acme-unified", unified_body(gateway, data)
    )
    assert status == 200
    assert answer["orders"] == 50
    assert answer["events"] == 50
    assert await gateway.order_count() == 50


async def _assert_nothing_stored(gateway: Gateway) -> None:
    assert await gateway.order_count() == 0
    assert await gateway.events() == []


async def test_a_tampered_unified_delivery_is_refused(gateway: Gateway) -> None:
    account = await _unified_account(gateway)
    body = json.loads(unified_body(gateway, [unified_order(account, "ord_1")]))
    body["data"][0]["status"] = "COMPLETED"  # altered after signing
    status, answer = await gateway.post("/webhooks/unified/acme-unified", json.dumps(body).encode())
    assert status == 401
    assert answer["error"]["code"] == "BAD_SIGNATURE"
    await _assert_nothing_stored(gateway)


async def test_a_unified_delivery_without_signature_is_refused(gateway: Gateway) -> None:
    account = await _unified_account(gateway)
    body = json.loads(unified_body(gateway, [unified_order(account, "ord_1")]))
    del body["sig"]
    status, _ = await gateway.post("/webhooks/unified/acme-unified", json.dumps(body).encode())
    assert status == 401
    await _assert_nothing_stored(gateway)


async def test_unknown_connections_are_not_found_without_saying_more(gateway: Gateway) -> None:
    account = await _unified_account(gateway)
    body = unified_body(gateway, [unified_order(account, "ord_1")])
    for path in ("/webhooks/unified/nobody", "/webhooks/unified/acme-kombo"):
        status, answer = await gateway.post(path, body)
        assert (status, answer["error"]["code"]) == (404, "NOT_FOUND")
        assert "acme" not in answer["error"]["message"]
    await _assert_nothing_stored(gateway)


async def test_malformed_bodies_are_refused(gateway: Gateway) -> None:
    status, answer = await gateway.post("/webhooks/unified/acme-unified", b"{not json")
    assert (status, answer["error"]["code"]) == (400, "BAD_PAYLOAD")
    # Kombo's signature is checked on the raw bytes first: unsigned is a 401 unparsed ...
    status, answer = await gateway.post("/webhooks/kombo", b"{not json")
    assert (status, answer["error"]["code"]) == (401, "BAD_SIGNATURE")
    # ... and a correctly signed body that is not JSON a 400.
    body, headers = kombo_signed_bytes(gateway, b"{not json")
    status, answer = await gateway.post("/webhooks/kombo", body, headers)
    assert (status, answer["error"]["code"]) == (400, "BAD_PAYLOAD")
    await _assert_nothing_stored(gateway)


async def test_oversize_bodies_are_refused_before_reading_them(gateway: Gateway) -> None:
    big = b'{"data": "' + b"x" * (300 * 1024) + b'"}'
    for path in ("/webhooks/unified/acme-unified", "/webhooks/kombo"):
        status, answer = await gateway.post(path, big)
        assert (status, answer["error"]["code"]) == (413, "BODY_TOO_LARGE"), path
    await _assert_nothing_stored(gateway)


async def test_kombo_deliveries_for_unknown_integrations_or_bad_signatures_are_refused(
    gateway: Gateway,
) -> None:
    account = await _kombo_account(gateway)
    connection = gateway.services.connections.get("acme-kombo")
    assert connection is not None
    assert connection.settings.webhook_secret is not None
    secret = connection.settings.webhook_secret.get_secret_value()
    event = order_received(account, "ko_1", event_id="evt_1")
    body = json.dumps(event).encode()
    # wrong signature
    status, _ = await gateway.post(
        "/webhooks/kombo", body, {"X-Kombo-Signature": kombo_sign("not-the-secret", body)}
    )
    assert status == 401
    # no signature
    status, _ = await gateway.post("/webhooks/kombo", body)
    assert status == 401
    # an integration nobody configured
    stranger = json.dumps({**event, "data": {**event["data"], "integration_id": "x:y"}}).encode()
    status, _ = await gateway.post(
        "/webhooks/kombo", stranger, {"X-Kombo-Signature": kombo_sign(secret, stranger)}
    )
    assert status == 404
    await _assert_nothing_stored(gateway)
    # and the genuine delivery is taken
    status, answer = await gateway.post(
        "/webhooks/kombo", body, {"X-Kombo-Signature": kombo_sign(secret, body)}
    )
    assert (status, answer["events"]) == (200, 1)


async def test_health_and_readiness(gateway: Gateway) -> None:
    async with gateway.session.get(gateway.url + "/healthz") as response:
        assert response.status == 200
    async with gateway.session.get(gateway.url + "/readyz") as response:
        assert response.status == 200
        assert (await response.json())["checks"]["store"] == "ok"


async def test_a_kombo_connection_without_a_secret_is_not_configured(
    gateway_factory: Callable[..., Any], sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    second = (await sandbox.accounts("kombo"))[1]
    unsecured = {
        "id": "acme-kombo-2",
        "tenant": TENANT,
        "provider": "kombo",
        "base_url": sandbox.base("kombo"),
        "api_key": "k",
        "account": second["account"],
        "poll_interval": 3600,
    }
    server, services = await gateway_factory(background=False, extra_connections=[unsecured])
    try:
        async with aiohttp.ClientSession() as session:
            url = str(server.make_url("")).rstrip("/")
            gateway = Gateway(url, services, session, sandbox, server.app)
            event = order_received(second["account"], "ko_1", event_id="evt_unsecured")
            # Signed with the secret of acme-kombo, for the integration without one.
            body, headers = kombo_signed_bytes(gateway, json.dumps(event).encode())
            with caplog.at_level(logging.WARNING, logger="ordergraph.sync.webhooks"):
                status, answer = await gateway.post("/webhooks/kombo", body, headers)
                unsigned = await gateway.post("/webhooks/kombo", body)
            assert (status, answer["error"]["code"]) == (503, "NOT_CONFIGURED")
            assert unsigned[0] == 401
            assert "1 Kombo connections have no webhook secret" in caplog.text
            assert await gateway.order_count() == 0
    finally:
        await server.close()
        await services.close()
