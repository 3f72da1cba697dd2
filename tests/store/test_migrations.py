"""Migrations: they build exactly ``tables.py``, and a stale store says what to run."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from ordergraph.store import (
    Store,
    StoreNotMigratedError,
    StoreUnavailableError,
    check_schema,
    create_engine,
    ensure_schema,
    migrate,
)
from ordergraph.store.migrate import alembic_config
from ordergraph.store.tables import metadata, node_id_signing
from ordergraph.store.types import UTCDateTime, as_utc
from tests.databases import CURSOR_SECRET


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_build_exactly_the_tables(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_unmigrated_store_says_what_to_run(blank_store_url: str) -> None:
    with pytest.raises(StoreNotMigratedError) as raised:
        await ensure_schema(blank_store_url)

    message = str(raised.value)
    assert f"ordergraph migrate --store {blank_store_url}" in message
    assert "--migrate" in message
    with pytest.raises(StoreNotMigratedError):
        await Store.open(blank_store_url, cursor_secret=CURSOR_SECRET)


async def test_auto_migrate_brings_the_store_up_to_date(blank_store_url: str) -> None:
    status = await ensure_schema(blank_store_url, auto_migrate=True)

    assert status.up_to_date
    assert (await check_schema(blank_store_url)).current == status.head
    async with await Store.open(blank_store_url, cursor_secret=CURSOR_SECRET) as store:
        assert await store.orders.count("anyone") == 0


async def test_migrating_twice_is_harmless(blank_store_url: str) -> None:
    first = await migrate(blank_store_url)
    second = await migrate(blank_store_url)

    assert first == second
    assert second.up_to_date


async def test_store_from_a_newer_ordergraph_is_refused(blank_store_url: str) -> None:
    await migrate(blank_store_url)
    engine = create_engine(blank_store_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        await engine.dispose()

    with pytest.raises(StoreNotMigratedError, match="newer ordergraph"):
        await ensure_schema(blank_store_url, auto_migrate=True)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_message_never_shows_the_password(blank_store_url: str) -> None:
    # SQLite URLs carry no password, so PostgreSQL only. The test server trusts local
    # connections, so any password is accepted.
    with_password = make_url(blank_store_url).set(password="s3cret-pw")
    url = with_password.render_as_string(hide_password=False)

    with pytest.raises(StoreNotMigratedError) as raised:
        await ensure_schema(url)

    assert "s3cret-pw" not in str(raised.value)
    assert f"--store {blank_store_url}`" in str(raised.value)


async def test_migrate_command(blank_store_url: str) -> None:
    ordergraph = Path(sys.executable).with_name("ordergraph")
    process = await asyncio.create_subprocess_exec(
        str(ordergraph),
        "--log-level",
        "WARNING",
        "migrate",
        "--store",
        blank_store_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()

    assert process.returncode == 0, stderr.decode()
    assert "migrated from empty to revision" in stdout.decode()
    assert (await check_schema(blank_store_url)).up_to_date


async def test_migrate_command_reports_a_bad_url() -> None:
    ordergraph = Path(sys.executable).with_name("ordergraph")
    process = await asyncio.create_subprocess_exec(
        str(ordergraph),
        "migrate",
        "--store",
        "mysql://user:pw@host/db",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()

    assert process.returncode == 1
    assert b"unsupported store URL" in stderr
    assert b"pw" not in stderr
    assert b"Traceback" not in stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:pw@127.0.0.1:5432/og_test_does_not_exist",
        "postgresql://postgres:pw@127.0.0.1:1/og",
    ],
)
async def test_unreachable_store_is_a_clean_error(url: str) -> None:
    with pytest.raises(StoreUnavailableError) as raised:
        await check_schema(url)

    assert "pw" not in str(raised.value)
    assert "cannot open the store at postgresql://postgres@127.0.0.1" in str(raised.value)


def _step(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_webhook_receipts_migration_upgrades_and_downgrades(blank_store_url: str) -> None:
    engine = create_engine(blank_store_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_step, "upgrade", "0001")
            assert "webhook_receipts" not in await conn.run_sync(_tables)
            await conn.run_sync(_step, "upgrade", "0002")
            assert "webhook_receipts" in await conn.run_sync(_tables)
            await conn.run_sync(_step, "downgrade", "0001")
            assert "webhook_receipts" not in await conn.run_sync(_tables)
            await conn.run_sync(_step, "upgrade", "head")
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_node_id_signing_migration_records_when_signing_began(
    blank_store_url: str,
) -> None:
    engine = create_engine(blank_store_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_step, "upgrade", "0002")
            assert "node_id_signing" not in await conn.run_sync(_tables)
            before = datetime.now(UTC)
            await conn.run_sync(_step, "upgrade", "0003")
            rows = (await conn.execute(sa.select(node_id_signing))).all()
            # one row, the moment of the upgrade: what the index held then keeps its
            # unsigned ids (ordergraph.resolvers.node_keys)
            assert len(rows) == 1
            assert before - timedelta(seconds=5) <= rows[0].since <= datetime.now(UTC)
            await conn.run_sync(_step, "downgrade", "0002")
            assert "node_id_signing" not in await conn.run_sync(_tables)
            await conn.run_sync(_step, "upgrade", "head")
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


_T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _stored_row(order_id: str, updated_at: datetime | None) -> dict[str, object]:
    """An ``orders`` row as revisions 0002 and 0003 hold it (no ``changed_at`` yet)."""
    return {
        "id": f"c1:{order_id}",
        "tenant": "acme",
        "connection_id": "c1",
        "provider": "kombo",
        "remote_id": order_id,
        "status": "OPEN",
        "created_at": _T0,
        "created_at_source": "first_seen",
        "first_seen_at": _T0,
        "updated_at": updated_at,
        "ingested_at": _T0 + timedelta(hours=1),
        "search_text": "",
        "data": {},
        "content_hash": "0" * 64,
        "version": 1,
    }


def _changed_at(connection: Connection) -> dict[str, datetime]:
    query = sa.select(sa.column("id"), sa.column("changed_at", UTCDateTime())).select_from(
        sa.table("orders")
    )
    return {row[0]: as_utc(row[1]) for row in connection.execute(query).all()}


async def test_seen_changes_migration_fills_changed_at_and_downgrades(
    blank_store_url: str,
) -> None:
    engine = create_engine(blank_store_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_step, "upgrade", "0003")
            columns = [
                sa.column(name, UTCDateTime() if name.endswith("_at") else None)
                for name in _stored_row("x", None)
            ]
            old_orders = sa.table("orders", *columns)
            old_orders.c.data.type = sa.JSON()
            await conn.execute(
                old_orders.insert(),
                [_stored_row("with", _T0 + timedelta(minutes=5)), _stored_row("without", None)],
            )
            await conn.run_sync(_step, "upgrade", "0004")
            # The provider's time where it gave one, else when we stored the change.
            assert await conn.run_sync(_changed_at) == {
                "c1:with": _T0 + timedelta(minutes=5),
                "c1:without": _T0 + timedelta(hours=1),
            }
            await conn.run_sync(_step, "downgrade", "0003")
            names = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("orders")}
            )
            assert "changed_at" not in names
            await conn.run_sync(_step, "upgrade", "head")
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


def _insert_order(connection: Connection, order_id: str, provider: str) -> None:
    columns = [
        sa.column(name, UTCDateTime() if name.endswith("_at") else None)
        for name in _stored_row("x", None)
    ]
    table = sa.table("orders", *columns)
    table.c.data.type = sa.JSON()
    row = {**_stored_row(order_id, None), "provider": provider, "changed_at": _T0}
    table.append_column(sa.column("changed_at", UTCDateTime()))
    connection.execute(table.insert(), [row])


def _refused(connection: Connection, write: Callable[[Connection], None]) -> bool:
    savepoint = connection.begin_nested()
    try:
        write(connection)
    except sa.exc.IntegrityError:
        savepoint.rollback()
        return True
    savepoint.commit()
    return False


def _add_connection(connection: Connection, cid: str, account: str, state: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO connections (id, tenant, provider, account, state, origin, overrides,"
            " created_at, changed_at, change_version) VALUES (:id, 'acme', 'kombo', :account,"
            " :state, 'API', '{}', :at, :at, :version)"
        ).bindparams(sa.bindparam("at", type_=UTCDateTime())),
        {
            "id": cid,
            "account": account,
            "state": state,
            "at": _T0,
            "version": sum(map(ord, cid)),
        },
    )


async def test_connections_migration_adds_the_table_and_frees_the_provider_column(
    blank_store_url: str,
) -> None:
    engine = create_engine(blank_store_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_step, "upgrade", "0004")
            # Before 0005 only the three providers of 0001 could be stored.
            assert await conn.run_sync(_refused, lambda c: _insert_order(c, "a", "fourth"))
            await conn.run_sync(_insert_order, "kept", "kombo")
            await conn.run_sync(_step, "upgrade", "0005")
            assert "connections" in await conn.run_sync(_tables)
            assert not await conn.run_sync(_refused, lambda c: _insert_order(c, "b", "fourth"))
            # The other checks survive the table copy (SQLite's batch mode).
            bad_status = {"status": "NOPE"}
            assert await conn.run_sync(
                _refused,
                lambda c: c.execute(
                    sa.text("UPDATE orders SET status = :status WHERE id = 'c1:kept'"),
                    bad_status,
                ),
            )
            # One live connection per provider account; removed ones do not count.
            await conn.run_sync(_add_connection, "one", "acct", "REMOVED")
            await conn.run_sync(_add_connection, "two", "acct", "ACTIVE")
            assert await conn.run_sync(
                _refused, lambda c: _add_connection(c, "three", "acct", "PAUSED")
            )
            assert await conn.run_sync(_diff) == []
            await conn.run_sync(
                lambda c: c.execute(sa.text("DELETE FROM orders WHERE id = 'c1:b'"))
            )
            await conn.run_sync(_step, "downgrade", "0004")
            assert "connections" not in await conn.run_sync(_tables)
            assert await conn.run_sync(_refused, lambda c: _insert_order(c, "c", "fourth"))
            await conn.run_sync(_step, "upgrade", "head")
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()
