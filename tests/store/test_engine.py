"""Store URLs and engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from ordergraph.errors import ConfigError
from ordergraph.store import create_engine, default_store_url, redact_url, to_async_url


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
    finally:
        await engine.dispose()
