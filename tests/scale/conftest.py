"""Scale-out fixtures: the shared Redis on this machine, and private Redis servers that
a test may stop and restart without disturbing anyone else."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from tests.serve_support import free_port

SHARED_REDIS = os.environ.get("ORDERGRAPH_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def _ping(url: str) -> bool:
    """True when a Redis answers PING at ``url``."""
    return await _ask(url, b"PING") == b"+PONG\r\n"


async def _ask(url: str, command: bytes) -> bytes:
    """A Redis's raw answer to an inline command at ``url`` (b"" if none answers).

    A raw socket, not redis-py: a client whose connection is cut while the server starts
    or dies can be left half-open and surface as an unclosed-connection warning in
    whichever later test the garbage collector happens to run in.
    """
    parts = urlsplit(url)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(1):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 6379)
            writer.write(command + b"\r\n")
            await writer.drain()
            return await reader.read(4096)
    except (OSError, TimeoutError):
        return b""
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


@pytest.fixture
async def cache_url(redis_url: str) -> AsyncIterator[str]:
    """A database (1-15) of the shared Redis that no concurrent test uses, for a response
    cache: it has no key prefix, so two clusters on one database would read each other's
    entries. Claimed with SET NX in database 0 (so across xdist workers and other runs
    on this machine too), released afterwards; the claim expires if a run dies."""
    client = Redis.from_url(redis_url)
    token = uuid.uuid4().hex.encode()
    claimed: str | None = None
    try:
        for _ in range(240):
            for db in random.sample(range(1, 16), 15):
                if await client.set(f"ogtest:cache-db:{db}", token, nx=True, ex=900):
                    claimed = f"ogtest:cache-db:{db}"
                    break
            if claimed is not None:
                break
            await asyncio.sleep(0.5)
        else:
            pytest.fail("no free Redis database for the response cache")
        url = redis_url.rsplit("/", 1)[0] + "/" + claimed.rsplit(":", 1)[1]
        # Emptied before use: an earlier test's entries (they outlive it by their TTL)
        # carry the same data versions as this test's fresh store, so a leftover entry
        # would be served as this test's hit.
        await _flush(url)
        yield url
    finally:
        if claimed is not None and await client.get(claimed) == token:
            await _flush(url)
            await client.delete(claimed)
        await client.aclose()


async def _flush(url: str) -> None:
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


class RedisServer:
    """A redis-server of the test's own on a free loopback port (nothing on disk).

    redis-server cannot pick a port and say which, so the port is chosen beforehand;
    if another process took it meanwhile, the first start tries another. A restart
    keeps the port (clients reconnect to where it was)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: asyncio.subprocess.Process | None = None
        self._started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        for _ in range(1 if self._started else 5):
            if await self._start_on_port():
                self._started = True
                return
            self.port = free_port()
        raise AssertionError("private redis-server did not start")

    async def _start_on_port(self) -> bool:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = await asyncio.create_subprocess_exec(
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(200):
            # Ours, not another test's server that got the port first: it works in
            # our folder (and ours then exits, unable to bind).
            if str(self.folder).encode() in await _ask(self.url, b"CONFIG GET dir"):
                return True
            if self.process.returncode is not None:  # the port was taken
                return False
            await asyncio.sleep(0.05)
        self.process.kill()
        await self.process.wait()
        return False

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
