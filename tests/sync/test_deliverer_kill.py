"""A real ``ordergraph serve`` killed (SIGKILL) while a result is on its way to the
provider, then started again on the same store (SQLite and PostgreSQL): the result is
delivered exactly as submitted, no order or event is lost or doubled, the request's
idempotency key answers again once its claim's lease has run out, and no process
output or answer holds a secret."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ordergraph.settings import load_settings
from ordergraph.store import DeliveryState, Store
from tests.api.mutation_support import SUBMIT_RESULT, result_input
from tests.conftest import Sandbox
from tests.secrets_scan import Captured, SecretScanner
from tests.serve_support import (
    SECRETS,
    ServeProcess,
    account_key,
    serve_env,
    start_serve,
    write_config,
)
from tests.waiting import eventually

LEASE = 2.0
CURSOR_SECRET = SECRETS["OG_CURSOR_SECRET"]

CREATE = """
mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id remoteId } errors { code message } }
}
"""
PACKAGES = """query P($c: ID!) { packages(connectionId: $c) { remoteId } }"""
ORDER = """
query O($id: ID!) {
  order(id: $id) {
    status
    result { status score url }
    resultDelivery { state attempts lastError }
    events { edges { node { previousStatus newStatus source } } }
  }
}
"""
CONNECTION_GID = base64.b64encode(b"ProviderConnection:acme-stackone").decode()


@dataclass
class Deployment:
    config: Path
    env: dict[str, str]
    folder: Path
    processes: list[ServeProcess] = field(default_factory=list)

    async def start(self, name: str) -> tuple[ServeProcess, str]:
        process = await start_serve(self.config, self.env, self.folder / f"{name}.log")
        self.processes.append(process)
        return process, process.url


@pytest.fixture
async def deployment(
    sandbox: Sandbox, fresh_store_url: str, tmp_path: Path
) -> AsyncIterator[Deployment]:
    stackone = (await sandbox.accounts("stackone"))[0]
    config = write_config(
        tmp_path / "ordergraph.toml",
        store_url=fresh_store_url,
        sections={
            "delivery": {
                # Long enough that the request is still waiting when the process is killed.
                "inline_timeout": 30,
                "lease": LEASE,
                "poll_interval": 0.2,
                "backoff_base": 0.1,
                "backoff_cap": 0.5,
            },
            "mutations": {"idempotency_claim_lease": LEASE},
        },
        connections=[
            {
                "id": "acme-stackone",
                "tenant": "acme",
                "provider": "stackone",
                "base_url": sandbox.base("stackone"),
                "api_key": "${OG_STACKONE_KEY}",
                "account": stackone["account"],
            }
        ],
    )
    basic = account_key(stackone)
    env = serve_env(OG_STACKONE_KEY=base64.b64decode(basic).decode().split(":", 1)[0])
    deployed = Deployment(config, env, tmp_path)
    try:
        yield deployed
    finally:
        for process in deployed.processes:
            await process.kill()


async def _graphql(
    session: aiohttp.ClientSession, url: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    async with session.post(
        url + "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"},
    ) as response:
        body: dict[str, Any] = await response.json()
    assert "errors" not in body, body
    return body["data"]


async def _create_order(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    packages = (await _graphql(session, url, PACKAGES, {"c": CONNECTION_GID}))["packages"]
    created = await _graphql(
        session,
        url,
        CREATE,
        {
            "input": {
                "connectionId": CONNECTION_GID,
                "packageId": packages[0]["remoteId"],
                "candidate": {"firstName": "Ada", "emails": ["ada@example.com"]},
                "job": {"remoteId": "job-7", "title": "Engineer"},
            }
        },
    )
    assert created["createOrder"]["errors"] == []
    order: dict[str, Any] = created["createOrder"]["order"]
    return order


def _results_taken(sandbox: Sandbox) -> list[Any]:
    return [
        json.loads(e.body)
        for e in sandbox.recorder.for_provider("stackone")
        if e.method == "PATCH" and e.status < 300
    ]


async def test_a_process_killed_mid_delivery_loses_nothing(
    deployment: Deployment, sandbox: Sandbox, fresh_store_url: str
) -> None:
    store = await Store.open(fresh_store_url, cursor_secret=CURSOR_SECRET)
    try:
        async with aiohttp.ClientSession() as session:
            # given: an order, and a StackOne that holds the result write (its gate)
            first, url = await deployment.start("first")
            order = await _create_order(session, url)
            sandbox.gate.close("PATCH", "")
            request = result_input(order["id"], score=73.0, idempotencyKey="kill-me")

            # when: the process is killed while the mutation waits on the write
            submitting = asyncio.ensure_future(_post(session, url, request))
            await sandbox.gate.arrived()  # the PATCH is at StackOne
            [in_flight] = await store.deliveries.list("acme")
            assert in_flight.state is DeliveryState.IN_FLIGHT
            await first.kill()
            with pytest.raises(aiohttp.ClientError):
                await submitting
            sandbox.gate.open()

            # then: the result was kept; a new process delivers it once its lease ends
            _, url = await deployment.start("second")

            async def delivered() -> bool:
                shown = (await _graphql(session, url, ORDER, {"id": order["id"]}))["order"]
                return bool(shown["resultDelivery"]["state"] == "DELIVERED")

            await eventually(delivered, 20, what="delivery by the second process")
            # Read again: the order and its delivery are two reads of one request.
            shown = (await _graphql(session, url, ORDER, {"id": order["id"]}))["order"]
            assert shown["resultDelivery"]["state"] == "DELIVERED", shown
            assert shown["resultDelivery"]["attempts"] == 2
            assert shown["status"] == "COMPLETED"
            assert shown["result"] == {
                "status": "COMPLETED",
                "score": 73.0,
                "url": "https://assess.example.com/r/1",
            }
            # exactly as submitted (the killed write may or may not have landed too:
            # a second identical PATCH changes nothing)
            taken = _results_taken(sandbox)
            assert 1 <= len(taken) <= 2
            assert all(body == taken[0] for body in taken)
            assert taken[0]["score"]["value"] == "73"
            assert taken[0]["result"] == {"value": "completed"}
            rows = (
                await sandbox.control(
                    "GET", f"orders?provider=stackone&account={await _account(sandbox)}"
                )
            )["orders"]
            assert {r["id"]: r["status"] for r in rows}[order["remoteId"]] == "completed"
            # no event lost, none doubled
            edges = shown["events"]["edges"]
            assert [
                (e["node"]["previousStatus"], e["node"]["newStatus"], e["node"]["source"])
                for e in edges
            ] == [(None, "OPEN", "CREATE"), ("OPEN", "COMPLETED", "MUTATION")]

            # and the key answers again (its claim's lease has run out)
            answer = await _graphql(session, url, SUBMIT_RESULT, {"input": request})
            assert answer["submitResult"]["errors"] == []
            assert answer["submitResult"]["order"]["resultDelivery"]["state"] == "DELIVERED"
            assert len(await store.deliveries.list("acme")) == 1
            assert 1 <= len(_results_taken(sandbox)) <= 2

        # and neither process wrote a secret, nor did any answer carry one
        captured = Captured()
        for name in ("first", "second"):
            captured.add(f"{name} process output", (deployment.folder / f"{name}.log").read_text())
        captured.add("order read", json.dumps(shown))
        captured.add("repeated submitResult", json.dumps(answer))
        settings = load_settings(deployment.config, environ=deployment.env)
        SecretScanner.from_settings(settings, api_key=SECRETS["OG_ACME_KEY"]).scan(captured)
    finally:
        await store.close()


async def _post(session: aiohttp.ClientSession, url: str, request: dict[str, Any]) -> None:
    async with session.post(
        url + "/graphql",
        json={"query": SUBMIT_RESULT, "variables": {"input": request}},
        headers={"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"},
    ) as response:
        await response.read()


async def _account(sandbox: Sandbox) -> str:
    return str((await sandbox.accounts("stackone"))[0]["account"])
