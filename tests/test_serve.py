"""``ordergraph serve`` and ``ordergraph migrate --config`` as an operator runs them:
real processes, a config file whose secrets are ``${ENV}`` references, and a Kombo
connection to the in-test sandbox."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from strawberry import relay

from tests.api.ws_client import connect
from tests.conftest import Sandbox
from tests.serve_support import (
    ORDERGRAPH,
    SECRETS,
    ServeProcess,
    account_key,
    serve_env,
    start_serve,
    write_config,
)
from tests.waiting import eventually

__all__ = ["ORDERGRAPH", "SECRETS"]  # imported from here by older callers


@dataclass
class Deployment:
    """A config file and the environment that fills its ``${ENV}`` references."""

    config: Path
    env: dict[str, str]
    folder: Path

    def secrets(self) -> list[str]:
        return [value for name, value in self.env.items() if name.startswith("OG_")]


async def _deployment(sandbox: Sandbox, folder: Path) -> Deployment:
    kombo = (await sandbox.accounts("kombo"))[0]
    config = write_config(
        folder / "ordergraph.toml",
        store_url=f"sqlite:///{folder / 'index.sqlite3'}",
        # --port on the command line wins over the file's port
        sections={"server": {"port": 1}},
        connections=[
            {
                "id": "acme-kombo",
                "tenant": "acme",
                "provider": "kombo",
                "base_url": sandbox.base("kombo"),
                "api_key": "${OG_KOMBO_KEY}",
                "account": kombo["account"],
                "webhook_secret": "${OG_KOMBO_WEBHOOK_SECRET}",
                "poll_interval": 3600,
            }
        ],
    )
    env = serve_env(
        OG_KOMBO_KEY=account_key(kombo), OG_KOMBO_WEBHOOK_SECRET=kombo["webhook_secret"]
    )
    return Deployment(config, env, folder)


async def _run(deployment: Deployment, *args: str) -> tuple[int, str]:
    """Run a command to its end (asynchronously: the sandbox serves meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        str(ORDERGRAPH), *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=deployment.env,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, (stdout + stderr).decode()


async def _serve(deployment: Deployment, *flags: str) -> ServeProcess:
    """serve started on a port of its own choosing; not waited for."""
    log = deployment.folder / "serve.log"
    log.unlink(missing_ok=True)
    return await start_serve(deployment.config, deployment.env, log, *flags, ready=None)


async def _stop(process: ServeProcess) -> tuple[int, str]:
    code = await process.stop(within=10)
    return code, process.output()


async def _orders(session: aiohttp.ClientSession, url: str) -> dict[str, object]:
    async with session.post(
        url + "/graphql",
        json={"query": "{ connections { provider } orders(first: 2) { totalCount } }"},
        headers={"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"},
    ) as response:
        assert response.status == 200
        body: dict[str, object] = await response.json()
        return body


async def _all_orders_paged_in(session: aiohttp.ClientSession, url: str) -> None:
    """Wait for the poller's first run, which pages the sandbox's 30 orders in."""
    expected = {"connections": [{"provider": "KOMBO"}], "orders": {"totalCount": 30}}

    async def paged_in() -> bool:
        return (await _orders(session, url))["data"] == expected

    await eventually(paged_in, 10, what="the first poll")


async def test_migrate_then_serve_from_a_config_file(sandbox: Sandbox, tmp_path: Path) -> None:
    deployment = await _deployment(sandbox, tmp_path)
    code, output = await _run(deployment, "migrate", "--config", str(deployment.config))
    assert code == 0, output
    assert "migrated from empty" in output

    process = await _serve(deployment)
    try:
        url = await process.ready("/healthz")
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/readyz") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "ready"
            await _all_orders_paged_in(session, url)
    finally:
        code, output = await _stop(process)
    assert code == 0, output
    assert "Traceback" not in output
    assert f"{url}/graphql" in output  # where it listens
    assert not [secret for secret in deployment.secrets() if secret in output]


async def test_an_unmigrated_store_is_refused_unless_told_to_migrate(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    deployment = await _deployment(sandbox, tmp_path)
    process = await _serve(deployment)
    code = await process.ended()
    output = process.output()
    assert code == 2, output
    assert "ordergraph migrate" in output
    assert "Traceback" not in output

    process = await _serve(deployment, "--migrate")
    try:
        await process.ready("/healthz")
    finally:
        code, output = await _stop(process)
    assert code == 0, output


async def test_a_missing_environment_variable_is_named_and_no_secret_printed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    deployment = await _deployment(sandbox, tmp_path)
    del deployment.env["OG_KOMBO_KEY"]
    for command in ("migrate", "serve"):
        code, output = await _run(deployment, command, "--config", str(deployment.config))
        assert code == 2, output
        assert "OG_KOMBO_KEY" in output
        assert len(output.strip().splitlines()) == 1
        assert not [secret for secret in deployment.secrets() if secret in output]


async def test_sigterm_finishes_requests_in_flight_and_closes_websockets(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    deployment = await _deployment(sandbox, tmp_path)
    with deployment.config.open("a") as config:  # as an operator runs it in production
        config.write('\n[logging]\nformat = "json"\n\n[tracing]\nenabled = true\n')
    process = await _serve(deployment, "--migrate")
    auth = {"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"}
    try:
        url = await process.ready("/healthz")
        async with aiohttp.ClientSession() as session:
            # the first poll is done: nothing else talks to Kombo
            await _all_orders_paged_in(session, url)
            async with connect(session, url) as ws:
                assert (await ws.init({"authorization": auth["Authorization"]}))["type"] == (
                    "connection_ack"
                )
                await ws.subscribe("1", "subscription { orderEvents { cursor } }")
                assert await ws.silent("1", 0.2)  # subscribed, no event yet

                # a request that waits on a slow provider (held at the sandbox's gate)
                # is in flight...
                sandbox.gate.close("GET", "/assessment/packages")
                slow = asyncio.create_task(_packages(session, url, auth))
                await sandbox.gate.arrived()
                # ...when the process is told to stop: sockets are closed at once, and
                # the request still gets its answer once the provider gives it
                process.terminate()
                closed = await ws.message("1", within=10)
                sandbox.gate.open()
                status, body = await slow
            assert closed["close"] == 1001, closed
            assert status == 200, body
            assert body["data"]["packages"], body
    finally:
        sandbox.gate.open()
        code = await process.stop()
    output = process.output()
    assert code == 0, output
    assert "did not stop in time" not in output
    assert not [secret for secret in deployment.secrets() if secret in output]
    # every line is a JSON record (tracebacks too are inside one)
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    messages = [record["message"] for record in records]
    assert "closing 1 WebSocket connections (going away)" in messages
    assert any(m.startswith("POST /graphql 200") for m in messages)


async def _packages(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    connection_id = str(relay.GlobalID("ProviderConnection", "acme-kombo"))
    async with session.post(
        url + "/graphql",
        json={
            "query": "query($c: ID!) { packages(connectionId: $c) { name } }",
            "variables": {"c": connection_id},
        },
        headers=headers,
    ) as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


async def test_several_workers_are_refused_without_postgresql_and_redis(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # SQLite and memory:// cache and broker: workers could share no wake-up or entry.
    deployment = await _deployment(sandbox, tmp_path)
    code, output = await _run(deployment, "migrate", "--config", str(deployment.config))
    assert code == 0, output
    code, output = await _run(
        deployment, "serve", "--config", str(deployment.config), "--port", "0", "--workers", "2"
    )
    assert code == 2, output
    assert "2 workers cannot share" in output
    assert "PostgreSQL" in output
    assert "Redis" in output
    assert "Traceback" not in output


async def test_by_default_one_worker_per_core_falls_back_to_one_with_a_warning(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    deployment = await _deployment(sandbox, tmp_path)
    process = await _serve(deployment, "--migrate")
    try:
        url = await process.ready("/healthz")
        async with aiohttp.ClientSession() as session, session.get(url + "/healthz") as response:
            assert "X-Ordergraph-Worker" not in response.headers  # one process
    finally:
        code, output = await _stop(process)
    assert code == 0, output
    if (os.cpu_count() or 1) > 1:
        assert "running 1 worker, not one per core" in output
        assert "store.url is SQLite" in output
