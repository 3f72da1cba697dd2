"""Fault-scenario fixtures: a private PostgreSQL cluster (one per session) and the
private Redis servers of tests/scale. A missing dependency skips, except in CI."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.api.conftest import api  # the API suite's in-process gateway
from tests.databases import run_async
from tests.faults.services import PrivatePostgres, postgres_unavailable_reason
from tests.scale.conftest import RedisServer

__all__ = ["api", "private_postgres", "redis_server"]


def _unavailable(reason: str) -> None:
    """Skip outside CI; in CI a missing dependency is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A private redis-server the test may kill and start again."""
    if shutil.which("redis-server") is None:
        _unavailable("redis-server is not installed")
    server = RedisServer(tmp_path)
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    reason = postgres_unavailable_reason()
    if reason is not None:
        _unavailable(reason)
    cluster = PrivatePostgres()
    cluster.init()
    try:
        yield cluster
    finally:
        cluster.destroy()


async def _create_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def create_database(cluster: PrivatePostgres, name: str) -> str:
    run_async(_create_database(cluster.url(), name))
    return cluster.url(name)
