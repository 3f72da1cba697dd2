"""Store fixtures: every store test runs against SQLite and against real PostgreSQL
(the database fixtures live in ``tests/databases.py``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from ordergraph.store import OrderStore, Store, create_engine
from tests.databases import CURSOR_SECRET


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[OrderStore]:
    engine = create_engine(store_url)
    try:
        yield OrderStore(engine, cursor_secret=CURSOR_SECRET)
    finally:
        await engine.dispose()


@pytest.fixture
async def fresh_store(fresh_store_url: str) -> AsyncIterator[Store]:
    async with Store.from_engine(
        create_engine(fresh_store_url), cursor_secret=CURSOR_SECRET
    ) as opened:
        yield opened


@pytest.fixture
def tenant() -> str:
    """A tenant name no other test uses, so tests sharing a database stay apart."""
    return f"tenant-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def connection_id(tenant: str) -> str:
    return f"{tenant}-conn"
