"""Providers failing 10% of calls (429/503) with 20-80 ms latency while sync, reads and
writes run; then the faults clear and sync settles. The gateway's store must then match
the simulators' ground truth: every order with its status, each status change once in
the event log, every result written; and failures on the way named their connection."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordergraph.errors import ProviderError
from ordergraph.sandbox.core import SandboxContext
from ordergraph.store import StoredEvent
from ordergraph.sync.webhook_registration import ensure_webhook
from tests.api.conftest import Api, plain_api_keys
from tests.api.helpers import DASHBOARD, connection, gid, poll_kombo
from tests.conftest import Sandbox
from tests.secrets_scan import Captured, SecretScanner, capture_logs

# The production backend; the fault is the providers', not the store's.
pytestmark = [
    pytest.mark.faults,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

FAULTS = {"*": {"error_rate": 0.1, "statuses": [429, 503], "latency_ms": [20, 80]}}
ROUNDS = 8


@pytest.fixture
def sandbox_context() -> SandboxContext:
    """Enough open Kombo orders for every round's change and result."""
    return SandboxContext(seed=11, orders_per_account=60)


CREATE = """mutation($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id remoteId status } errors { code message } }
}"""
SUBMIT = """mutation($input: SubmitResultInput!) {
  submitResult(input: $input) { order { id status } errors { code message } }
}"""
REFRESH = """mutation($ids: [ID!]!) {
  refreshOrders(ids: $ids) { orders { id status } errors { code message } }
}"""
PROVIDER_CODES_WITHOUT_CONNECTION = {"INVALID_ARGUMENT", "INVALID_ID", "NOT_FOUND"}


