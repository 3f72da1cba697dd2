"""The Unified.to simulator, driven with raw aiohttp requests over loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ordergraph.sandbox.app import SIMULATORS_KEY, create_sandbox_app
from ordergraph.sandbox.core import SandboxContext
from ordergraph.sandbox.unified import ORDER_STATUSES, UnifiedSimulator
from tests.contract import Recorder, validate_component, validate_exchange


@dataclass
class Env:
    """A sandbox with direct access to the Unified simulator."""

    url: str
    simulator: UnifiedSimulator
    session: aiohttp.ClientSession
    recorder: Recorder

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.simulator.accounts()[0].headers)

    @property
    def connection(self) -> str:
        return self.simulator.accounts()[0].account

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        async with self.session.request(
            method,
            self.url + "/unified" + path,
            json=body,
            params=params,
            headers=self.headers if headers is None else headers,
        ) as response:
            raw = await response.read()
            return response.status, json.loads(raw) if raw else None

    def validate_recorded(self, *, skip_order_reads: bool = True) -> int:
        """Contract-check the successful exchanges (the spec declares no error bodies).
        The SDK-only order GET/POST are not in the saved spec (PROVIDERS.md 1.2)."""
        checked = 0
        for exchange in self.recorder.for_provider("unified"):
            if exchange.status != 200:
                continue
            is_sdk_only = exchange.method in ("GET", "POST") and "/order" in exchange.path
            if is_sdk_only and skip_order_reads:
                continue
            validate_exchange(exchange)
            checked += 1
        return checked


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    context = SandboxContext(seed=11, orders_per_account=25)
    recorder = Recorder()
    app = create_sandbox_app(context)
    app.middlewares.append(recorder.middleware)
    simulator = app[SIMULATORS_KEY]["unified"]
    assert isinstance(simulator, UnifiedSimulator)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Env(str(server.make_url("")).rstrip("/"), simulator, session, recorder)
    await server.close()


@dataclass
class Receiver:
    """A webhook endpoint on loopback that keeps every body it receives."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.read()))
        return web.Response(status=self.status)

    def kinds(self) -> list[str]:
        return [body["type"] for body in self.bodies]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield hook, str(server.make_url("/hook"))
    await server.close()


def expected_sig(secret: str, data: Any, nonce: str) -> str:
    message = json.dumps(data, separators=(",", ":"), ensure_ascii=False) + nonce
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# --- accounts, data, auth ----------------------------------------------------------------


def test_seed_is_deterministic_and_uses_unified_vocabulary() -> None:
    first = UnifiedSimulator(SandboxContext(seed=3, orders_per_account=40))
    second = UnifiedSimulator(SandboxContext(seed=3, orders_per_account=40))
    first.seed()
    second.seed()
    assert first.accounts() == second.accounts()
    assert first.ground_truth(None) == second.ground_truth(None)
    accounts = first.accounts()
    assert len(accounts) == 2
    for account in accounts:
        assert len(account.account) == 24
        int(account.account, 16)
        assert account.headers["Authorization"].startswith("Bearer ")
        assert len(first.ground_truth(account.account)) == 40
    assert {o["status"] for o in first.ground_truth(None)} <= set(ORDER_STATUSES)
    other = UnifiedSimulator(SandboxContext(seed=4))
    other.seed()
    assert other.accounts()[0].account != accounts[0].account


def test_seed_scales_to_tens_of_thousands() -> None:
    simulator = UnifiedSimulator(
        SandboxContext(seed=1, orders_per_account=10_000, accounts_per_provider=2)
    )
    simulator.seed()
    truth = simulator.ground_truth(None)
    assert len(truth) == 20_000
    assert len({o["id"] for o in truth}) == 20_000


