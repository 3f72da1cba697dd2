"""``ordergraph demo`` as a user (or a script) runs it: a real process on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ordergraph.demo.config import DemoSecrets
from ordergraph.ids import possible_keys

ORDERGRAPH = Path(sys.executable).with_name("ordergraph")
PROVIDERS = {"unified", "stackone", "kombo"}
QUERY = """{
  connections { id provider }
  orders(first: 5) { totalCount edges { node { id provider candidate { name } } } }
  unified: orders(filter: {providers: [UNIFIED]}) { totalCount }
  stackone: orders(filter: {providers: [STACKONE]}) { totalCount }
  kombo: orders(filter: {providers: [KOMBO]}) { totalCount }
}"""


@dataclass
class Demo:
    """A running demo process, its info file and its output files."""

    process: subprocess.Popen[bytes]
    info_file: Path
    stderr: Path
    info: dict[str, Any]

    def stop(self, timeout: float = 10.0) -> tuple[int, float]:
        """SIGTERM; the exit code and how long it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started


def start_demo(folder: Path, *flags: str) -> Demo:
    """Start ``ordergraph demo`` and wait (up to 60 s) for its info file."""
    info_file = folder / "info.json"
    stdout, stderr = folder / "stdout.txt", folder / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - our own console script, fixed flags
            [
                str(ORDERGRAPH), "demo", "--port", "0",
                "--data-dir", str(folder / "data"), "--info-file", str(info_file),
                "--seed", "3", *flags,
            ],
            stdout=out,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while not info_file.exists():
        if process.poll() is not None:
            raise AssertionError(f"demo exited with {process.returncode}: {stderr.read_text()}")
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError(f"demo wrote no info file in 60 s: {stderr.read_text()}")
        time.sleep(0.1)
    return Demo(process, info_file, stderr, json.loads(info_file.read_text()))


