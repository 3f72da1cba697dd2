"""Kombo Connect end to end over HTTP: create-link, the customer finishing the link,
and the signed integration-* webhooks at a real receiver, checked against the vendor
spec and verified with Kombo's documented signature scheme (not the sandbox's code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.contract import validate_exchange, validate_webhook
from tests.sandbox.receiver import Received, Receiver, running_receiver

LINK_BODY = {
    "end_user_email": "it@acme.example.com",
    "end_user_organization_name": "Acme, Inc.",
    "end_user_origin_id": "acme",
    "integration_category": "ASSESSMENT",
    "integration_tool": "greenhouse",
    "language": "en",
    "link_type": "EMBEDDED",
}


@pytest.fixture
async def receiver(sandbox: Sandbox) -> AsyncIterator[Receiver]:
    async with running_receiver() as receiver:
        await sandbox.control("POST", "webhooks", {"kombo": receiver.url + "/webhooks/kombo"})
        yield receiver


async def key_headers(sandbox: Sandbox) -> dict[str, str]:
    """The API key alone: connect and integration endpoints take no X-Integration-Id."""
    account = (await sandbox.accounts("kombo"))[0]
    return {"Authorization": account["headers"]["Authorization"]}


async def call(
    sandbox: Sandbox, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    async with sandbox.session.request(
        method, sandbox.base("kombo") + path, headers=headers, json=body
    ) as response:
        return response.status, await response.json()


@pytest.fixture
async def secret(sandbox: Sandbox) -> str:
    """Kombo's webhook secret belongs to the environment: every account lists the same."""
    secrets = {a["webhook_secret"] for a in await sandbox.accounts("kombo")}
    assert len(secrets) == 1
    return secrets.pop()


def verified(secret: str, delivery: Received) -> dict[str, Any]:
    """Kombo's scheme (PROVIDERS.md 3.6): base64url HMAC-SHA256 of the raw body with the
    webhook secret; then the body against the spec's webhook schema."""
    given = delivery.headers["X-Kombo-Signature"]
    digest = base64.urlsafe_b64decode(given + "=" * (-len(given) % 4))
    expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).digest()
    assert hmac.compare_digest(digest, expected)
    payload: dict[str, Any] = json.loads(delivery.body)
    validate_webhook("kombo", payload["type"], payload)
    return payload


async def create_link(sandbox: Sandbox, body: dict[str, Any] | None = None) -> str:
    status, answer = await call(
        sandbox, "POST", "/connect/create-link", await key_headers(sandbox), body or LINK_BODY
    )
    assert status == 200, answer
    assert answer["status"] == "success"
    link: str = answer["data"]["link"]
    return link


async def test_a_finished_link_creates_an_integration_and_a_signed_webhook(
    sandbox: Sandbox, receiver: Receiver, secret: str
) -> None:
    link = await create_link(sandbox)
    assert link.startswith(sandbox.url + "/connect/kombo/")

    done = await sandbox.control("POST", "connect/complete", {"url": link})
    assert done["provider"] == "kombo"
    integration_id = done["account"]
    assert integration_id.startswith("greenhouse:")

    [delivery] = receiver.posts()
    assert delivery.path == "/webhooks/kombo"
    payload = verified(secret, delivery)
    assert payload["type"] == "integration-created"
    assert payload["data"] == {
        "id": integration_id,
        "tool": "greenhouse",
        "category": "ASSESSMENT",
        "end_user": {
            "organization_name": "Acme, Inc.",
            "creator_email": "it@acme.example.com",
            "origin_id": "acme",
        },
    }

    # The new integration is an account like the seeded ones, with the ATS's orders.
    listed = await sandbox.accounts("kombo")
    account = next(a for a in listed if a["account"] == integration_id)
    status, orders = await call(sandbox, "GET", "/assessment/orders", account["headers"])
    assert status == 200
    assert len(orders["data"]["results"]) == sandbox.context.orders_per_account
    for exchange in sandbox.recorder.for_provider("kombo"):
        validate_exchange(exchange)


