"""Unified's connection flow end to end over HTTP: the authorization URL, the customer's
consent, the browser's redirect to a real receiver, and ``/unified/connection``; every
vendor exchange checked against the Unified spec."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.contract import validate_exchange
from tests.sandbox.receiver import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as receiver:
        yield receiver


async def token_headers(sandbox: Sandbox) -> dict[str, str]:
    return dict((await sandbox.accounts("unified"))[0]["headers"])


async def workspace_id(sandbox: Sandbox) -> str:
    """The workspace, as Unified reports it on every connection."""
    async with sandbox.session.get(
        sandbox.base("unified") + "/unified/connection", headers=await token_headers(sandbox)
    ) as response:
        listed = await response.json()
    workspace: str = listed[0]["workspace_id"]
    return workspace


def auth_path(workspace: str, integration_type: str = "greenhouse") -> str:
    return f"/unified/integration/auth/{workspace}/{integration_type}"


def flow_params(receiver: Receiver, **extra: str) -> dict[str, str]:
    return {
        "success_redirect": receiver.url + "/connect/unified/callback?from=unified",
        "failure_redirect": receiver.url + "/connect/unified/failed",
        "state": "signed-state-123",
        "external_xref": "tenant-acme",
        **extra,
    }


async def authorization_url(sandbox: Sandbox, params: dict[str, str]) -> str:
    """GET the authorization endpoint as a client does (with its API token) and hand
    the answer to the customer."""
    async with sandbox.session.get(
        sandbox.base("unified") + auth_path(await workspace_id(sandbox)),
        params=params,
        headers=await token_headers(sandbox),
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        return await response.text()


async def connections(sandbox: Sandbox, **params: str) -> list[dict[str, Any]]:
    async with sandbox.session.get(
        sandbox.base("unified") + "/unified/connection",
        headers=await token_headers(sandbox),
        params=params,
    ) as response:
        assert response.status == 200
        listed: list[dict[str, Any]] = await response.json()
        return listed


def validate_unified(sandbox: Sandbox) -> None:
    """Successes against the spec; the spec declares no error responses, so errors are
    checked for the simulator's documented body instead."""
    exchanges = sandbox.recorder.for_provider("unified")
    assert exchanges
    for exchange in exchanges:
        if exchange.status < 400:
            validate_exchange(exchange)
        else:
            assert set(json.loads(exchange.response_body)) == {"error", "message"}


