"""Database fixtures for every suite that needs a store: SQLite and real PostgreSQL.

One migrated database per backend per run (tests keep apart by using a fresh tenant
and fresh connection ids); tests that need an empty database get their own. PostgreSQL
is the server on 127.0.0.1:5432 (``ORDERGRAPH_TEST_POSTGRES`` overrides the admin
URL); when it is unreachable the PostgreSQL half is skipped, or fails when ``CI`` is set.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from ordergraph.store import migrate

ADMIN_URL = os.environ.get(
    "ORDERGRAPH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CURSOR_SECRET = "store-test-cursor-secret"
BACKENDS = ["sqlite", "postgresql"]

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run set-up work on its own loop in another thread, away from the tests' loops."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_reason() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    try:
        run_async(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {make_url(ADMIN_URL).host} unreachable: {exc!r}"
    return None


class Databases:
    """Creates empty databases for one backend and drops them all at the end."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self._folder = folder
        self._created: list[str] = []

    def create(self) -> str:
        """The URL of a new, empty database."""
        name = f"og_test_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            return f"sqlite:///{self._folder / name}.db"
        run_async(_admin(f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self._created:
            run_async(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which backend this test runs on."""
    name: str = request.param
    if name == "postgresql":
        reason = postgres_reason()
        if reason is not None:
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
    return name


@pytest.fixture(scope="session")
def databases(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    factory = Databases(backend, tmp_path_factory.mktemp(f"store-{backend}"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def store_url(databases: Databases) -> str:
    """A migrated database shared by the run (per backend)."""
    url = databases.create()
    run_async(migrate(url))
    return url


@pytest.fixture
def blank_store_url(databases: Databases) -> str:
    """A new database with no tables."""
    return databases.create()


@pytest.fixture
def fresh_store_url(databases: Databases) -> str:
    """A new migrated database nobody else writes to."""
    url = databases.create()
    run_async(migrate(url))
    return url
