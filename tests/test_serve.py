"""``ordergraph serve`` and ``ordergraph migrate --config`` as an operator runs them:
real processes, a config file whose secrets are ``${ENV}`` references, and a Kombo
connection to the in-test sandbox."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from strawberry import relay

from ordergraph.keys import hash_api_key
from tests.api.ws_client import connect
from tests.conftest import Sandbox

ORDERGRAPH = Path(sys.executable).with_name("ordergraph")
SECRETS = {
    "OG_CURSOR_SECRET": "cursor-secret-9f8e7d",
    "OG_ACME_KEY": "acme-api-key-5c4b3a",
}
# The config holds the key's hash (from the environment, like any secret setting).
SECRETS["OG_ACME_KEY_HASH"] = hash_api_key(SECRETS["OG_ACME_KEY"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Deployment:
    """A config file and the environment that fills its ``${ENV}`` references."""

    config: Path
    env: dict[str, str]

    def secrets(self) -> list[str]:
        return [value for name, value in self.env.items() if name.startswith("OG_")]


async def _deployment(sandbox: Sandbox, folder: Path) -> Deployment:
    kombo = (await sandbox.accounts("kombo"))[0]
    config = folder / "ordergraph.toml"
    config.write_text(
        f"""
[server]
host = "127.0.0.1"
port = 1

[store]
url = "sqlite:///{folder / "index.sqlite3"}"
cursor_secret = "${{OG_CURSOR_SECRET}}"

[[tenants]]
name = "acme"

[[tenants.keys]]
hash = "${{OG_ACME_KEY_HASH}}"
scopes = ["read", "write"]

[[connections]]
id = "acme-kombo"
tenant = "acme"
provider = "kombo"
base_url = "{sandbox.base("kombo")}"
api_key = "${{OG_KOMBO_KEY}}"
account = "{kombo["account"]}"
webhook_secret = "${{OG_KOMBO_WEBHOOK_SECRET}}"
poll_interval = 3600
"""
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ORDERGRAPH_")},
        **SECRETS,
        "OG_KOMBO_KEY": kombo["headers"]["Authorization"].split(" ", 1)[1],
        "OG_KOMBO_WEBHOOK_SECRET": kombo["webhook_secret"],
        "PYTHONUNBUFFERED": "1",
    }
    return Deployment(config, env)


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


async def _serve(deployment: Deployment, *flags: str) -> tuple[asyncio.subprocess.Process, str]:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        str(ORDERGRAPH), "serve", "--config", str(deployment.config), "--port", str(port),
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=deployment.env,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


async def _wait_until_up(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(150):
        try:
            async with session.get(url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("serve did not answer /healthz")


async def _stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    assert process.returncode is not None
    return process.returncode, (stdout + stderr).decode()


async def _orders(session: aiohttp.ClientSession, url: str) -> dict[str, object]:
    async with session.post(
        url + "/graphql",
        json={"query": "{ connections { provider } orders(first: 2) { totalCount } }"},
        headers={"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"},
    ) as response:
        assert response.status == 200
        body: dict[str, object] = await response.json()
        return body


async def test_migrate_then_serve_from_a_config_file(sandbox: Sandbox, tmp_path: Path) -> None:
    deployment = await _deployment(sandbox, tmp_path)
    code, output = await _run(deployment, "migrate", "--config", str(deployment.config))
    assert code == 0, output
    assert "migrated from empty" in output

    process, url = await _serve(deployment)
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_until_up(session, url)
            async with session.get(url + "/readyz") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "ready"
            for _ in range(100):  # the poller's first run pages the orders in
                body = await _orders(session, url)
                if body["data"] == {
                    "connections": [{"provider": "KOMBO"}],
                    "orders": {"totalCount": 30},
                }:
                    break
                await asyncio.sleep(0.1)
            assert body["data"] == {
                "connections": [{"provider": "KOMBO"}],
                "orders": {"totalCount": 30},
            }
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
    process, _ = await _serve(deployment)
    code, output = await _stop_or_end(process)
    assert code == 2, output
    assert "ordergraph migrate" in output
    assert "Traceback" not in output

    process, url = await _serve(deployment, "--migrate")
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_until_up(session, url)
    finally:
        code, output = await _stop(process)
    assert code == 0, output


async def _stop_or_end(process: asyncio.subprocess.Process) -> tuple[int, str]:
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode is not None
    return process.returncode, (stdout + stderr).decode()


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
    process, url = await _serve(deployment, "--migrate")
    auth = {"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"}
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_until_up(session, url)
            for _ in range(100):  # the first poll is done: nothing else talks to Kombo
                if (await _orders(session, url))["data"] == {
                    "connections": [{"provider": "KOMBO"}],
                    "orders": {"totalCount": 30},
                }:
                    break
                await asyncio.sleep(0.1)
            async with connect(session, url) as ws:
                assert (await ws.init({"authorization": auth["Authorization"]}))["type"] == (
                    "connection_ack"
                )
                await ws.subscribe("1", "subscription { orderEvents { cursor } }")
                assert await ws.silent("1", 0.2)  # subscribed, no event yet

                # a request that waits on a slow provider is in flight...
                await sandbox.faults({"kombo": {"latency_ms": [2000, 2000]}})
                before = (await sandbox.stats())["requests"].get("kombo", {})
                slow = asyncio.create_task(_packages(session, url, auth))
                for _ in range(100):
                    now = (await sandbox.stats())["requests"].get("kombo", {})
                    if now.get("GET /assessment/packages", 0) > before.get(
                        "GET /assessment/packages", 0
                    ):
                        break
                    await asyncio.sleep(0.02)
                else:
                    raise AssertionError("the package list never reached the sandbox")
                # ...when the process is told to stop
                process.send_signal(signal.SIGTERM)
                closed = await ws.message("1", within=10)
                status, body = await slow
            assert closed["close"] == 1001, closed
            assert status == 200, body
            assert body["data"]["packages"], body
    finally:
        await sandbox.faults({})
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    output = (stdout + stderr).decode()
    assert process.returncode == 0, output
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
    process, url = await _serve(deployment, "--migrate")
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_until_up(session, url)
            async with session.get(url + "/healthz") as response:
                assert "X-Ordergraph-Worker" not in response.headers  # one process
    finally:
        code, output = await _stop(process)
    assert code == 0, output
    if (os.cpu_count() or 1) > 1:
        assert "running 1 worker, not one per core" in output
        assert "store.url is SQLite" in output