async def test_consent_creates_a_connection_and_redirects_with_id_and_state(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    url = await authorization_url(sandbox, flow_params(receiver))
    assert url.startswith(sandbox.url + "/connect/unified/")

    done = await sandbox.control("POST", "connect/complete", {"url": url})
    connection_id = done["account"]
    assert done["provider"] == "unified"
    assert done["redirect_status"] == 200
    [visit] = receiver.gets()
    assert visit.path == "/connect/unified/callback"
    assert visit.query == {
        "from": ["unified"],
        "id": [connection_id],
        "state": ["signed-state-123"],
    }
    assert done["redirect"].startswith(receiver.url + "/connect/unified/callback?")

    [found] = await connections(sandbox, external_xref="tenant-acme")
    assert found["id"] == connection_id
    assert found["integration_type"] == "greenhouse"
    assert found["categories"] == ["assessment"]
    assert found["is_paused"] is False
    assert "auth" not in found  # credentials never leave the simulator
    async with sandbox.session.get(
        sandbox.base("unified") + f"/unified/connection/{connection_id}",
        headers=await token_headers(sandbox),
    ) as response:
        assert await response.json() == found

    # The new connection is an account like the seeded ones, with the ATS's orders.
    assert connection_id in {a["account"] for a in await sandbox.accounts("unified")}
    truth = await sandbox.control("GET", f"orders?provider=unified&account={connection_id}")
    assert len(truth["orders"]) == sandbox.context.orders_per_account
    validate_unified(sandbox)


async def test_the_authorization_endpoint_url_itself_can_be_completed(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """The control API takes Unified's own URL too; ``redirect=true`` answers a 302."""
    query = "&".join(f"{k}={v}" for k, v in flow_params(receiver, redirect="true").items())
    url = f"{sandbox.base('unified')}{auth_path(await workspace_id(sandbox))}?{query}"
    headers = await token_headers(sandbox)
    async with sandbox.session.get(url, headers=headers, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"].startswith(sandbox.url + "/connect/unified/")
    done = await sandbox.control("POST", "connect/complete", {"url": url})
    assert receiver.gets()[0].query["id"] == [done["account"]]


async def test_refused_consent_goes_to_the_failure_redirect(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    before = await connections(sandbox)
    url = await authorization_url(sandbox, flow_params(receiver))
    done = await sandbox.control("POST", "connect/complete", {"url": url, "error": "denied"})
    assert done["account"] is None
    [visit] = receiver.gets()
    assert (visit.path, visit.query) == ("/connect/unified/failed", {"error": ["denied"]})
    assert await connections(sandbox) == before


async def test_a_flow_is_used_once_and_deterministic_for_a_seed(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    url = await authorization_url(sandbox, flow_params(receiver))
    first = await sandbox.control("POST", "connect/complete", {"url": url})
    async with sandbox.session.post(
        f"{sandbox.url}/_sandbox/connect/complete", json={"url": url}
    ) as again:
        assert again.status == 409
    await sandbox.control("POST", "reset")
    url_again = await authorization_url(sandbox, flow_params(receiver))
    second = await sandbox.control("POST", "connect/complete", {"url": url_again})
    assert (url_again, second["account"]) == (url, first["account"])


async def test_authorization_refusals(sandbox: Sandbox, receiver: Receiver) -> None:
    base, headers = sandbox.base("unified"), await token_headers(sandbox)
    path = auth_path(await workspace_id(sandbox))
    async with sandbox.session.get(base + path, params=flow_params(receiver)) as anonymous:
        assert anonymous.status == 401
    async with sandbox.session.get(
        base + auth_path("no-such-workspace"), headers=headers
    ) as unknown:
        assert unknown.status == 404
        assert (await unknown.json())["message"] == "Workspace not found"
    bad = flow_params(receiver, success_redirect="javascript:alert(1)")
    async with sandbox.session.get(base + path, params=bad, headers=headers) as refused:
        assert refused.status == 400


async def test_list_filters_and_pages(sandbox: Sandbox, receiver: Receiver) -> None:
    for xref in ("tenant-a", "tenant-b"):
        url = await authorization_url(sandbox, flow_params(receiver, external_xref=xref))
        await sandbox.control("POST", "connect/complete", {"url": url})
    everything = await connections(sandbox)
    assert len(everything) == 2 + sandbox.context.accounts_per_provider
    assert [c["external_xref"] for c in await connections(sandbox, external_xref="tenant-b")] == [
        "tenant-b"
    ]
    assert await connections(sandbox, external_xref="nobody") == []
    assert await connections(sandbox, limit="1", offset="1") == everything[1:2]
    assert await connections(sandbox, categories="assessment") == everything
    assert await connections(sandbox, categories="crm") == []
    newest_first = await connections(sandbox, sort="created_at", order="desc")
    assert newest_first == list(reversed(everything))
    validate_unified(sandbox)


async def test_remove_connection_drops_it_and_its_webhooks(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    headers = await token_headers(sandbox)
    base = sandbox.base("unified")
    connection_id = (await sandbox.control("POST", "accounts", {"provider": "unified"}))["account"]
    hook = {
        "connection_id": connection_id,
        "object_type": "assessment_order",
        "event": "created",
        "hook_url": receiver.url + "/webhooks/unified",
    }
    async with sandbox.session.post(base + "/unified/webhook", headers=headers, json=hook) as made:
        assert made.status == 200
    async with sandbox.session.delete(
        base + f"/unified/connection/{connection_id}", headers=headers
    ) as removed:
        assert removed.status == 200
    async with sandbox.session.get(
        base + f"/unified/connection/{connection_id}", headers=headers
    ) as gone:
        assert gone.status == 404
    async with sandbox.session.get(
        base + "/unified/webhook", headers=headers, params={"connection_id": connection_id}
    ) as hooks:
        assert await hooks.json() == []
    assert connection_id not in {a["account"] for a in await sandbox.accounts("unified")}
    validate_unified(sandbox)


async def test_a_paused_connection_delivers_no_webhooks(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    headers = await token_headers(sandbox)
    connection_id = (await sandbox.accounts("unified"))[0]["account"]
    hook = {
        "connection_id": connection_id,
        "object_type": "assessment_order",
        "event": "created",
        "hook_url": receiver.url + "/webhooks/unified",
    }
    async with sandbox.session.post(
        sandbox.base("unified") + "/unified/webhook", headers=headers, json=hook
    ) as made:
        assert made.status == 200

    await sandbox.control("POST", f"accounts/unified/{connection_id}/state", {"state": "INACTIVE"})
    [paused] = [c for c in await connections(sandbox) if c["id"] == connection_id]
    assert paused["is_paused"] is True
    await sandbox.control("POST", "orders", {"provider": "unified", "account": connection_id})
    assert receiver.posts() == []

    await sandbox.control("POST", f"accounts/unified/{connection_id}/state", {"state": "ACTIVE"})
    await sandbox.control("POST", "orders", {"provider": "unified", "account": connection_id})
    assert len(receiver.posts()) == 1

    await sandbox.control("POST", f"accounts/unified/{connection_id}/state", {"state": "INVALID"})
    [unhealthy] = [c for c in await connections(sandbox) if c["id"] == connection_id]
    assert "last_unhealthy_at" in unhealthy
    validate_unified(sandbox)


async def test_the_consent_page_redirects_a_browser(sandbox: Sandbox, receiver: Receiver) -> None:
    url = await authorization_url(sandbox, flow_params(receiver))
    async with sandbox.session.get(url) as page:
        assert page.status == 200
        assert "greenhouse" in await page.text()
    async with sandbox.session.post(url) as submitted:
        # The browser followed the 303 to the success redirect.
        assert submitted.status == 200
        assert submitted.url.path == "/connect/unified/callback"
    assert receiver.gets()[0].query["state"] == ["signed-state-123"]
