"""``ordergraph sandbox`` as a user runs it: a real process on a loopback port."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import aiohttp


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_until_serving(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(100):
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"sandbox did not start serving {url}")


async def test_sandbox_command_serves_all_three_simulators() -> None:
    port = _free_port()
    ordergraph = Path(sys.executable).with_name("ordergraph")
    process = await asyncio.create_subprocess_exec(
        str(ordergraph), "sandbox", "--port", str(port), "--seed", "3", "--orders", "5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_until_serving(session, f"{base}/_sandbox/accounts")
            async with session.get(f"{base}/_sandbox/accounts") as response:
                accounts = (await response.json())["accounts"]
            assert {a["provider"] for a in accounts} == {"unified", "stackone", "kombo"}
            assert all(a["headers"] for a in accounts)
            async with session.get(f"{base}/_sandbox/stats") as response:
                assert (await response.json())["total"] == 0
    finally:
        process.terminate()
        _, stderr = await process.communicate()
    assert process.returncode is not None
    assert b"Traceback" not in stderr


async def test_schema_command_prints_the_committed_sdl() -> None:
    ordergraph = Path(sys.executable).with_name("ordergraph")
    process = await asyncio.create_subprocess_exec(
        str(ordergraph), "schema", stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    snapshot = Path(__file__).parent.parent / "schema.graphql"
    assert stdout.decode() == snapshot.read_text()
