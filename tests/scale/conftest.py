"""Scale-out fixtures: the shared Redis on this machine, and private Redis servers that
a test may stop and restart without disturbing anyone else."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

SHARED_REDIS = os.environ.get("ORDERGRAPH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _ping(url: str) -> bool:
    """True when a Redis answers PING at ``url``.

    A raw socket, not redis-py: a client whose connection is cut while the server starts
    or dies can be left half-open and surface as an unclosed-connection warning in
    whichever later test the garbage collector happens to run in.
    """
    parts = urlsplit(url)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(1):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 6379)
            writer.write(b"PING\r\n")
            await writer.drain()
            return await reader.readline() == b"+PONG\r\n"
    except (OSError, TimeoutError):
        return False
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@pytest.fixture
async def redis_url() -> str:
    """The shared Redis (tests keep apart by a unique prefix)."""
    if not await _ping(SHARED_REDIS):
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {SHARED_REDIS} unreachable")
        pytest.skip(f"Redis at {SHARED_REDIS} unreachable")
    return SHARED_REDIS


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    """A channel and key prefix nobody else uses; its keys are deleted afterwards."""
    name = f"ogtest-{uuid.uuid4().hex[:10]}"
    yield name
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{name}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


class RedisServer:
    """A redis-server of the test's own on a free loopback port (nothing on disk)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = await asyncio.create_subprocess_exec(
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            if await _ping(self.url):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    async def stop(self) -> None:
        """Kill it (no clean shutdown: clients see the connection drop)."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), timeout=10)
        self.process = None


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    yield server
    await server.stop()