def _finish(demo: Demo) -> None:
    if demo.process.poll() is None:
        demo.process.kill()
        demo.process.wait()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo with activity for the tests of this module (start-up costs seconds)."""
    running = start_demo(tmp_path_factory.mktemp("demo"))
    yield running
    _finish(running)


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        assert response.status == 200, url
        return await response.json()


async def _query(session: aiohttp.ClientSession, demo: Demo, api_key: str) -> dict[str, Any]:
    async with session.post(
        demo.info["graphql_url"],
        json={"query": QUERY},
        headers={"Authorization": f"Bearer {api_key}"},
    ) as response:
        body: dict[str, Any] = await response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def _ground_truth(session: aiohttp.ClientSession, demo: Demo) -> int:
    orders = await _get(session, demo.info["sandbox_url"] + "/_sandbox/orders")
    return len(orders["orders"])


async def _indexed(session: aiohttp.ClientSession, demo: Demo) -> int:
    totals = [
        (await _query(session, demo, tenant["api_key"]))["orders"]["totalCount"]
        for tenant in demo.info["tenants"]
    ]
    return sum(totals)


def _connection_key(global_id: str, type_name: str) -> str:
    decoded = base64.b64decode(global_id).decode()
    prefix, _, node_id = decoded.partition(":")
    assert prefix == type_name
    # the key inside the signed node id (ordergraph.ids), signature not checked here
    return possible_keys(node_id)[0]


async def test_info_file_names_two_tenants_and_their_sandbox_accounts(demo: Demo) -> None:
    info = demo.info
    assert set(info) == {"graphql_url", "sandbox_url", "tenants"}
    assert info["graphql_url"].startswith("http://127.0.0.1:")
    assert info["graphql_url"].endswith("/graphql")
    assert [t["name"] for t in info["tenants"]] == ["acme", "globex"]
    listed = []
    for tenant in info["tenants"]:
        assert set(tenant) == {"name", "api_key", "connections"}
        assert isinstance(tenant["api_key"], str)
        assert len(tenant["api_key"]) >= 32
        assert {c["provider"] for c in tenant["connections"]} == PROVIDERS
        assert len(tenant["connections"]) == 3
        for connection in tenant["connections"]:
            assert set(connection) == {"id", "provider", "account"}
            listed.append((connection["provider"], connection["account"]))
    assert len({t["api_key"] for t in info["tenants"]}) == 2
    async with aiohttp.ClientSession() as session:
        accounts = await _get(session, info["sandbox_url"] + "/_sandbox/accounts")
    assert sorted(listed) == sorted((a["provider"], a["account"]) for a in accounts["accounts"])


async def test_each_tenant_sees_its_own_connections_and_orders_of_all_three(demo: Demo) -> None:
    async with aiohttp.ClientSession() as session:
        for tenant in demo.info["tenants"]:
            expected = {(c["id"], c["provider"].upper()) for c in tenant["connections"]}
            own = {_connection_key(c["id"], "ProviderConnection") for c in tenant["connections"]}
            deadline = asyncio.get_running_loop().time() + 30
            while True:  # the Unified backfill and the Kombo poll arrive asynchronously
                data = await _query(session, demo, tenant["api_key"])
                counts = {p: data[p]["totalCount"] for p in PROVIDERS}
                if all(counts.values()) or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.5)
            assert {(c["id"], c["provider"]) for c in data["connections"]} == expected
            assert all(counts.values()), counts
            assert counts["stackone"] >= 20  # seeded through createOrder's code path
            assert data["orders"]["totalCount"] == sum(counts.values())
            for edge in data["orders"]["edges"]:
                order_key = _connection_key(edge["node"]["id"], "Order")
                assert order_key.rsplit(":", 1)[0] in own
                assert edge["node"]["candidate"]["name"]


async def test_activity_brings_new_orders_within_seconds(demo: Demo) -> None:
    async with aiohttp.ClientSession() as session:
        truth, indexed = await _ground_truth(session, demo), await _indexed(session, demo)
        deadline = asyncio.get_running_loop().time() + 15
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
            played = await _ground_truth(session, demo) > truth
            if played and await _indexed(session, demo) > indexed:
                return
    raise AssertionError("no new order was played and indexed within 15 s")


async def test_a_new_kombo_customer_connects_through_a_link(demo: Demo) -> None:
    # the README's walkthrough: a link from GraphiQL, the sandbox plays the customer
    globex = demo.info["tenants"][1]
    link = """mutation { createConnectLink(input: {provider: KOMBO,
        endUserEmail: "it@newcustomer.example", organizationName: "New Customer"}) {
        url errors { code message } } }"""
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {globex['api_key']}"}
        async with session.post(
            demo.info["graphql_url"], json={"query": link}, headers=headers
        ) as response:
            made = (await response.json())["data"]["createConnectLink"]
        assert made["errors"] == [], made
        async with session.post(
            demo.info["sandbox_url"] + "/_sandbox/connect/complete", json={"url": made["url"]}
        ) as response:
            done = await response.json()
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            async with session.post(
                demo.info["graphql_url"],
                json={"query": "{ connections { account origin state } }"},
                headers=headers,
            ) as response:
                listed = (await response.json())["data"]["connections"]
            found = [c for c in listed if c["account"] == done["account"]]
            if found or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.3)
        assert found == [
            {"account": done["account"], "origin": "PROVIDER_EVENT", "state": "ACTIVE"}
        ]


def test_sigterm_stops_the_demo_cleanly(demo: Demo) -> None:
    code, took = demo.stop()
    assert code == 0
    assert took < 8
    stderr = demo.stderr.read_text()
    assert "Traceback" not in stderr
    assert "demo activity:" in stderr
    assert not demo.info_file.exists()  # a script waiting for the next demo is not misled


async def test_no_activity_plays_nothing(tmp_path: Path) -> None:
    quiet = start_demo(tmp_path, "--no-activity")
    try:
        async with aiohttp.ClientSession() as session:
            deadline = asyncio.get_running_loop().time() + 30
            truth = await _ground_truth(session, quiet)
            while await _indexed(session, quiet) < truth:  # backfills settle first
                assert asyncio.get_running_loop().time() < deadline, "index never caught up"
                await asyncio.sleep(0.5)
            indexed = await _indexed(session, quiet)
            await asyncio.sleep(5)  # longer than the activity's interval
            assert await _ground_truth(session, quiet) == truth
            assert await _indexed(session, quiet) == indexed
        code, _ = quiet.stop()
        assert code == 0
        assert "Traceback" not in quiet.stderr.read_text()
    finally:
        _finish(quiet)


def test_secrets_are_made_once_and_kept_private(tmp_path: Path) -> None:
    first = DemoSecrets.load_or_create(tmp_path)
    again = DemoSecrets.load_or_create(tmp_path)
    assert again == first
    assert set(first.api_keys) == {"acme", "globex"}
    assert first.api_keys["acme"] != first.api_keys["globex"]
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