async def test_auth_is_required(env: Env) -> None:
    path = f"/assessment/{env.connection}/package"
    status, body = await env.call("GET", path, headers={})
    assert status == 401
    assert body == {"error": "Unauthorized", "message": "Invalid or missing API token"}
    status, _ = await env.call("GET", path, headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, _ = await env.call("GET", "/unified/webhook", headers={})
    assert status == 401


async def test_unknown_connection_and_objects_are_404(env: Env) -> None:
    for path in (
        "/assessment/000000000000000000000000/package",
        f"/assessment/{env.connection}/order/nope",
        f"/assessment/{env.connection}/package/nope",
        "/unified/webhook/nope",
    ):
        status, body = await env.call("GET", path)
        assert status == 404, path
        assert body["error"] == "Not Found"
        assert body["message"].endswith("not found")


async def test_unknown_routes_and_methods_use_the_error_shape(env: Env) -> None:
    status, body = await env.call("GET", "/assessment/x/unknown")
    assert (status, body) == (404, {"error": "Not Found", "message": "Not Found"})
    status, body = await env.call("DELETE", f"/assessment/{env.connection}/order/x")
    assert status == 405
    assert body["error"] == "Method Not Allowed"


async def test_injected_fault_uses_the_error_shape(env: Env) -> None:
    env.simulator.context.faults.configure(
        {"unified": {"error_rate": 1.0, "statuses": [503], "retry_after": 2}}
    )
    async with env.session.get(
        f"{env.url}/unified/assessment/{env.connection}/package", headers=env.headers
    ) as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "2"
        assert await response.json() == {
            "error": "Service Unavailable",
            "message": "Service unavailable",
        }


# --- orders --------------------------------------------------------------------------------


async def test_get_order_is_an_assessment_order(env: Env) -> None:
    truth = env.simulator.ground_truth(env.connection)
    status, body = await env.call("GET", f"/assessment/{env.connection}/order/{truth[0]['id']}")
    assert status == 200
    validate_component("unified", "AssessmentOrder", body)
    assert body["connection_id"] == env.connection
    assert body["status"] == truth[0]["status"]
    assert body["workspace_id"] == env.simulator.workspace_id
    finished = [o for o in truth if o["status"] in ("COMPLETED", "FAILED")]
    status, body = await env.call("GET", f"/assessment/{env.connection}/order/{finished[0]['id']}")
    assert body["response_status"] == finished[0]["status"]
    assert isinstance(body["response_score"], int)


async def test_patch_merges_and_put_replaces_the_result(env: Env) -> None:
    order_id = env.simulator.ground_truth(env.connection)[0]["id"]
    path = f"/assessment/{env.connection}/order/{order_id}"
    base = {"workspace_id": env.simulator.workspace_id, "connection_id": env.connection}
    status, body = await env.call(
        "PATCH", path, {**base, "response_status": "COMPLETED", "response_score": 7}
    )
    assert status == 200
    status, body = await env.call("PATCH", path, {**base, "response_url": "https://r.example"})
    assert (body["response_score"], body["response_url"]) == (7, "https://r.example")
    status, body = await env.call("PUT", path, {**base, "response_status": "FAILED"})
    assert status == 200
    assert body["response_status"] == "FAILED"
    assert "response_score" not in body
    assert "response_url" not in body
    assert body["profile_first_name"]  # ATS-owned fields stay
    assert env.validate_recorded() == 3


@pytest.mark.parametrize(
    "change",
    [
        {"status": "DONE"},
        {"response_score": "high"},
        {"response_attributes": [{"type": "TEXT"}]},
        {"response_completed_at": "yesterday"},
        {"surprise": 1},
    ],
)
async def test_invalid_order_writes_are_400(env: Env, change: dict[str, Any]) -> None:
    order_id = env.simulator.ground_truth(env.connection)[0]["id"]
    status, body = await env.call("PATCH", f"/assessment/{env.connection}/order/{order_id}", change)
    assert status == 400
    assert body["error"] == "Bad Request"


async def test_non_json_write_is_400(env: Env) -> None:
    order_id = env.simulator.ground_truth(env.connection)[0]["id"]
    async with env.session.patch(
        f"{env.url}/unified/assessment/{env.connection}/order/{order_id}",
        data=b"{nope",
        headers={**env.headers, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400


async def test_sdk_only_post_creates_an_order(env: Env) -> None:
    body = {
        "workspace_id": env.simulator.workspace_id,
        "connection_id": env.connection,
        "package_id": "pkg_001",
        "profile_first_name": "Ada",
        "profile_emails": ["ada@example.com"],
    }
    status, created = await env.call("POST", f"/assessment/{env.connection}/order", body)
    assert status == 200
    validate_component("unified", "AssessmentOrder", created)
    assert created["status"] == "OPEN"
    assert created["profile_first_name"] == "Ada"
    status, again = await env.call("GET", f"/assessment/{env.connection}/order/{created['id']}")
    assert again == created
    assert any(o["id"] == created["id"] for o in env.simulator.ground_truth(env.connection))


# --- packages ------------------------------------------------------------------------------


async def test_package_list_pages_with_limit_and_offset(env: Env) -> None:
    path = f"/assessment/{env.connection}/package"
    status, everything = await env.call("GET", path)
    assert status == 200
    assert isinstance(everything, list)
    assert len(everything) == 7
    status, page = await env.call("GET", path, params={"limit": "3", "offset": "6"})
    assert [p["id"] for p in page] == [everything[6]["id"]]
    status, page = await env.call("GET", path, params={"limit": "3", "offset": "30"})
    assert page == []
    status, _ = await env.call("GET", path, params={"limit": "-1"})
    assert status == 400
    assert {p["type"] for p in everything} >= {"BEHAVIORAL_ASSESSMENT", "SKILLS_TEST"}
    assert env.validate_recorded() == 3


async def test_package_crud(env: Env) -> None:
    path = f"/assessment/{env.connection}/package"
    new = {"id": "pkg_new", "name": "Go Challenge", "type": "SKILLS_TEST"}
    status, created = await env.call("POST", path, new)
    assert status == 200
    assert created["workspace_id"] == env.simulator.workspace_id
    status, _ = await env.call("POST", path, new)
    assert status == 409
    status, _ = await env.call("POST", path, {"id": "x", "name": "No type"})
    assert status == 400
    status, _ = await env.call("POST", path, {"id": "x", "name": "n", "type": "QUIZ"})
    assert status == 400
    status, patched = await env.call("PATCH", path + "/pkg_new", {**new, "description": "d"})
    assert patched["description"] == "d"
    status, put = await env.call("PUT", path + "/pkg_new", {**new, "name": "Go 2"})
    assert (put["name"], put["description"]) == ("Go 2", "d")
    status, _ = await env.call("PUT", path + "/pkg_new", {**new, "id": "other"})
    assert status == 400
    status, fetched = await env.call("GET", path + "/pkg_new")
    assert fetched == put
    status, nothing = await env.call("DELETE", path + "/pkg_new")
    assert (status, nothing) == (200, None)
    status, _ = await env.call("GET", path + "/pkg_new")
    assert status == 404
    assert env.validate_recorded() == 5


# --- webhook subscriptions ------------------------------------------------------------------


def hook_body(env: Env, url: str, event: str = "created", **extra: Any) -> dict[str, Any]:
    return {
        "connection_id": env.connection,
        "object_type": "assessment_order",
        "event": event,
        "hook_url": url,
        **extra,
    }


async def test_webhook_crud_and_list_filters(env: Env) -> None:
    url = "http://127.0.0.1:9/hook"
    status, first = await env.call("POST", "/unified/webhook", hook_body(env, url))
    assert status == 200
    assert first["id"]
    assert first["created_at"]
    assert first["webhook_type"] == "virtual"
    other_connection = env.simulator.accounts()[1].account
    status, second = await env.call(
        "POST",
        "/unified/webhook",
        {**hook_body(env, url, "updated"), "connection_id": other_connection},
    )
    status, listed = await env.call("GET", "/unified/webhook")
    assert [w["id"] for w in listed] == [first["id"], second["id"]]
    status, listed = await env.call(
        "GET", "/unified/webhook", params={"connection_id": env.connection}
    )
    assert [w["id"] for w in listed] == [first["id"]]
    status, listed = await env.call(
        "GET",
        "/unified/webhook",
        params={"limit": "1", "offset": "1", "object": "assessment_order"},
    )
    assert [w["id"] for w in listed] == [second["id"]]
    status, listed = await env.call("GET", "/unified/webhook", params={"order": "desc"})
    assert [w["id"] for w in listed] == [second["id"], first["id"]]
    status, patched = await env.call(
        "PATCH",
        f"/unified/webhook/{first['id']}",
        {**hook_body(env, url), "is_paused": True, "page_max_limit": 5},
    )
    assert (patched["is_paused"], patched["page_max_limit"]) == (True, 5)
    status, _ = await env.call(
        "PATCH", f"/unified/webhook/{first['id']}", {"connection_id": other_connection}
    )
    assert status == 400
    status, fetched = await env.call("GET", f"/unified/webhook/{first['id']}")
    assert fetched == patched
    status, _ = await env.call("DELETE", f"/unified/webhook/{first['id']}")
    assert status == 200
    status, _ = await env.call("GET", f"/unified/webhook/{first['id']}")
    assert status == 404
    assert env.validate_recorded() == 9


@pytest.mark.parametrize(
    "change",
    [
        {"object_type": "ats_candidate"},
        {"event": "exploded"},
        {"hook_url": None},
        {"webhook_type": "smoke"},
        {"connection_id": "000000000000000000000000"},
    ],
)
async def test_invalid_subscriptions_are_refused(env: Env, change: dict[str, Any]) -> None:
    body = {**hook_body(env, "http://127.0.0.1:9/hook"), **change}
    status, error = await env.call("POST", "/unified/webhook", body)
    assert status in (400, 404)
    assert set(error) == {"error", "message"}


async def test_include_all_backfills_in_ordered_pages(
    env: Env, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    status, webhook = await env.call(
        "POST",
        "/unified/webhook",
        hook_body(env, url, page_max_limit=7),
        params={"include_all": "true"},
    )
    assert status == 200
    await env.simulator.drain()
    assert hook.kinds() == ["INITIAL-PARTIAL"] * 4 + ["INITIAL-COMPLETE"]
    assert [len(b["data"]) for b in hook.bodies] == [7, 7, 7, 4, 0]
    delivered = [item["id"] for body in hook.bodies for item in body["data"]]
    assert delivered == [o["id"] for o in env.simulator.ground_truth(env.connection)]
    for body in hook.bodies:
        assert body["sig"] == expected_sig(env.simulator.secret, body["data"], body["nonce"])
        assert body["webhook"]["id"] == webhook["id"]
        validate_component("unified", "Webhook", body["webhook"])
        for item in body["data"]:
            assert item["webhook_id"] == webhook["id"]
            validate_component("unified", "AssessmentOrder", item)
    assert len({body["nonce"] for body in hook.bodies}) == len(hook.bodies)


async def test_without_include_all_nothing_is_backfilled(
    env: Env, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    await env.call("POST", "/unified/webhook", hook_body(env, url), params={"include_all": "false"})
    await env.simulator.drain()
    assert hook.bodies == []


async def test_live_changes_reach_matching_subscribers(
    env: Env, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    await env.call("POST", "/unified/webhook", hook_body(env, url, "created"))
    await env.call(
        "POST", "/unified/webhook", hook_body(env, url, "updated", webhook_type="native")
    )
    created = await env.simulator.create_orders(env.connection, 3)
    assert [b["type"] for b in hook.bodies] == ["VIRTUAL"]
    assert [i["id"] for i in hook.bodies[0]["data"]] == [o["id"] for o in created]
    assert all(i["status"] == "OPEN" for i in hook.bodies[0]["data"])

    changed = await env.simulator.set_status(env.connection, created[0]["id"], "IN_PROGRESS")
    assert changed["status"] == "IN_PROGRESS"
    assert hook.bodies[-1]["type"] == "NATIVE"
    assert hook.bodies[-1]["webhook"]["event"] == "updated"
    assert hook.bodies[-1]["data"][0]["status"] == "IN_PROGRESS"

    # A result written through the API is an update too (delivered in the background).
    path = f"/assessment/{env.connection}/order/{created[1]['id']}"
    await env.call("PATCH", path, {"response_status": "COMPLETED"})
    await env.simulator.drain()
    assert hook.bodies[-1]["data"][0]["response_status"] == "COMPLETED"
    # Orders of another connection never reach this connection's subscribers.
    await env.simulator.create_orders(env.simulator.accounts()[1].account, 1)
    assert len(hook.bodies) == 3


async def test_set_status_validates(env: Env) -> None:
    order_id = env.simulator.ground_truth(env.connection)[0]["id"]
    with pytest.raises(ValueError, match="status must be one of"):
        await env.simulator.set_status(env.connection, order_id, "CANCELLED")
    with pytest.raises(KeyError):
        await env.simulator.set_status(env.connection, "missing", "OPEN")


async def test_paused_webhook_is_skipped_until_triggered(
    env: Env, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    _, webhook = await env.call("POST", "/unified/webhook", hook_body(env, url, is_paused=True))
    created = await env.simulator.create_orders(env.connection, 2)
    assert hook.bodies == []
    status, body = await env.call("PUT", f"/unified/webhook/{webhook['id']}/trigger")
    assert (status, body) == (200, None)
    await env.simulator.drain()
    assert [i["id"] for i in hook.bodies[0]["data"]] == [o["id"] for o in created]
    await env.call("PATCH", f"/unified/webhook/{webhook['id']}/trigger")
    await env.simulator.drain()
    assert len(hook.bodies) == 1  # nothing new since the last run
    assert env.validate_recorded() == 3


async def test_control_api_drives_the_simulator(env: Env) -> None:
    async with env.session.post(
        f"{env.url}/_sandbox/orders",
        json={"provider": "unified", "account": env.connection, "count": 2},
    ) as response:
        assert response.status == 201
        created = (await response.json())["orders"]
    assert [o["provider"] for o in created] == ["unified", "unified"]
    async with env.session.patch(
        f"{env.url}/_sandbox/orders",
        json={"provider": "unified", "account": env.connection, "id": created[0]["id"],
              "status": "REJECTED"},
    ) as response:  # fmt: skip
        assert (await response.json())["order"]["status"] == "REJECTED"
    async with env.session.patch(
        f"{env.url}/_sandbox/orders",
        json={"provider": "unified", "account": env.connection, "id": created[0]["id"],
              "status": "CANCELLED"},
    ) as response:  # fmt: skip
        assert response.status == 400
