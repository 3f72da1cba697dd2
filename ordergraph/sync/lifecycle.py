"""Connections at run time: added, paused, resumed and removed without a restart.

The store's ``connections`` table is the truth (``ordergraph.store.connections``);
each process keeps its ``ConnectionRegistry`` in step with it:

- a change made here (the admin mutations, a provider's own event) is written to the
  store and applied to this process's registry at once;
- every process reads what changed since the version it last applied every
  ``refresh_interval`` seconds (one indexed query; versions follow commit order), so
  another process's change reaches this one within that bound and none is missed.

Listeners (the background sync) hear of each connection that appears, changes or
goes, and start or stop its pollers and webhook registration. A REMOVED or PENDING
connection leaves the registry: every lookup then answers it exactly like an id that
never existed. A PAUSED one stays (its orders are readable) but is not synced.

A connection from the settings file runs with the file's entry (credentials and all:
an old-style entry carries its own key, which the store never holds); one added at
run time runs with its provider's ``[providers.<name>]`` credentials and the row's
non-secret overrides (``Settings.resolve_connection``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from ordergraph.broker import Broker
from ordergraph.errors import ConfigError
from ordergraph.models import ProviderName
from ordergraph.providers.registry import create_provider
from ordergraph.settings import ConnectionSettings, Settings
from ordergraph.store.connections import (
    ConnectionOrigin,
    ConnectionState,
    ConnectionStore,
    StoredConnection,
)
from ordergraph.store.errors import (
    AccountTakenError,
    ConnectionConflictError,
    ConnectionRemovedError,
    StoreError,
)
from ordergraph.sync.connections import ConnectionRegistry, LiveConnection

__all__ = [
    "AddResult",
    "ConnectionLifecycle",
    "ConnectionListener",
    "ProviderNotConfiguredError",
    "connection_id_for",
]

logger = logging.getLogger(__name__)

ConnectionListener = Callable[[LiveConnection | None, LiveConnection | None], None]
"""Told ``(before, after)`` for a connection that changed in this process's registry:
``before`` None for one that appeared, ``after`` None for one that went."""

_SERVED = frozenset({ConnectionState.ACTIVE, ConnectionState.PAUSED})
_PAGE = 500


class ProviderNotConfiguredError(Exception):
    """The settings hold no credentials for the provider ([providers.<name>])."""


@dataclass(frozen=True)
class AddResult:
    """``connection`` is the tenant's connection of the account (None when the
    account is connected under another tenant, of which nothing is said)."""

    connection: StoredConnection | None
    created: bool = False


def connection_id_for(tenant: str, provider: ProviderName, account: str) -> str:
    """The id of a connection made at run time: derived from what it connects, so a
    repeated add (a retried request, a provider event delivered twice, two processes
    at once) is the same connection, and a removed one comes back under its id."""
    digest = hashlib.sha256(f"{tenant}\x00{provider.value}\x00{account}".encode()).hexdigest()
    return f"{provider.value}-{digest[:16]}"


class ConnectionLifecycle:
    """Changes connections in the store and keeps this process's registry in step."""

    def __init__(
        self,
        settings: Settings,
        store: ConnectionStore,
        registry: ConnectionRegistry,
        broker: Broker,
        *,
        refresh_interval: float = 2.0,
        close_grace: float = 60.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.registry = registry
        self.broker = broker
        self.refresh_interval = refresh_interval
        self.close_grace = close_grace
        self._listeners: list[ConnectionListener] = []
        self._seen_version = 0
        self._lock = asyncio.Lock()
        self._closing: dict[asyncio.Task[None], LiveConnection] = {}

    def listen(self, listener: ConnectionListener) -> None:
        self._listeners.append(listener)

    # --- changes ---------------------------------------------------------------------

    async def add(
        self,
        tenant: str,
        provider: ProviderName,
        account: str,
        *,
        name: str | None = None,
        origin: ConnectionOrigin = ConnectionOrigin.API,
        state: ConnectionState = ConnectionState.ACTIVE,
    ) -> AddResult:
        """Connect ``account`` at ``provider`` for ``tenant``; the tenant's existing
        connection of that account is answered as it is."""
        connection_id = connection_id_for(tenant, provider, account)
        try:
            # What the connection would run with: refused now, not at its first sync,
            # when the provider has no credentials in the settings.
            self.settings.resolve_connection(
                id=connection_id, tenant=tenant, provider=provider, account=account, name=name
            )
        except ConfigError as exc:
            raise ProviderNotConfiguredError(str(exc)) from None
        try:
            write = await self.store.add(
                tenant,
                connection_id,
                provider.value,
                account,
                name=name,
                origin=origin,
                state=state,
            )
        except AccountTakenError:
            return AddResult(connection=None)
        except ConnectionConflictError as exc:
            existing = await self.store.get(tenant, exc.existing_id) if exc.existing_id else None
            if existing is None:
                raise
            return AddResult(connection=existing)
        await self._published(tenant, write.data_version)
        await self.refresh()
        return AddResult(connection=write.connection, created=write.changed)

    async def set_state(
        self, tenant: str, connection_id: str, state: ConnectionState
    ) -> StoredConnection | None:
        """Pause, resume or activate the tenant's connection; None for an unknown or
        removed one."""
        try:
            write = await self.store.set_state(tenant, connection_id, state)
        except ConnectionRemovedError:
            return None
        if write is None:
            return None
        await self._published(tenant, write.data_version)
        await self.refresh()
        return write.connection

    async def remove(self, tenant: str, connection_id: str, *, purge_orders: bool) -> int | None:
        """Remove the tenant's connection (its orders too with ``purge_orders``): how
        many orders were deleted; None for an unknown or already removed one."""
        current = await self.store.get(tenant, connection_id)
        if current is None or current.removed:
            return None
        removal = await self.store.remove(tenant, connection_id, purge_orders=purge_orders)
        if removal is None:
            return None
        await self._published(tenant, removal.data_version)
        await self.refresh()
        return removal.purged_orders

    async def _published(self, tenant: str, data_version: int | None) -> None:
        # Cached answers of the tenant (its connections, its orders after a purge) are
        # stale on every process from now on.
        if data_version is not None:
            await self.broker.publish(tenant, 0, data_version=data_version)

    # --- following the store -----------------------------------------------------------

    async def refresh(self) -> None:
        """Apply every change made since the last refresh (here or elsewhere)."""
        async with self._lock:
            touched: set[str] = set()
            while True:
                records = await self.store.changes_since(self._seen_version, limit=_PAGE)
                for record in records:
                    if self._apply(record):
                        touched.add(record.tenant)
                    self._seen_version = max(self._seen_version, record.version)
                if len(records) < _PAGE:
                    break
        # The writer published the tenants' new data versions; should that notice have
        # missed this process, its cached answers (a tenant's connections) must still
        # not outlive the change it just applied: its own listeners re-read the
        # versions. Local only: every process does this for itself.
        for tenant in sorted(touched):
            self.broker.forget_versions(tenant)

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every ``refresh_interval`` seconds until ``stop``."""
        while not stop.is_set():
            try:
                await self.refresh()
            except (StoreError, SQLAlchemyError, OSError) as exc:
                # The store may be briefly unreachable (a restart): one line, no
                # traceback; the next round catches up.
                logger.warning("reading connection changes failed: %s", type(exc).__name__)
            except Exception:
                logger.warning("reading connection changes failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.refresh_interval)

    def _apply(self, record: StoredConnection) -> bool:
        """Bring the registry to ``record``; whether that changed anything."""
        before = self.registry.get(record.id)
        after: LiveConnection | None = None
        if record.state in _SERVED:
            if before is not None and before.record_version == record.version:
                return False
            after = self._live(record, before)
        if before is None and after is None:
            return False
        self.registry.replace(record.id, after)
        if before is not None and (after is None or after.provider is not before.provider):
            self._close_later(before)
        for listener in self._listeners:
            try:
                listener(before, after)
            except Exception:
                logger.exception("a connection listener failed for %s", record.id)
        return True

    def _live(
        self, record: StoredConnection, before: LiveConnection | None
    ) -> LiveConnection | None:
        """The running form of a stored connection; None when it cannot be served by
        this process (its file entry or its provider's credentials are missing here)."""
        settings = (
            self.settings.connection(record.id)
            if record.origin is ConnectionOrigin.FILE
            else self._resolved(record)
        )
        if settings is None:
            return None
        # A state change keeps the adapter (and its pooled HTTP client); new settings
        # get a new one.
        provider = (
            before.provider
            if before is not None and before.settings == settings
            else create_provider(settings.adapter_config())
        )
        return LiveConnection(
            settings,
            provider,
            state=record.state,
            origin=record.origin,
            name=record.name,
            record_version=record.version,
        )

    def _resolved(self, record: StoredConnection) -> ConnectionSettings | None:
        try:
            return self.settings.resolve_connection(
                id=record.id,
                tenant=record.tenant,
                provider=record.provider,
                account=record.account,
                name=record.name,
                overrides=record.overrides,
            )
        except ConfigError as exc:
            # Logged; the row stays, and is served once the credentials are back.
            logger.warning("connection %s cannot be served here: %s", record.id, exc)
            return None

    def _close_later(self, connection: LiveConnection) -> None:
        """Close a dropped adapter's HTTP client once requests that took it before the
        change had time to finish."""

        async def close() -> None:
            await asyncio.sleep(self.close_grace)
            await connection.provider.close()

        task = asyncio.get_running_loop().create_task(close(), name=f"close:{connection.id}")
        self._closing[task] = connection
        task.add_done_callback(lambda done: self._closing.pop(done, None))

    async def close(self) -> None:
        """Close the adapters still waiting for their grace period, now."""
        waiting = dict(self._closing)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        for connection in waiting.values():
            await connection.provider.close()
