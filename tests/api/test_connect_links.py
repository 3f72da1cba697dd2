"""Customers connecting their own accounts: a connect link, the provider's flow played
by the sandbox, and the connection appearing under the right tenant by itself (Kombo:
the signed integration-created webhook; Unified: the browser's redirect to our
callback); Kombo's integration-state-changed and integration-deleted pause and remove it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import web

from ordergraph.api import add_graphql_routes
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import Settings
from tests.api.test_admin_connections import Gateway, admin_settings
from tests.conftest import Sandbox

LINK = """
mutation($input: CreateConnectLinkInput!) {
  createConnectLink(input: $input) { url errors { code message field } }
}
"""
CONNECTIONS = "{ connections { id provider account state origin name } }"


@contextlib.asynccontextmanager
async def serving(make_settings: Callable[[str], Any]) -> AsyncIterator[Gateway]:
    """A gateway whose public URL is its real address (the socket is bound first)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings: Settings = await make_settings(url)
    services = await Services.open(settings)
    app = create_app(services, background=False)
    add_graphql_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Gateway(url, services, session)
    finally:
        await runner.cleanup()
        await services.close()


async def workspace_id(sandbox: Sandbox) -> str:
    """Unified's workspace, as its API tells it (``GET /unified/connection/{id}``)."""
    [first, *_] = await sandbox.accounts("unified")
    async with sandbox.session.get(
        f"{sandbox.base('unified')}/unified/connection/{first['account']}",
        headers=first["headers"],
    ) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["workspace_id"])


def settings_for(sandbox: Sandbox, store_url: str) -> Callable[[str], Any]:
    async def make(public_url: str) -> Settings:
        return await admin_settings(
            sandbox,
            store_url,
            public_url=public_url,
            unified_workspace=await workspace_id(sandbox),
        )

    return make


async def link(gateway: Gateway, tenant: str, **fields: Any) -> dict[str, Any]:
    data = await gateway.data(LINK, {"input": fields}, tenant=tenant)
    result: dict[str, Any] = data["createConnectLink"]
    return result


async def _until(condition: Callable[[], Any], within: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await condition()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_a_kombo_link_completed_connects_the_account_under_its_tenant(
    sandbox: Sandbox, fresh_store_url: str
) -> None:
    async with serving(settings_for(sandbox, fresh_store_url)) as gateway:
        sandbox.context.webhook_targets["kombo"] = f"{gateway.url}/webhooks/kombo"
        # given globex asks for a link for its customer
        made = await link(
            gateway,
            "globex",
            provider="KOMBO",
            endUserEmail="it@customer.example",
            organizationName="Customer Inc.",
        )
        assert made["errors"] == [], made
        # when the customer finishes Kombo's flow
        done = await sandbox.control("POST", "connect/complete", {"url": made["url"]})
        assert done["provider"] == "kombo"
        account = done["account"]

        # then the connection appears under globex, from the provider's event
        async def connected() -> list[dict[str, Any]]:
            listed = (await gateway.data(CONNECTIONS, tenant="globex"))["connections"]
            return [c for c in listed if c["account"] == account]

        [connection] = await _until(connected)
        assert (connection["state"], connection["origin"], connection["name"]) == (
            "ACTIVE",
            "PROVIDER_EVENT",
            "Customer Inc.",
        )
        assert account not in {
            c["account"] for c in (await gateway.data(CONNECTIONS))["connections"]
        }

        # when Kombo reports the integration inactive, it is paused; active again, resumed
        async def state() -> str | None:
            listed = await connected()
            return listed[0]["state"] if listed else "GONE"

        await sandbox.control("POST", f"accounts/kombo/{account}/state", {"state": "INACTIVE"})
        await _until(lambda: _is(state, "PAUSED"))
        await sandbox.control("POST", f"accounts/kombo/{account}/state", {"state": "ACTIVE"})
        await _until(lambda: _is(state, "ACTIVE"))
        # and once deleted at Kombo, it is gone
        await sandbox.control("DELETE", f"accounts/kombo/{account}")
        await _until(lambda: _is(state, "GONE"))


async def _is(read: Callable[[], Any], wanted: str) -> bool:
    return bool(await read() == wanted)


async def test_a_unified_authorization_connects_through_our_callback(
    sandbox: Sandbox, fresh_store_url: str
) -> None:
    async with serving(settings_for(sandbox, fresh_store_url)) as gateway:
        made = await link(gateway, "globex", provider="UNIFIED", integration="greenhouse")
        assert made["errors"] == [], made
        done = await sandbox.control("POST", "connect/complete", {"url": made["url"]})
        # the sandbox followed Unified's redirect to our callback, as the browser would
        assert done["redirect"].startswith(f"{gateway.url}/connect/unified/callback?")
        assert done["redirect_status"] == 200
        listed = (await gateway.data(CONNECTIONS, tenant="globex"))["connections"]
        assert [(c["account"], c["origin"]) for c in listed] == [
            (done["account"], "PROVIDER_EVENT")
        ]
        # a replay of the callback changes nothing; a tampered state is refused
        async with gateway.session.get(done["redirect"]) as response:
            assert response.status == 200
        tampered = done["redirect"].replace("state=v1.", "state=v1.x")
        async with gateway.session.get(tampered) as response:
            assert response.status == 400
        assert len((await gateway.data(CONNECTIONS, tenant="globex"))["connections"]) == 1


async def test_links_need_what_their_provider_needs(sandbox: Sandbox, fresh_store_url: str) -> None:
    async with serving(settings_for(sandbox, fresh_store_url)) as gateway:
        missing = await link(gateway, "acme", provider="KOMBO", endUserEmail="a@b.example")
        assert [(e["code"], e["field"]) for e in missing["errors"]] == [
            ("INVALID_INPUT", ["input", "organizationName"])
        ]
        unified = await link(gateway, "acme", provider="UNIFIED")
        assert [(e["code"], e["field"]) for e in unified["errors"]] == [
            ("INVALID_INPUT", ["input", "integration"])
        ]
        stackone = await link(gateway, "acme", provider="STACKONE")
        assert [e["code"] for e in stackone["errors"]] == ["UNSUPPORTED_BY_PROVIDER"]
        # and a write key may not make links at all
        status, body = await gateway.post(
            LINK, {"input": {"provider": "STACKONE"}}, key="key-acme-write-only"
        )
        assert status == 403
        assert body["errors"][0]["extensions"]["requiredScope"] == "admin"
