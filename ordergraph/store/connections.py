"""``ConnectionStore``: customer accounts at a provider, kept in the store.

A connection is tenant + provider + account (+ a name and non-secret setting
overrides). It comes from the settings file (origin ``FILE``, imported on start by
``import_file_connections``), the admin API (``API``) or a provider's own event after a
connect link (``PROVIDER_EVENT``). Credentials are never stored: they are per provider,
in the settings (``Settings.resolve_connection`` builds a store connection's complete
settings from its row).

Hot reload: every write gives each row it changes the next ``version`` while holding one
lock for all connection writes (PostgreSQL: a transaction-scoped advisory lock; SQLite:
the database write lock every write transaction takes), so versions grow in commit
order. A process that remembers the highest version it applied asks
``changes_since(version)`` and misses nothing; rows are never deleted (``REMOVED`` is a
state), so a removal is a change like any other.

Each write of a tenant's connections also raises the tenant's data version (under the
tenant's ingestion lock, ``OrderStore.lock_tenant_in``): a cached ``connections`` answer
is never served after the connections changed. The write's result carries the new
version for the caller to publish, as after an ingestion; this process's observers are
told at once.

Wiring a process's registry to it:

1. on start, ``import_file_connections(settings.connections)`` (every process may; the
   lock makes the second a no-op);
2. ``version = current_version()`` *before* ``list_all()``, so a write landing between
   the two is seen again below rather than missed (applying a change twice is harmless);
3. then, every few seconds or on a broker wake-up, ``changes_since(version)`` until it
   returns fewer than ``limit`` rows, applying each row and keeping its ``version``;
4. a row's complete settings: ``settings.connection(row.id)`` for ``FILE`` rows (the
   file may give one its own credentials), else ``settings.resolve_connection(id=...,
   tenant=..., provider=..., account=..., name=..., overrides=row.overrides)``.

Tenant scope: ``get``, ``list``, ``set_state`` and ``remove`` take the tenant and never
touch another tenant's connection (one of another tenant is "not found").
``list_all``, ``changes_since``, ``current_version`` and ``find_by_account`` are for the
process itself (its connection registry, webhook routing, provider events), not for
answering a tenant.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ordergraph.store.connection_import import plan_file_import, refuse_account
from ordergraph.store.connection_purge import PurgeCounts, purge_connection_orders
from ordergraph.store.connection_records import (
    ConnectionOrigin,
    ConnectionRemoval,
    ConnectionState,
    ConnectionWrite,
    FileConnection,
    FileImport,
    StoredConnection,
    checked_overrides,
    provider_value,
    stored_connection,
)
from ordergraph.store.engine import write_transaction
from ordergraph.store.errors import (
    ConnectionConflictError,
    ConnectionRemovedError,
)
from ordergraph.store.orders import OrderStore
from ordergraph.store.tables import connections
from ordergraph.store.types import as_utc, utcnow

__all__ = [
    "ConnectionOrigin",
    "ConnectionRemoval",
    "ConnectionState",
    "ConnectionStore",
    "ConnectionWrite",
    "FileConnection",
    "FileImport",
    "StoredConnection",
]

# pg_advisory_xact_lock key of "one connection write at a time" (any fixed 64-bit
# number no other part of ordergraph uses; these are the bytes of "ogconns").
_LOCK_KEY = 0x6F67636F6E6E73


_c = connections.c
_UPDATED = ("provider", "account", "name", "state", "overrides", "changed_at", "removed_at")
_UPDATE_ROW = (
    connections.update()
    .where(_c.id == sa.bindparam("match_id"))
    .values(
        {
            **{name: sa.bindparam(f"new_{name}") for name in _UPDATED},
            "change_version": sa.bindparam("new_change_version"),
        }
    )
)


class ConnectionStore:
    """The ``connections`` table over one engine; ``orders`` purges a removed
    connection's orders and is told of the data versions connection writes raise."""

    def __init__(self, engine: AsyncEngine, orders: OrderStore) -> None:
        self._engine = engine
        self._orders = orders

    # -- reads -------------------------------------------------------------------------

    async def get(self, tenant: str, connection_id: str) -> StoredConnection | None:
        """``tenant``'s connection ``connection_id`` (removed ones too); None when there
        is none or it is another tenant's."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(connections).where(_c.tenant == tenant, _c.id == connection_id)
            )
            row = result.mappings().first()
        return stored_connection(row) if row is not None else None

    async def list(
        self, tenant: str, *, include_removed: bool = False
    ) -> builtins.list[StoredConnection]:
        """``tenant``'s connections in id order (removed ones only when asked)."""
        conditions = [_c.tenant == tenant]
        if not include_removed:
            conditions.append(_c.state != ConnectionState.REMOVED.value)
        return await self._select(conditions, order_by=_c.id)

    async def list_all(self, *, include_removed: bool = False) -> builtins.list[StoredConnection]:
        """Every tenant's connections in id order: what a process starts its registry
        from (then it follows ``changes_since(max version seen)``)."""
        conditions = [] if include_removed else [_c.state != ConnectionState.REMOVED.value]
        return await self._select(conditions, order_by=_c.id)

    async def changes_since(
        self, version: int, *, limit: int = 500
    ) -> builtins.list[StoredConnection]:
        """Connections written after ``version`` (removals included), oldest change
        first, at most ``limit``: one indexed query. Versions follow commit order, so a
        reader that applies these and remembers the last one's ``version`` misses no
        change, however many processes write."""
        return await self._select(
            [_c.change_version > version], order_by=_c.change_version, limit=limit
        )

    async def current_version(self) -> int:
        """The newest change version (0 before the first connection)."""
        async with self._engine.connect() as conn:
            value = await conn.scalar(sa.select(sa.func.max(_c.change_version)))
        return int(value) if value is not None else 0

    async def find_by_account(self, provider: str, account: str) -> StoredConnection | None:
        """The live (not removed) connection of a provider account, whichever tenant's:
        for provider events, which name the account and not the tenant."""
        rows = await self._select(
            [
                _c.provider == provider_value(provider),
                _c.account == account,
                _c.state != ConnectionState.REMOVED.value,
            ]
        )
        return rows[0] if rows else None

    async def _select(
        self,
        conditions: Sequence[sa.ColumnElement[bool]],
        *,
        order_by: sa.ColumnElement[Any] | None = None,
        limit: int | None = None,
    ) -> builtins.list[StoredConnection]:
        query = sa.select(connections).where(*conditions)
        if order_by is not None:
            query = query.order_by(order_by)
        if limit is not None:
            query = query.limit(limit)
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [stored_connection(row) for row in result.mappings()]

    # -- writes ------------------------------------------------------------------------

    async def add(
        self,
        tenant: str,
        connection_id: str,
        provider: str,
        account: str,
        *,
        name: str | None = None,
        origin: ConnectionOrigin = ConnectionOrigin.API,
        state: ConnectionState = ConnectionState.ACTIVE,
        overrides: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> ConnectionWrite:
        """Add ``tenant``'s connection to ``account`` at ``provider`` under
        ``connection_id`` (chosen by the caller: derive it from tenant, provider and
        account and a retried add is a repeat).

        Idempotent on the id: when the connection exists with the same tenant, provider
        and account, it is returned unchanged (``changed`` False); when it was removed,
        it comes back with ``state``, ``name``, ``origin`` and ``overrides`` as given
        (its orders, unless purged, with it). ``state`` is ACTIVE, PENDING or PAUSED.

        Raises ``ConnectionConflictError`` when the id names another connection or the
        tenant has the account connected under another id (``existing_id``), and
        ``AccountTakenError`` when another tenant has it. ``ValueError`` for an
        override that looks like a credential.
        """
        if state is ConnectionState.REMOVED:
            raise ValueError("a connection is added ACTIVE, PENDING or PAUSED")
        stored_overrides = checked_overrides(overrides)
        at = as_utc(now) if now else utcnow()
        provider = provider_value(provider)
        async with write_transaction(self._engine) as conn:
            await _lock(conn)
            found = await conn.execute(
                sa.select(connections).where(
                    sa.or_(
                        _c.id == connection_id,
                        sa.and_(
                            _c.provider == provider,
                            _c.account == account,
                            _c.state != ConnectionState.REMOVED.value,
                        ),
                    )
                )
            )
            rows = [stored_connection(row) for row in found.mappings()]
            same = next((r for r in rows if r.id == connection_id), None)
            if same is not None and (same.tenant, same.provider, same.account) != (
                tenant,
                provider,
                account,
            ):
                raise ConnectionConflictError(
                    f"connection id {connection_id!r} is already in use by another connection"
                )
            if same is not None and not same.removed:
                return ConnectionWrite(same, changed=False)
            holder = next((r for r in rows if r.id != connection_id), None)
            if holder is not None:
                refuse_account(holder, tenant, provider)
            version = await _next_version(conn)
            values = {
                "provider": provider,
                "account": account,
                "name": name,
                "state": state.value,
                "origin": origin.value,
                "overrides": stored_overrides,
                "changed_at": at,
                "removed_at": None,
                "change_version": version,
            }
            if same is None:
                stored = await _write_one(
                    conn,
                    connections.insert().values(
                        id=connection_id, tenant=tenant, created_at=at, **values
                    ),
                )
            else:
                stored = await _write_one(
                    conn, connections.update().where(_c.id == connection_id).values(**values)
                )
            data_version = await self._touch_tenant(conn, tenant, at)
        self._orders.notify_version(tenant, data_version)
        return ConnectionWrite(stored, changed=True, data_version=data_version)

    async def set_state(
        self,
        tenant: str,
        connection_id: str,
        state: ConnectionState,
        *,
        now: datetime | None = None,
    ) -> ConnectionWrite | None:
        """Pause, resume, or activate a pending connection: ``state`` is ACTIVE, PAUSED
        or PENDING. Setting the state it has changes nothing (``changed`` False).

        None when ``tenant`` has no such connection; ``ConnectionRemovedError`` when it
        was removed (``add`` brings it back, ``remove`` removes).
        """
        if state is ConnectionState.REMOVED:
            raise ValueError("remove a connection with remove(), which may purge its orders")
        at = as_utc(now) if now else utcnow()
        async with write_transaction(self._engine) as conn:
            await _lock(conn)
            current = await _get_in(conn, connection_id, tenant)
            if current is None:
                return None
            if current.removed:
                raise ConnectionRemovedError(f"connection {connection_id!r} was removed")
            if current.state is state:
                return ConnectionWrite(current, changed=False)
            stored = await _write_one(
                conn,
                connections.update()
                .where(_c.id == connection_id)
                .values(state=state.value, changed_at=at, change_version=await _next_version(conn)),
            )
            data_version = await self._touch_tenant(conn, tenant, at)
        self._orders.notify_version(tenant, data_version)
        return ConnectionWrite(stored, changed=True, data_version=data_version)

    async def remove(
        self,
        tenant: str,
        connection_id: str,
        *,
        purge_orders: bool = False,
        now: datetime | None = None,
    ) -> ConnectionRemoval | None:
        """Mark ``tenant``'s connection ``REMOVED`` (it keeps its row: ids stay taken and
        ``changes_since`` reports the removal); None when the tenant has no such
        connection. Removing a removed connection changes nothing, except that
        ``purge_orders`` still purges.

        ``purge_orders`` deletes, in the same transaction, the connection's orders,
        their events, result deliveries still queued and its sync state (a later add
        under the same id starts afresh). Event ids are never reused, so other
        connections' event cursors stay valid; the tenant's data version is raised.
        """
        at = as_utc(now) if now else utcnow()
        async with write_transaction(self._engine) as conn:
            await _lock(conn)
            current = await _get_in(conn, connection_id, tenant)
            if current is None:
                return None
            changed = not current.removed
            stored = current
            if changed:
                stored = await _write_one(
                    conn,
                    connections.update()
                    .where(_c.id == connection_id)
                    .values(
                        state=ConnectionState.REMOVED.value,
                        changed_at=at,
                        removed_at=at,
                        change_version=await _next_version(conn),
                    ),
                )
            purged = PurgeCounts(0, 0)
            if purge_orders:
                await self._orders.lock_tenant_in(conn, tenant, now=at)
                purged = await purge_connection_orders(conn, tenant, connection_id)
            data_version = None
            if purged.orders:
                # The tenant's lock is held since the purge.
                data_version = await self._orders.bump_version_in(conn, tenant, now=at)
            elif changed:
                data_version = await self._touch_tenant(conn, tenant, at)
        if data_version is not None:
            self._orders.notify_version(tenant, data_version)
        return ConnectionRemoval(
            connection=stored,
            changed=changed,
            purged_orders=purged.orders,
            purged_events=purged.events,
            data_version=data_version,
        )

    async def import_file_connections(
        self, file_connections: Sequence[FileConnection], *, now: datetime | None = None
    ) -> FileImport:
        """Make the store's ``FILE`` connections what the settings file says (run on
        start, every process alike; a repeat changes nothing).

        - a file connection not in the store is added, ``ACTIVE``;
        - one in the store gets the file's provider, account, name and overrides; its
          state stays (an admin's pause survives a restart), except that a removed one
          comes back ``ACTIVE``: the file is the truth for file connections, so one
          removed through the API returns on the next start unless it is deleted from
          the file too;
        - a ``FILE`` connection no longer in the file is removed (orders kept), as
          deleting it from the file did before connections lived in the store.

        Raises ``ConnectionConflictError`` (nothing written) when a file connection's
        id belongs to a connection not from the file or to another tenant, or its
        account is connected under another id; ``AccountTakenError`` when another
        tenant's API connection holds its account.
        """
        at = as_utc(now) if now else utcnow()
        wanted = {c.id: c for c in file_connections}
        pairs = [(provider_value(c.provider), c.account) for c in file_connections]
        if len(set(pairs)) != len(pairs):
            raise ConnectionConflictError("two file connections name the same provider account")
        async with write_transaction(self._engine) as conn:
            await _lock(conn)
            conditions = [_c.origin == ConnectionOrigin.FILE.value]
            if wanted:
                conditions.append(_c.id.in_(list(wanted)))
                conditions.append(
                    sa.and_(
                        sa.tuple_(_c.provider, _c.account).in_(pairs),
                        _c.state != ConnectionState.REMOVED.value,
                    )
                )
            found = await conn.execute(sa.select(connections).where(sa.or_(*conditions)))
            stored = {r.id: r for r in (stored_connection(row) for row in found.mappings())}
            plan = plan_file_import(file_connections, stored, at)
            if not plan.inserts and not plan.updates:
                return FileImport()
            version = await _next_version(conn)
            for offset, values in enumerate([*plan.updates, *plan.inserts]):
                values["change_version"] = version + offset
            if plan.updates:
                await conn.execute(
                    _UPDATE_ROW,
                    [
                        {
                            "match_id": values["id"],
                            "new_change_version": values["change_version"],
                            **{f"new_{n}": values[n] for n in _UPDATED},
                        }
                        for values in plan.updates
                    ],
                )
            if plan.inserts:
                await conn.execute(connections.insert(), plan.inserts)
            data_versions = {
                tenant: await self._touch_tenant(conn, tenant, at)
                for tenant in sorted(plan.tenants)
            }
        for tenant, data_version in data_versions.items():
            self._orders.notify_version(tenant, data_version)
        return FileImport(
            added=tuple(plan.added),
            updated=tuple(plan.updated),
            revived=tuple(plan.revived),
            removed=tuple(plan.removed),
            data_versions=data_versions,
        )

    async def _touch_tenant(self, conn: AsyncConnection, tenant: str, at: datetime) -> int:
        # A tenant's cached answers (its connections list) must not outlive the change.
        await self._orders.lock_tenant_in(conn, tenant, now=at)
        return await self._orders.bump_version_in(conn, tenant, now=at)


async def _lock(conn: AsyncConnection) -> None:
    """Take the connection-write lock until the transaction ends (see the module doc)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
    # SQLite: write_transaction's BEGIN IMMEDIATE already holds the database.


async def _next_version(conn: AsyncConnection) -> int:
    current = await conn.scalar(sa.select(sa.func.max(_c.change_version)))
    return int(current or 0) + 1


async def _get_in(
    conn: AsyncConnection, connection_id: str, tenant: str
) -> StoredConnection | None:
    query = sa.select(connections).where(_c.id == connection_id, _c.tenant == tenant)
    row = (await conn.execute(query)).mappings().first()
    return stored_connection(row) if row is not None else None


async def _write_one(conn: AsyncConnection, statement: sa.Insert | sa.Update) -> StoredConnection:
    """Run an insert or update of one row and return the row as written (RETURNING: no
    read back)."""
    result = await conn.execute(statement.returning(*connections.c))
    return stored_connection(result.mappings().one())
