"""The sandbox's stats and fault middleware, on fake vendors of our own.

The real simulators are written elsewhere; these tests mount two tiny ``Simulator``
subclasses the way ``create_sandbox_app`` does and drive them over loopback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ordergraph.sandbox.core import Account, SandboxContext, Simulator, json_response
from tests.conftest import Sandbox


class FakeVendor(Simulator):
    """A vendor with a handful of routes and its own error shape."""

    provider = "fakevendor"
    mount = "/fake"

    def __init__(self, context: SandboxContext) -> None:
        super().__init__(context)
        self.handled = 0

    async def _things(self, request: web.Request) -> web.Response:
        self.handled += 1
        return json_response({"things": [], "id": request.match_info.get("id")})

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/things", self._things)
        app.router.add_get("/things/{id}", self._things)
        app.router.add_post("/things", self._things)

    def error_response(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        return json_response(
            {"fault": {"status": status, "message": message}}, status, headers=headers
        )

    def accounts(self) -> list[Account]:
        return []

    def seed(self) -> None:
        self.handled = 0

    def ground_truth(self, account: str | None) -> list[dict[str, Any]]:
        return []

    async def create_orders(self, account: str, count: int) -> list[dict[str, Any]]:
        return []

    async def set_status(self, account: str, order_id: str, status: str) -> dict[str, Any]:
        raise KeyError(order_id)


class OtherVendor(FakeVendor):
    provider = "othervendor"
    mount = "/other/v2"


@dataclass
class FakeSandbox:
    """The fake vendors served on loopback, plus every response an outer middleware saw."""

    url: str
    context: SandboxContext
    session: aiohttp.ClientSession
    fake: FakeVendor
    other: OtherVendor
    outer_statuses: list[int] = field(default_factory=list)

    def configure(self, raw: dict[str, Any]) -> None:
        self.context.faults.configure(raw)

    @asynccontextmanager
    async def call(self, method: str, path: str) -> AsyncIterator[aiohttp.ClientResponse]:
        async with self.session.request(method, self.url + path) as response:
            yield response

    async def status_of(self, method: str, path: str) -> int:
        async with self.call(method, path) as response:
            await response.read()
            return response.status


def outer_recorder(
    statuses: list[int],
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Like the contract recorder: notes every ``web.Response`` a vendor app returns."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            statuses.append(exc.status)
            raise
        if isinstance(response, web.Response):
            statuses.append(response.status)
        return response

    return middleware


@pytest.fixture
async def fakes() -> AsyncIterator[FakeSandbox]:
    context = SandboxContext()
    fake, other = FakeVendor(context), OtherVendor(context)
    statuses: list[int] = []
    app = web.Application(middlewares=[outer_recorder(statuses)])
    for simulator in (fake, other):
        app.add_subapp(simulator.mount, simulator.build_app())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield FakeSandbox(
            str(server.make_url("")).rstrip("/"), context, session, fake, other, statuses
        )
    await server.close()
    await context.webhooks.close()


# --- stats ---------------------------------------------------------------------------


async def test_stats_count_per_method_and_route_template(fakes: FakeSandbox) -> None:
    for method, path in [
        ("GET", "/fake/things/1"),
        ("GET", "/fake/things/2"),
        ("GET", "/fake/things"),
        ("POST", "/fake/things"),
        ("GET", "/other/v2/things/9"),
    ]:
        assert await fakes.status_of(method, path) == 200

    assert fakes.context.stats.as_json() == {
        "total": 5,
        "requests": {
            "fakevendor": {"GET /things/{id}": 2, "GET /things": 1, "POST /things": 1},
            "othervendor": {"GET /things/{id}": 1},
        },
    }


# --- injected errors -----------------------------------------------------------------


async def test_error_rate_answers_the_vendor_error_with_retry_after(fakes: FakeSandbox) -> None:
    # given every request fails with 429 and Retry-After 7
    fakes.configure({"fakevendor": {"error_rate": 1.0, "statuses": [429], "retry_after": 7}})
    # when
    async with fakes.call("GET", "/fake/things") as response:
        body = await response.json()
    # then the vendor's own error shape answers, and the handler never ran
    assert response.status == 429
    assert response.headers["Retry-After"] == "7"
    assert body == {"fault": {"status": 429, "message": "Too many requests"}}
    assert fakes.fake.handled == 0
    assert fakes.context.stats.as_json()["requests"] == {"fakevendor": {"GET /things": 1}}


async def test_retry_after_is_only_sent_with_statuses_that_take_it(fakes: FakeSandbox) -> None:
    fakes.configure({"fakevendor": {"error_rate": 1.0, "statuses": [500], "retry_after": 7}})

    async with fakes.call("GET", "/fake/things") as response:
        body = await response.json()

    assert response.status == 500
    assert "Retry-After" not in response.headers
    assert body == {"fault": {"status": 500, "message": "Internal server error"}}


async def test_latency_delays_the_answer(fakes: FakeSandbox) -> None:
    fakes.configure({"fakevendor": {"latency_ms": [150, 200]}})

    started = time.monotonic()
    status = await fakes.status_of("GET", "/fake/things")

    assert status == 200
    assert time.monotonic() - started >= 0.15


# --- dropped connections -------------------------------------------------------------


async def test_drop_rate_drops_the_connection_and_the_server_keeps_serving(
    fakes: FakeSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # given every request is dropped
    caplog.set_level(logging.DEBUG)
    fakes.configure({"fakevendor": {"drop_rate": 1.0}})
    # when (POST: aiohttp does not resend it on its own)
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        async with fakes.call("POST", "/fake/things") as response:
            await response.read()
    # then no answer was produced for anyone, not even a 500 for outer middlewares
    assert fakes.outer_statuses == []
    assert fakes.fake.handled == 0
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    # and once cleared the server answers again
    fakes.configure({})
    assert await fakes.status_of("POST", "/fake/things") == 200
    assert fakes.outer_statuses == [200]


# --- which settings apply ------------------------------------------------------------


async def test_star_applies_to_every_provider_without_its_own(fakes: FakeSandbox) -> None:
    fakes.configure({"*": {"error_rate": 1.0, "statuses": [503]}})

    assert await fakes.status_of("GET", "/fake/things") == 503
    assert await fakes.status_of("GET", "/other/v2/things") == 503


async def test_a_providers_own_entry_wins_over_star(fakes: FakeSandbox) -> None:
    fakes.configure(
        {
            "*": {"error_rate": 1.0, "statuses": [503]},
            "fakevendor": {"error_rate": 1.0, "statuses": [429]},
        }
    )

    assert await fakes.status_of("GET", "/fake/things") == 429
    assert await fakes.status_of("GET", "/other/v2/things") == 503


async def test_an_empty_own_entry_exempts_a_provider_from_star(fakes: FakeSandbox) -> None:
    fakes.configure({"*": {"error_rate": 1.0, "statuses": [503]}, "fakevendor": {}})

    assert await fakes.status_of("GET", "/fake/things") == 200
    assert await fakes.status_of("GET", "/other/v2/things") == 503


async def test_empty_settings_clear_every_fault(fakes: FakeSandbox) -> None:
    fakes.configure({"*": {"error_rate": 1.0}, "fakevendor": {"drop_rate": 1.0}})

    fakes.configure({})

    assert fakes.context.faults.as_json() == {}
    assert await fakes.status_of("GET", "/fake/things") == 200
    assert await fakes.status_of("GET", "/other/v2/things") == 200


# --- the real control endpoint -------------------------------------------------------


async def test_control_endpoint_normalises_and_shows_the_settings(sandbox: Sandbox) -> None:
    # given latency as a single number and a star entry
    await sandbox.faults({"kombo": {"latency_ms": 50, "drop_rate": 0.25}, "*": {"error_rate": 0.1}})
    # when
    shown = await sandbox.control("GET", "faults")
    # then every key is shown, defaults included
    assert shown == {
        "kombo": {
            "error_rate": 0.0,
            "statuses": [503],
            "retry_after": None,
            "latency_ms": [50, 50],
            "drop_rate": 0.25,
        },
        "*": {
            "error_rate": 0.1,
            "statuses": [503],
            "retry_after": None,
            "latency_ms": None,
            "drop_rate": 0.0,
        },
    }
    faults = sandbox.context.faults
    assert faults.for_provider("kombo") is faults.by_provider["kombo"]
    assert faults.for_provider("unified") is faults.by_provider["*"]


async def test_reset_clears_the_faults(sandbox: Sandbox) -> None:
    await sandbox.faults({"kombo": {"error_rate": 1.0}})

    await sandbox.control("POST", "reset")

    assert await sandbox.control("GET", "faults") == {}


@pytest.mark.parametrize(
    "bad",
    [
        {"kombo": {"retry_after": -1}},
        {"kombo": {"latency_ms": -5}},
        {"kombo": {"latency_ms": [300, 100]}},
        {"kombo": {"drop_rate": -0.1}},
    ],
)
async def test_control_endpoint_refuses_impossible_numbers(
    sandbox: Sandbox, bad: dict[str, Any]
) -> None:
    async with sandbox.session.post(f"{sandbox.url}/_sandbox/faults", json=bad) as response:
        assert response.status == 400
        assert "error" in await response.json()
    assert await sandbox.control("GET", "faults") == {}
