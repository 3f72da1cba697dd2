"""Async engines for the store URLs ordergraph accepts, and transaction helpers.

``sqlite:///path`` runs on aiosqlite, ``postgresql://...`` on asyncpg. SQLite gets WAL
(readers never wait for the writer), foreign keys, a busy timeout, and explicit
``BEGIN`` / ``BEGIN IMMEDIATE`` so a write transaction holds the write lock from its
first statement instead of failing when it upgrades from a read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.base import Executable

from ordergraph.errors import ConfigError
from ordergraph.store.budget import charge_statement
from ordergraph.store.pool_ping import CheckoutPing

__all__ = [
    "UNBUDGETED_OPTION",
    "create_engine",
    "default_store_url",
    "read_transaction",
    "redact_url",
    "single_read",
    "to_async_url",
    "unbudgeted",
    "write_transaction",
]

ExecutableT = TypeVar("ExecutableT", bound=Executable)

_SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option a write transaction sets so the SQLite ``begin`` hook emits
# BEGIN IMMEDIATE; PostgreSQL ignores it.
_WRITE_OPTION = "ordergraph_write"
# Execution option of statements no operation's budget pays for (transaction control).
UNBUDGETED_OPTION = "ordergraph_unbudgeted"
# Connection option of a read of one statement, outside a transaction (``single_read``).
_SINGLE_READ_OPTION = "ordergraph_single_read"


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"cannot read store URL {redact_url(url)!r}") from exc


def to_async_url(url: str) -> URL:
    """Map a store URL to its async driver: aiosqlite for SQLite, asyncpg for PostgreSQL."""
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            # Each pooled connection would see its own empty database.
            raise ConfigError("the SQLite store needs a file path: sqlite:///path/to/file.db")
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    raise ConfigError(
        f"unsupported store URL {redact_url(url)!r}: use sqlite:///path or postgresql://..."
    )


def redact_url(url: str) -> str:
    """The URL as the user wrote it, minus any password (safe for logs and messages)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unreadable URL>"
    if parsed.password is None:
        return url
    # URL.set(password=None) means "leave it"; rebuild the URL without one instead.
    bare = URL.create(
        drivername=parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False)


def default_store_url(data_dir: Path) -> str:
    """The default store: a SQLite file under the data directory."""
    return f"sqlite:///{data_dir / 'ordergraph.sqlite3'}"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An ``AsyncEngine`` for a store URL; dispose it when done.

    For SQLite the file's parent directory is created if it does not exist.
    """
    async_url = to_async_url(url)
    if async_url.get_backend_name() != "sqlite":
        # A PostgreSQL restart kills every pooled connection without a word; without a
        # ping on checkout the next request on each would fail (tests/faults).
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_async_engine(async_url, **kwargs)
        if async_url.drivername == "postgresql+asyncpg":
            # The instance's ping, not the class's: other engines keep theirs.
            ping = CheckoutPing()
            engine.dialect.do_ping = ping  # type: ignore[method-assign]
            event.listen(engine.sync_engine, "checkin", ping.returned)
    else:
        Path(str(async_url.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            async_url,
            connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        _configure_sqlite(engine)
    _charge_statements(engine)
    return engine


def _charge_statements(engine: AsyncEngine) -> None:
    """Charge each statement to the running GraphQL operation's budget
    (``ordergraph.store.budget``), which refuses it, before it reaches the database,
    once the budget is spent."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _on_statement(
        connection: Connection,
        _cursor: Any,
        _statement: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        # A write is never refused half-way (see the budget module), nor is BEGIN.
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        unbudgeted = context is not None and context.execution_options.get(UNBUDGETED_OPTION)
        if write or unbudgeted:
            return
        charge_statement()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module, which would otherwise
        # begin lazily and silently; the "begin" hook below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(_SINGLE_READ_OPTION, False):
            return  # sqlite3 runs the one statement in a transaction of its own
        write = options.get(_WRITE_OPTION, False)
        connection.exec_driver_sql(
            "BEGIN IMMEDIATE" if write else "BEGIN",
            # PostgreSQL's BEGIN is no statement SQLAlchemy sees; SQLite's is not
            # counted either, so both databases spend a budget alike.
            execution_options={UNBUDGETED_OPTION: True},
        )


def unbudgeted(statement: ExecutableT) -> ExecutableT:
    """``statement`` not charged to the running operation's budget: for a statement
    that is part of another, budgeted read (at most one per such read)."""
    return statement.execution_options(**{UNBUDGETED_OPTION: True})


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that will write: committed on exit, rolled back on error.

    On SQLite it takes the database write lock up front (BEGIN IMMEDIATE), so two
    writers cannot both read and then collide on the upgrade to a write lock.
    """
    async with engine.connect() as conn:
        await conn.execution_options(**{_WRITE_OPTION: True})
        async with conn.begin():
            yield conn


@asynccontextmanager
async def read_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction whose statements all see one snapshot.

    Several queries answer one page (rows, then "is there more?"); on PostgreSQL
    REPEATABLE READ keeps them consistent with each other while writers commit. SQLite
    in WAL mode gives a snapshot per transaction already.
    """
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        async with conn.begin():
            yield conn


@asynccontextmanager
async def single_read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a read of one statement, with no transaction around it.

    One statement sees one snapshot on either database by itself; the transaction
    ``read_transaction`` opens for several costs a page two more round trips on
    PostgreSQL (BEGIN ... READ ONLY, COMMIT) and two more trips to SQLite's thread.
    Use it only where the answer is that one statement's.
    """
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            await conn.execution_options(**{_SINGLE_READ_OPTION: True})
        yield conn
