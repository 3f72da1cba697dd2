"""The result deliverer against the real simulators and a real store (SQLite and
PostgreSQL): a slow provider answers IN_FLIGHT and the background delivers; a result
kept by one gateway is delivered by the next one on the same store; a newer result
supersedes an undelivered older one; retries give up visibly; a clean stop hands its
claims back; backoff grows, is capped, jittered and honours Retry-After.

Time is a ``ManualClock`` the tests step (backoff and inline timeouts take no real
time), and a provider "slower than the inline timeout" is a request the sandbox holds
at its gate until the test lets it through: nothing here sleeps to synchronise."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ordergraph.api import add_graphql_routes
from ordergraph.broker import MemoryBroker
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import DeliverySettings, load_settings
from ordergraph.store import DeliveryState, Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry
from ordergraph.sync.deliverer import ResultDeliverer, retry_delay
from tests.api.conftest import CURSOR_SECRET, KEYS, Api, two_tenant_connections
from tests.api.mutation_support import (
    SUBMIT_RESULT,
    create_order,
    deliver_due,
    events,
    index_kombo,
    kombo_ids,
    order_gid,
    read_delivery,
    read_order,
    result_input,
    route_count,
    truth,
)
from tests.conftest import Sandbox
from tests.manual_clock import ManualClock
from tests.tenants import tenant_entries

PUT_RESULT = "PUT /assessment/orders/{assessment_order_id}/result"
# On a ManualClock these cost no real time; on the system clock (the tests that need
# time to pass by itself) they keep the background quick.
FAST = {"poll_interval": 0.1, "backoff_base": 0.05, "backoff_cap": 0.2, "inline_timeout": 2.0}
INLINE = 2.0
# Far enough ahead that any retry is due (backoff_cap, and the sandbox's Retry-After).
LATER = 3600.0

Gateway = Callable[..., Any]


@pytest.fixture
def gateway(sandbox: Sandbox, fresh_store_url: str) -> Callable[..., Any]:
    """Start a gateway on the test's store: ``async with gateway(background=...,
    clock=..., **delivery)``; its deliverer runs on ``clock`` (default: the system's).
    Several in turn share the store, as a restarted process would."""

    @asynccontextmanager
    async def start(
        *, background: bool = False, clock: ManualClock | None = None, **delivery: Any
    ) -> AsyncIterator[Api]:
        settings = load_settings(
            environ={},
            overrides={
                "store": {"url": fresh_store_url, "cursor_secret": CURSOR_SECRET},
                "tenants": tenant_entries(KEYS),
                "connections": [
                    {**c, "manage_webhook": False} for c in await two_tenant_connections(sandbox)
                ],
                "delivery": {**FAST, **delivery},
            },
        )
        services = Services(
            settings=settings,
            store=Store.from_engine(create_engine(fresh_store_url), cursor_secret=CURSOR_SECRET),
            broker=MemoryBroker(),
            connections=ConnectionRegistry.from_settings(settings.connections),
        )
        if clock is not None:
            services.deliverer = ResultDeliverer(
                services.store,
                services.broker,
                services.connections,
                settings.delivery,
                clock=clock,
            )
        app = create_app(services, background=background)
        add_graphql_routes(app)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                yield Api(str(server.make_url("")).rstrip("/"), services, session)
        finally:
            await server.close()
            await services.close()

    return start


async def _submit(api: Api, result: dict[str, Any]) -> dict[str, Any]:
    body = await api.query(SUBMIT_RESULT, {"input": result})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["submitResult"]
    return payload


async def _open_kombo_order(api: Api, sandbox: Sandbox) -> tuple[str, str]:
    await index_kombo(api)
    remote_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    return remote_id, order_gid("acme-kombo", remote_id)


async def _submit_past_inline_timeout(
    api: Api, sandbox: Sandbox, clock: ManualClock, result: dict[str, Any]
) -> dict[str, Any]:
    """Submit while the sandbox holds the write at its gate: once the request is there
    and ``submit`` waits on its inline timeout, the clock runs that out."""
    submitting = asyncio.create_task(_submit(api, result))
    await sandbox.gate.arrived()
    await clock.sleepers(seconds=INLINE)
    clock.advance(INLINE)
    return await submitting


async def _until_state(api: Api, gid: str, state: str, within: float = 15.0) -> dict[str, Any]:
    """The order once its delivery reached ``state`` (the background works meanwhile)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        order = await read_delivery(api, gid)
        if order["resultDelivery"] and order["resultDelivery"]["state"] == state:
            # Read again: one request reads the order and its delivery in two queries,
            # so the first sight of the new state may come with the order just before.
            return await read_delivery(api, gid)
        if loop.time() > deadline:
            raise AssertionError(f"delivery never reached {state}: {order}")
        await asyncio.sleep(0.05)


async def _ok_puts(sandbox: Sandbox) -> int:
    return sum(
        1
        for e in sandbox.recorder.for_provider("kombo")
        if e.method == "PUT" and e.path.endswith("/result") and e.status < 300
    )


async def test_a_slow_provider_answers_in_flight_and_the_background_delivers(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    clock = ManualClock()
    async with gateway(background=True, clock=clock) as api:
        # given: an order (StackOne: nothing but the delivery changes its status) and a
        # StackOne slower than the inline timeout
        created = (await create_order(api, "acme-stackone"))["order"]
        gid = created["id"]
        sandbox.gate.close("PATCH", "")

        # when
        payload = await _submit_past_inline_timeout(api, sandbox, clock, result_input(gid))

        # then: the call came back with the result kept and its delivery in flight
        assert payload["errors"] == []
        assert payload["order"]["result"]["score"] == 87.5
        assert payload["order"]["status"] == "OPEN"
        assert payload["order"]["resultDelivery"] == {
            "state": "IN_FLIGHT",
            "attempts": 1,
            "lastError": None,
            "nextAttemptAt": None,
        }

        # and the attempt goes on: delivered once StackOne answers, with one MUTATION event
        sandbox.gate.open()
        order = await _until_state(api, gid, "DELIVERED")
        assert order["status"] == "COMPLETED"
        assert order["resultDelivery"]["attempts"] == 1
        assert len(_stackone_results(sandbox)) == 1
        rows = await truth(sandbox, api, "acme-stackone")
        assert rows[created["remoteId"]]["status"] == "completed"
        assert events(await read_order(api, gid)) == [
            (None, "OPEN", "CREATE"),
            ("OPEN", "COMPLETED", "MUTATION"),
        ]


def _stackone_results(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The result bodies StackOne took (2xx PATCHes), in order."""
    return [
        json.loads(e.body)
        for e in sandbox.recorder.for_provider("stackone")
        if e.method == "PATCH" and e.status < 300
    ]


@pytest.mark.parametrize("status", [503, 429])
async def test_a_result_kept_by_one_gateway_is_delivered_by_the_next_on_the_same_store(
    gateway: Gateway, sandbox: Sandbox, status: int
) -> None:
    # StackOne: no poller and no webhook touch its orders, so the order's status can
    # come only from the delivery.
    # given: a gateway (no background) that met a failing StackOne and kept the result
    clock = ManualClock()
    async with gateway(clock=clock) as first:
        created = (await create_order(first, "acme-stackone"))["order"]
        gid = created["id"]
        await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [status]}})
        payload = await _submit(first, result_input(gid, "FAILED", score=61.0))
        assert payload["order"]["resultDelivery"]["state"] == "PENDING"
    await sandbox.faults({})
    assert _stackone_results(sandbox) == []

    # when: the retry is due and a new gateway starts on the same store, with its background
    clock.advance(LATER)
    async with gateway(background=True, clock=clock) as second:
        order = await _until_state(second, gid, "DELIVERED")

        # then: delivered exactly as submitted, once, with its event
        assert order["status"] == "FAILED"
        assert order["resultDelivery"]["attempts"] == 2
        [written] = _stackone_results(sandbox)
        assert written["score"]["value"] == "61"
        assert written["result"] == {"value": "failed"}
        rows = await truth(sandbox, second, "acme-stackone")
        assert rows[created["remoteId"]]["status"] == "failed"
        assert events(await read_order(second, gid)) == [
            (None, "OPEN", "CREATE"),
            ("OPEN", "FAILED", "MUTATION"),
        ]


async def test_a_newer_result_supersedes_an_undelivered_one(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    async with gateway() as api:
        # given: two results for one order while Kombo is down
        remote_id, gid = await _open_kombo_order(api, sandbox)
        await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
        await _submit(api, result_input(gid, score=10.0))
        newer = await _submit(api, result_input(gid, score=20.0))

        # then: the order shows the newer one; only it is left to deliver
        assert newer["order"]["result"]["score"] == 20.0
        queued = await api.services.store.deliveries.list("acme")
        assert [d.payload["result"]["score"] for d in queued] == [20.0]

        # when: Kombo is back and the retry comes due
        await sandbox.faults({})
        await deliver_due(api, newer["order"]["resultDelivery"])

        # then: Kombo got the newer result only, in one write
        assert await _ok_puts(sandbox) == 1
        row = (await truth(sandbox, api, "acme-kombo"))[remote_id]
        assert row["result"]["score"] == 20.0
        order = await read_delivery(api, gid)
        assert order["result"]["score"] == 20.0
        assert order["resultDelivery"]["state"] == "DELIVERED"


async def test_an_identical_resubmission_queues_nothing_new(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    async with gateway() as api:
        # given: a delivered result
        _, gid = await _open_kombo_order(api, sandbox)
        first = await _submit(api, result_input(gid))
        assert first["order"]["resultDelivery"]["state"] == "DELIVERED"

        # when: the same result again, without a key
        again = await _submit(api, result_input(gid))

        # then: the same delivery answers; nothing was written to Kombo again
        assert again["order"]["resultDelivery"] == first["order"]["resultDelivery"]
        assert await _ok_puts(sandbox) == 1
        assert len(await api.services.store.deliveries.list("acme")) == 1


async def test_retries_give_up_visibly_after_max_attempts(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    async with gateway(max_attempts=2) as api:
        # given: a Kombo that stays down
        remote_id, gid = await _open_kombo_order(api, sandbox)
        await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
        payload = await _submit(api, result_input(gid))
        assert payload["order"]["resultDelivery"]["state"] == "PENDING"

        # when: the second (last) attempt fails too
        await deliver_due(api, payload["order"]["resultDelivery"])

        # then: FAILED, with the last error, nothing more due; the order no longer shows
        # the result Kombo never took (it had accepted none)
        order = await read_delivery(api, gid)
        assert order["resultDelivery"]["state"] == "FAILED"
        assert order["resultDelivery"]["attempts"] == 2
        assert "HTTP 503" in order["resultDelivery"]["lastError"]
        assert order["resultDelivery"]["nextAttemptAt"] is None
        assert order["result"] is None
        assert await api.services.deliverer.deliver_due() == []
        await sandbox.faults({})
        assert (await truth(sandbox, api, "acme-kombo"))[remote_id]["status"] == "OPEN"


async def test_retries_give_up_visibly_after_max_age(gateway: Gateway, sandbox: Sandbox) -> None:
    async with gateway(max_age=0.01) as api:
        # given: a Kombo that is down, and results allowed to wait only 10 ms
        _, gid = await _open_kombo_order(api, sandbox)
        await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})

        # when: the first attempt fails (later than that)
        payload = await _submit(api, result_input(gid))

        # then: given up at once, visibly, and said so in the payload
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("PROVIDER_UNAVAILABLE", None)
        ]
        assert payload["order"]["resultDelivery"]["state"] == "FAILED"
        assert payload["order"]["resultDelivery"]["attempts"] == 1
        assert "HTTP 503" in payload["order"]["resultDelivery"]["lastError"]


async def test_a_result_refused_behind_a_delivered_one_gives_way_to_that_one(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    clock = ManualClock()
    async with gateway(background=True, clock=clock) as api:
        # given: a first result (scoring 60) still in flight to a slow Kombo
        remote_id, gid = await _open_kombo_order(api, sandbox)
        sandbox.gate.close("PUT", "/result")
        first = await _submit_past_inline_timeout(
            api, sandbox, clock, result_input(gid, score=60.0)
        )
        assert first["order"]["resultDelivery"]["state"] == "IN_FLIGHT"
        # and a second one, CANCELLED, waiting behind it (Kombo will refuse it: once the
        # first has COMPLETED the order, its status can no longer change)
        second = await _submit(api, result_input(gid, "CANCELLED", score=10.0))
        assert second["errors"] == []
        assert second["order"]["resultDelivery"]["state"] == "PENDING"
        assert second["order"]["result"]["score"] == 10.0
        sandbox.gate.open()

        # when: the background delivers the first, then tries the second
        order = await _until_state(api, gid, "FAILED")

        # then: the order shows the first, which Kombo accepted after the second was
        # recorded, not the refused one and not the nothing that was there before
        assert "OPEN" in order["resultDelivery"]["lastError"]
        assert (order["status"], order["result"]["status"]) == ("COMPLETED", "COMPLETED")
        assert order["result"]["score"] == 60.0
        kombo = (await truth(sandbox, api, "acme-kombo"))[remote_id]
        assert (kombo["status"], kombo["result"]["score"]) == ("COMPLETED", 60.0)


async def test_a_clean_stop_hands_a_claim_in_flight_back(
    gateway: Gateway, sandbox: Sandbox, fresh_store_url: str
) -> None:
    # given: an attempt still waiting on a slow Kombo when the gateway stops
    clock = ManualClock()
    async with gateway(clock=clock) as api:
        _, gid = await _open_kombo_order(api, sandbox)
        sandbox.gate.close("PUT", "/result")
        payload = await _submit_past_inline_timeout(api, sandbox, clock, result_input(gid))
        assert payload["order"]["resultDelivery"]["state"] == "IN_FLIGHT"
        [claimed] = await api.services.store.deliveries.list("acme")

    # then: the claim was released, due at once, its attempt counted
    async with Store.from_engine(
        create_engine(fresh_store_url), cursor_secret=CURSOR_SECRET
    ) as reopened:
        released = await reopened.deliveries.get(claimed.id)
    assert released is not None
    assert released.state is DeliveryState.PENDING
    assert released.attempts == 1
    assert released.next_attempt_at < claimed.next_attempt_at


async def test_a_refused_result_is_not_retried(gateway: Gateway, sandbox: Sandbox) -> None:
    async with gateway() as api:
        # given: a completed order (Kombo refuses any status change after OPEN)
        _, gid = await _open_kombo_order(api, sandbox)
        assert (await _submit(api, result_input(gid)))["errors"] == []
        puts = await route_count(sandbox, "kombo", PUT_RESULT)

        # when
        payload = await _submit(api, result_input(gid, "CANCELLED"))

        # then: FAILED at once; the deliverer has nothing to retry
        assert payload["order"]["resultDelivery"]["state"] == "FAILED"
        assert await api.services.deliverer.deliver_due() == []
        assert await route_count(sandbox, "kombo", PUT_RESULT) == puts + 1


def test_backoff_grows_is_capped_jittered_and_honours_retry_after() -> None:
    settings = DeliverySettings(backoff_base=2.0, backoff_cap=60.0)
    rng = random.Random(5)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (500, 60.0)]:
        delays = [retry_delay(attempts, settings, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempts, delays)
        assert len(set(delays)) > 1  # jittered
    assert retry_delay(1, settings, retry_after=30.0, rng=rng) == 30.0
    assert 1.0 <= retry_delay(1, settings, retry_after=0.5, rng=rng) <= 2.0


async def test_two_gateways_on_one_store_deliver_each_result_once(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    # given: results for six orders kept while Kombo was down
    clock = ManualClock()
    async with gateway(clock=clock) as api:
        await index_kombo(api)
        remote_ids = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[:6]
        await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
        for remote_id in remote_ids:
            payload = await _submit(api, result_input(order_gid("acme-kombo", remote_id)))
            assert payload["order"]["resultDelivery"]["state"] == "PENDING"
    # (a little latency, so the two gateways' attempts overlap)
    await sandbox.faults({"kombo": {"latency_ms": [50, 150]}})

    # when: the retries are due and two gateways start on the store, each with its deliverer
    clock.advance(LATER)
    async with (
        gateway(background=True, clock=clock) as one,
        gateway(background=True, clock=clock) as two,
    ):
        for remote_id in remote_ids:
            await _until_state(one, order_gid("acme-kombo", remote_id), "DELIVERED")

        # then: every result reached Kombo, each in exactly one write
        puts = [
            e.path
            for e in sandbox.recorder.for_provider("kombo")
            if e.method == "PUT" and e.path.endswith("/result") and e.status < 300
        ]
        assert sorted(puts) == sorted(f"/assessment/orders/{r}/result" for r in remote_ids)
        # and no delivery was claimed twice
        delivered = await one.services.store.deliveries.list("acme")
        assert [(d.state, d.attempts) for d in delivered] == [(DeliveryState.DELIVERED, 2)] * 6
        rows = await truth(sandbox, two, "acme-kombo")
        assert all(rows[r]["status"] == "COMPLETED" for r in remote_ids)