async def test_a_link_is_used_once_and_unknown_links_are_refused(
    sandbox: Sandbox, receiver: Receiver, secret: str
) -> None:
    link = await create_link(sandbox)
    await sandbox.control("POST", "connect/complete", {"url": link})
    async with sandbox.session.post(
        f"{sandbox.url}/_sandbox/connect/complete", json={"url": link}
    ) as again:
        assert again.status == 409
    async with sandbox.session.post(
        f"{sandbox.url}/_sandbox/connect/complete", json={"url": link + "x"}
    ) as unknown:
        assert unknown.status == 404
    async with sandbox.session.post(
        f"{sandbox.url}/_sandbox/connect/complete", json={"url": "https://example.com/elsewhere"}
    ) as foreign:
        assert foreign.status == 400
    assert len(receiver.posts()) == 1


async def test_the_flow_is_deterministic_for_a_seed(sandbox: Sandbox, receiver: Receiver) -> None:
    first_link = await create_link(sandbox)
    first = await sandbox.control("POST", "connect/complete", {"url": first_link})
    await sandbox.control("POST", "reset")
    second_link = await create_link(sandbox)
    second = await sandbox.control("POST", "connect/complete", {"url": second_link})
    assert (second_link, second["account"]) == (first_link, first["account"])


async def test_an_abandoned_flow_reports_connection_flow_failed(
    sandbox: Sandbox, receiver: Receiver, secret: str
) -> None:
    before = await sandbox.accounts("kombo")
    link = await create_link(sandbox)
    done = await sandbox.control(
        "POST", "connect/complete", {"url": link, "error": "customer_cancelled"}
    )
    assert done == {"provider": "kombo", "account": None}
    [delivery] = receiver.posts()
    payload = verified(secret, delivery)
    assert payload["type"] == "connection-flow-failed"
    assert payload["data"]["end_user"]["origin_id"] == "acme"
    assert await sandbox.accounts("kombo") == before


async def test_state_changes_and_deletion_send_their_events_and_close_the_api(
    sandbox: Sandbox, receiver: Receiver, secret: str
) -> None:
    done = await sandbox.control("POST", "connect/complete", {"url": await create_link(sandbox)})
    integration_id = done["account"]
    headers = next(
        a["headers"] for a in await sandbox.accounts("kombo") if a["account"] == integration_id
    )

    answer = await sandbox.control(
        "POST", f"accounts/kombo/{integration_id}/state", {"state": "INACTIVE"}
    )
    assert answer == {"provider": "kombo", "account": integration_id, "state": "INACTIVE"}
    changed = verified(secret, receiver.posts()[-1])
    assert changed["type"] == "integration-state-changed"
    assert changed["data"]["integration_id"] == integration_id
    assert changed["data"]["state"] == "INACTIVE"
    status, body = await call(sandbox, "GET", "/assessment/orders", headers)
    assert (status, body["error"]["code"]) == (403, "INTEGRATION.INACTIVE")

    await sandbox.control("POST", f"accounts/kombo/{integration_id}/state", {"state": "ACTIVE"})
    status, _ = await call(sandbox, "GET", "/assessment/orders", headers)
    assert status == 200

    await sandbox.control("DELETE", f"accounts/kombo/{integration_id}")
    deleted = verified(secret, receiver.posts()[-1])
    assert deleted["type"] == "integration-deleted"
    assert deleted["data"]["id"] == integration_id
    assert deleted["data"]["deleted_at"].endswith("Z")
    status, body = await call(sandbox, "GET", "/assessment/orders", headers)
    assert (status, body["error"]["code"]) == (404, "PLATFORM.INTEGRATION_NOT_FOUND")
    for exchange in sandbox.recorder.for_provider("kombo"):
        validate_exchange(exchange, request=False)


