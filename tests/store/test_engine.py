"""Store URLs and engines."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from ordergraph.errors import ConfigError
from ordergraph.services import Services
from ordergraph.settings import StoreSettings, load_settings
from ordergraph.store import Store, create_engine, default_store_url, redact_url, to_async_url
from ordergraph.store.pool_ping import CheckoutPing
from tests.databases import ADMIN_URL, CURSOR_SECRET, postgres_reason
from tests.waiting import eventually


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///data/og.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:////abs/og.db", "sqlite+aiosqlite"),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_urls_map_to_async_drivers(url: str, driver: str) -> None:
    assert to_async_url(url).drivername == driver


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://h/db", "nonsense"])
def test_unusable_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        to_async_url(url)


def test_redacted_url_has_no_password() -> None:
    assert redact_url("postgresql://app:hunter2@db:5432/og") == "postgresql://app@db:5432/og"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


async def test_sqlite_engine_creates_its_folder_and_uses_wal(tmp_path: Path) -> None:
    url = default_store_url(tmp_path / "nested" / "data")
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
    finally:
        await engine.dispose()

    assert (tmp_path / "nested" / "data" / "ordergraph.sqlite3").exists()
    assert (mode, foreign_keys) == ("wal", 1)


async def test_postgresql_pools_ping_before_reuse() -> None:
    # A PostgreSQL restart kills pooled connections; tests/faults shows the failure.
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        assert engine.sync_engine.pool._pre_ping is True
        # In one round trip (``SELECT 1``), not SQLAlchemy's BEGIN, ``;``, ROLLBACK,
        # and none for a connection back from use a moment ago (store/pool_ping.py).
        assert isinstance(engine.dialect.do_ping, CheckoutPing)
    finally:
        await engine.dispose()


async def _connections_opened(store_url: str, concurrency: int, **pool: int) -> int:
    """How many connections rounds of ``concurrency`` simultaneous reads open."""
    store = await Store.open(store_url, cursor_secret=CURSOR_SECRET, **pool)
    opened = 0

    def connected(*_args: Any) -> None:
        nonlocal opened
        opened += 1

    event.listen(store.engine.sync_engine, "connect", connected)

    async def read() -> None:
        async with store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0.01)  # held while the others check theirs out

    try:
        for _ in range(5):
            await asyncio.gather(*(read() for _ in range(concurrency)))
    finally:
        await store.close()
    return opened


async def test_a_pool_as_large_as_the_concurrency_keeps_its_connections(store_url: str) -> None:
    # Each round of 8 reads reuses the 8 connections the first opened.
    assert await _connections_opened(store_url, 8, pool_size=8, max_overflow=8) == 8
    # SQLAlchemy's default (5 kept) closes the 3 extra after each round and opens
    # them again: what every request past the fifth paid before the pool was sized.
    assert await _connections_opened(store_url, 8) == 5 + 3 * 5


async def test_the_services_pool_is_the_settings(store_url: str) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "store": {
                "url": store_url,
                "cursor_secret": CURSOR_SECRET,
                "pool_size": 7,
                "max_overflow": 3,
            }
        },
    )
    services = await Services.open(settings)
    try:
        pool = services.store.engine.sync_engine.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool._max_overflow) == (7, 3)
    finally:
        await services.close()
    assert (StoreSettings().pool_size, StoreSettings().max_overflow) == (16, 16)


def _require_postgres() -> None:
    reason = postgres_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        pid: int = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        return pid


async def _terminate(pid: int) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


def _ping_of(engine: AsyncEngine) -> CheckoutPing:
    ping = engine.dialect.do_ping
    assert isinstance(ping, CheckoutPing)
    return ping


async def test_a_pooled_postgresql_connection_the_server_dropped_is_replaced_at_checkout() -> None:
    _require_postgres()
    engine = create_engine(ADMIN_URL)
    ping = _ping_of(engine)
    ping.recent = 0  # every checkout pings: the round trip is what is tested here
    checkouts = 0
    try:
        pid = await _backend_pid(engine)
        # The same pooled connection, pinged on checkout in one round trip.
        assert await _backend_pid(engine) == pid
        assert ping.round_trips == 1
        await _terminate(pid)

        def checked_out(*_: Any) -> None:
            nonlocal checkouts
            checkouts += 1

        event.listen(engine.sync_engine.pool, "checkout", checked_out)
        # The ping saw the dead connection; the pool handed out a new one, and the
        # statement never met the dead one.
        assert await _backend_pid(engine) != pid
    finally:
        await engine.dispose()
    assert checkouts == 1


async def test_a_connection_back_from_use_a_moment_ago_is_not_pinged() -> None:
    _require_postgres()
    engine = create_engine(ADMIN_URL)
    ping = _ping_of(engine)
    try:
        pid = await _backend_pid(engine)
        for _ in range(5):
            assert await _backend_pid(engine) == pid
        assert ping.round_trips == 0
        ping.recent = 0  # as if it had been idle that long
        assert await _backend_pid(engine) == pid
        assert ping.round_trips == 1
    finally:
        await engine.dispose()


async def test_a_recently_used_connection_whose_backend_ended_is_replaced_all_the_same() -> None:
    # A restart or a terminated backend closes the socket; once the driver has seen
    # that, the checkout replaces the connection without a round trip.
    _require_postgres()
    engine = create_engine(ADMIN_URL)
    ping = _ping_of(engine)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
        assert driver is not None
        await _terminate(pid)

        async def seen_closed() -> bool:
            return bool(driver.is_closed())

        await eventually(seen_closed, within=10, what="the driver seeing its backend end")
        assert await _backend_pid(engine) != pid
        assert ping.round_trips == 0
    finally:
        await engine.dispose()