class Client:
    """GraphQL calls as acme, every answer recorded; provider errors must name a connection."""

    def __init__(self, api: Api, captured: Captured) -> None:
        self.api = api
        self.captured = captured

    async def call(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.api.query(document, variables)
        self.captured.add("POST /graphql", str(body))
        for error in body.get("errors") or []:
            extensions = error.get("extensions") or {}
            assert error["message"] != "Unexpected error.", body
            if extensions.get("code") not in PROVIDER_CODES_WITHOUT_CONNECTION:
                assert extensions.get("connectionId"), error
                assert extensions["connectionId"] in error["message"], error
        return body


async def _truth(sandbox: Sandbox, provider: str, account: str) -> dict[str, str]:
    rows = await sandbox.control("GET", f"orders?provider={provider}&account={account}")
    return {row["id"]: row["status"] for row in rows["orders"]}


async def _register_unified(api: Api) -> None:
    """As BackgroundSync does: retry registration until the provider takes it."""
    live = connection(api, "acme-unified")
    for _ in range(50):
        try:
            await ensure_webhook(live, api.services.store.sync_state, api.url)
            return
        except ProviderError:
            continue
    raise AssertionError("could not register the Unified webhook")


async def _poll(api: Api) -> bool:
    try:
        await poll_kombo(api, "acme-kombo")
    except ProviderError:
        return False
    return True


def _check_chains(events: list[StoredEvent]) -> dict[str, list[StoredEvent]]:
    """Each order's events form one chain of real changes: no change twice, none lost."""
    chains: dict[str, list[StoredEvent]] = defaultdict(list)
    for event in events:
        chains[event.order_id].append(event)
    for order_id, chain in chains.items():
        assert chain[0].previous_status is None, (order_id, chain)
        for before, after in itertools.pairwise(chain):
            assert after.previous_status == before.new_status, (order_id, chain)
            assert after.new_status != after.previous_status, (order_id, chain)
    return chains


async def test_flaky_slow_providers_lose_no_order_event_or_result(
    api: Api, sandbox: Sandbox
) -> None:
    captured = Captured()
    client = Client(api, captured)
    accounts = {p: connection(api, f"acme-{p}").settings.account for p in ("kombo", "unified")}
    stackone_packages = await connection(api, "acme-stackone").provider.list_packages()
    created: dict[str, str] = {}  # idempotency key -> remote id
    submitted: dict[str, str] = {}  # order global id -> idempotency key
    with capture_logs(captured):
        await sandbox.faults(FAULTS)
        await _register_unified(api)
        polls = [await _poll(api)]
        for number in range(ROUNDS):
            # the ATS changes a Kombo order; the poller must find it despite faults
            kombo_truth = await _truth(sandbox, "kombo", accounts["kombo"])
            taken = {order_id_remote(order_id) for order_id in submitted}
            open_ids = sorted(i for i, s in kombo_truth.items() if s == "OPEN" and i not in taken)
            assert len(open_ids) >= 2, kombo_truth
            await sandbox.control(
                "PATCH",
                "orders",
                {"provider": "kombo", "account": accounts["kombo"], "id": open_ids[-1],
                 "status": "CANCELLED"},
            )  # fmt: skip
            polls.append(await _poll(api))
            await client.call(DASHBOARD, {"first": 50})
            unified_ids = sorted(await _truth(sandbox, "unified", accounts["unified"]))
            refresh = [gid("Order", f"acme-unified:{i}") for i in unified_ids[number : number + 3]]
            await client.call(REFRESH, {"ids": refresh})
            # a StackOne order, retried with its idempotency key until it is created
            key = f"create-{number}-{uuid.uuid4().hex[:6]}"
            payload = {
                "connectionId": gid("ProviderConnection", "acme-stackone"),
                "packageId": stackone_packages[number % len(stackone_packages)].remote_id,
                "candidate": {"firstName": "Flaky", "lastName": f"N{number}",
                              "emails": [f"flaky{number}@example.org"]},
                "idempotencyKey": key,
            }  # fmt: skip
            for _ in range(10):
                body = await client.call(CREATE, {"input": payload})
                answer = (body.get("data") or {}).get("createOrder")
                if answer and answer["order"] and not answer["errors"]:
                    created[key] = answer["order"]["remoteId"]
                    break
            # a result for an open Kombo order
            order_id = gid("Order", f"acme-kombo:{open_ids[0]}")
            submitted[order_id] = f"result-{number}-{uuid.uuid4().hex[:6]}"
            await client.call(SUBMIT, {"input": _result(order_id, submitted[order_id])})

        # one provider down for good: its reads fail, naming it, and the rest answers
        await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
        kombo_order = gid("Order", f"acme-kombo:{sorted(kombo_truth)[0]}")
        unified_order = gid("Order", f"acme-unified:{unified_ids[0]}")
        body = await client.call(REFRESH, {"ids": [kombo_order, unified_order]})
        answer = body["data"]["refreshOrders"]
        assert [o["id"] for o in answer["orders"]] == [unified_order], body
        assert any("acme-kombo" in e["message"] for e in answer["errors"]), body

        # the faults clear; sync settles; a client repeating a submission (same key)
        # gets the first answer, and the kept results are delivered by the deliverer
        # (stepped past its backoff here instead of sleeping through it)
        await sandbox.faults({})
        assert await _poll(api)
        for order_id, key in submitted.items():
            body = await client.call(SUBMIT, {"input": _result(order_id, key)})
            assert body["data"]["submitResult"]["errors"] == [], body
        deliveries = api.services.store.deliveries
        for _ in range(2 * ROUNDS):
            if (await deliveries.backlog("acme")).total == 0:
                break
            await api.services.deliverer.deliver_due(now=datetime.now(UTC) + timedelta(hours=1))
        assert (await deliveries.backlog("acme")).total == 0
        assert await _poll(api)

    # the faults did bite every provider (the adapters' retries absorbed most of them)
    refused = [e.provider for e in sandbox.recorder.exchanges if e.status in (429, 503)]
    assert len(refused) >= 3, refused
    assert len(created) == ROUNDS

    store = api.services.store.orders
    for provider, account in (*accounts.items(), ("stackone", _stackone_account(api))):
        truth = await _truth(sandbox, provider, account)
        stored = await store.get("acme", [f"acme-{provider}:{i}" for i in truth])
        assert len(stored) == len(truth), provider
        for remote_id, status in truth.items():
            if status is None:  # StackOne's orders carry no status
                continue
            assert str(stored[f"acme-{provider}:{remote_id}"].order.status) == status, remote_id
    stackone_truth = await _truth(sandbox, "stackone", _stackone_account(api))
    # every create retried with its key made one order, none twice
    assert set(created.values()) == set(stackone_truth), (created, stackone_truth)
    kombo_truth = await _truth(sandbox, "kombo", accounts["kombo"])
    for order_id in submitted:
        remote_id = order_id_remote(order_id)
        assert kombo_truth[remote_id] == "COMPLETED", remote_id

    chains = _check_chains(await store.events_after("acme", None, limit=100_000))
    for order_id in submitted:
        assert chains[f"acme-kombo:{order_id_remote(order_id)}"][-1].new_status == "COMPLETED"

    captured.add("sandbox stats", str(await sandbox.stats()))
    SecretScanner.from_settings(api.services.settings, **plain_api_keys()).scan(captured)


def _result(order_id: str, key: str) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "status": "COMPLETED",
        "score": 80,
        "maxScore": 100,
        "url": "https://results.example/flaky",
        "completedAt": "2026-11-22T10:00:00Z",
        "idempotencyKey": key,
    }


def _stackone_account(api: Api) -> str:
    return connection(api, "acme-stackone").settings.account


def order_id_remote(global_id: str) -> str:
    from strawberry import relay

    return relay.GlobalID.from_id(global_id).node_id.split(":", 1)[1]