async def test_delete_integration_through_the_api(
    sandbox: Sandbox, receiver: Receiver, secret: str
) -> None:
    done = await sandbox.control("POST", "connect/complete", {"url": await create_link(sandbox)})
    headers = await key_headers(sandbox)
    status, body = await call(sandbox, "DELETE", f"/integrations/{done['account']}", headers, {})
    assert (status, body) == (200, {"status": "success", "data": {}})
    assert verified(secret, receiver.posts()[-1])["type"] == "integration-deleted"
    status, body = await call(sandbox, "DELETE", f"/integrations/{done['account']}", headers, {})
    assert (status, body["error"]["code"]) == (404, "PLATFORM.INTEGRATION_NOT_FOUND")
    for exchange in sandbox.recorder.for_provider("kombo"):
        validate_exchange(exchange)


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        ({"end_user_email": None}, "end_user_email"),
        ({"end_user_email": "not-an-email"}, "end_user_email"),
        ({"integration_category": "PAYROLL"}, "integration_category"),
        ({"link_type": "QR"}, "link_type"),
        ({"surprise": 1}, "surprise"),
        ({"integration_tool": None, "remote_environment": "sandbox"}, "remote_environment"),
    ],
)
async def test_create_link_refuses_bodies_the_spec_refuses(
    sandbox: Sandbox, change: dict[str, Any], message_part: str
) -> None:
    body = {k: v for k, v in (LINK_BODY | change).items() if v is not None}
    status, answer = await call(
        sandbox, "POST", "/connect/create-link", await key_headers(sandbox), body
    )
    assert status == 400
    assert answer["error"]["code"] == "PLATFORM.INPUT_INVALID"
    assert message_part in answer["error"]["message"]
    for exchange in sandbox.recorder.for_provider("kombo"):
        validate_exchange(exchange, request=False)


async def test_create_link_needs_the_api_key(sandbox: Sandbox) -> None:
    status, answer = await call(
        sandbox, "POST", "/connect/create-link", {"Authorization": "Bearer wrong"}, LINK_BODY
    )
    assert (status, answer["error"]["code"]) == (401, "PLATFORM.AUTHENTICATION_INVALID")


async def test_without_a_webhook_url_nothing_is_sent(sandbox: Sandbox) -> None:
    link = await create_link(sandbox)
    done = await sandbox.control("POST", "connect/complete", {"url": link})
    assert done["account"] in {a["account"] for a in await sandbox.accounts("kombo")}
    assert (await sandbox.control("GET", "deliveries"))["deliveries"] == []


async def test_the_customer_page_finishes_the_link_in_a_browser(
    sandbox: Sandbox, receiver: Receiver, secret: str
) -> None:
    link = await create_link(sandbox)
    async with sandbox.session.get(link) as page:
        assert page.status == 200
        assert "Acme, Inc." in await page.text()
    async with sandbox.session.post(link) as submitted:
        assert submitted.status == 200
        assert "is connected" in await submitted.text()
    assert len(receiver.posts()) == 1


async def test_get_integration_shows_who_connected_it_and_its_state(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    done = await sandbox.control("POST", "connect/complete", {"url": await create_link(sandbox)})
    integration_id = done["account"]
    headers = await key_headers(sandbox)
    await sandbox.control("POST", f"accounts/kombo/{integration_id}/state", {"state": "INVALID"})
    status, body = await call(sandbox, "GET", f"/integrations/{integration_id}", headers)
    assert status == 200
    data = body["data"]
    assert (data["id"], data["tool"]["id"], data["category"]) == (
        integration_id,
        "greenhouse",
        "ASSESSMENT",
    )
    assert data["status"] == "INVALID"
    assert data["end_user"]["origin_id"] == "acme"
    seeded = (await sandbox.accounts("kombo"))[0]["account"]
    status, body = await call(sandbox, "GET", f"/integrations/{seeded}", headers)
    assert (status, body["data"]["end_user"]["origin_id"]) == (200, None)
    status, body = await call(sandbox, "GET", "/integrations/greenhouse:nope", headers)
    assert (status, body["error"]["code"]) == (404, "PLATFORM.INTEGRATION_NOT_FOUND")
    for exchange in sandbox.recorder.for_provider("kombo"):
        validate_exchange(exchange)
