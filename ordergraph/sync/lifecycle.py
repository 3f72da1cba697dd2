"""Connections at run time: added, paused, resumed and removed without a restart.

The store's ``connections`` table is the truth (``ordergraph.store.connections``);
each process keeps its ``ConnectionRegistry`` in step with it:

- a change made here (the admin mutations, a provider's own event) is written to the
  store and applied to this process's registry at once;
- every process reads what changed since the version it last saw every
  ``refresh_interval`` seconds (one indexed query), so another process's change
  reaches this one within that bound, and a missed notice is never lost.

Listeners (the background sync) hear of each connection that appears, changes state
or goes, and start or stop its pollers and webhook registration. A REMOVED or PENDING
connection leaves the registry: every lookup then answers it exactly like an id that
never existed. A PAUSED one stays (its orders are readable) but is not synced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from ordergraph.errors import ConfigError
from ordergraph.models import ConnectionOrigin, ConnectionState, ProviderName
from ordergraph.providers.registry import create_provider
from ordergraph.settings import ConnectionSettings, Settings
from ordergraph.store.connections import ConnectionRecord, ConnectionStore
from ordergraph.sync.connections import ConnectionRegistry, LiveConnection

__all__ = [
    "AddResult",
    "ConnectionLifecycle",
    "ConnectionListener",
    "ProviderNotConfiguredError",
]

logger = logging.getLogger(__name__)

ConnectionListener = Callable[[LiveConnection | None, LiveConnection | None], None]
"""Told ``(before, after)`` for a connection that changed in this process's registry:
``before`` None for one that appeared, ``after`` None for one that went."""


class ProviderNotConfiguredError(Exception):
    """The settings hold no credentials for the provider ([providers.<name>])."""


@dataclass(frozen=True)
class AddResult:
    """``connection`` is the tenant's connection of the account; ``taken`` is True when
    the account is connected under another tenant (and nothing is said of it)."""

    connection: ConnectionRecord | None
    created: bool = False
    taken: bool = False


def new_connection_id(provider: ProviderName) -> str:
    """An id for a connection made at run time (file connections name their own)."""
    return f"{provider.value}-{secrets.token_hex(6)}"


class ConnectionLifecycle:
    """Changes connections in the store and keeps this process's registry in step."""

    def __init__(
        self,
        settings: Settings,
        store: ConnectionStore,
        registry: ConnectionRegistry,
        *,
        refresh_interval: float = 2.0,
        close_grace: float = 60.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.registry = registry
        self.refresh_interval = refresh_interval
        self._listeners: list[ConnectionListener] = []
        self._seen_version = 0
        self._lock = asyncio.Lock()
        self.close_grace = close_grace
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
        """Connect ``account`` at ``provider`` for ``tenant`` (idempotent: the tenant's
        existing connection of that account is answered as it is)."""
        connection_id = new_connection_id(provider)
        try:
            # What the connection would run with: refused now, not at the first sync,
            # when the provider has no credentials in the settings.
            self.settings.resolve_connection(
                id=connection_id, tenant=tenant, provider=provider, account=account, name=name
            )
        except ConfigError as exc:
            raise ProviderNotConfiguredError(str(exc)) from None
        existing = await self.store.by_account(provider, account)
        if existing is not None:
            if existing.tenant != tenant:
                return AddResult(connection=None, taken=True)
            return AddResult(connection=existing)
        record = await self.store.add(
            id=connection_id,
            tenant=tenant,
            provider=provider,
            account=account,
            name=name,
            origin=origin,
            state=state,
        )
        if record.tenant != tenant:
            # Another process connected the account under another tenant first.
            return AddResult(connection=None, taken=True)
        await self.refresh()
        return AddResult(connection=record, created=True)

    async def set_state(
        self, tenant: str, connection_id: str, state: ConnectionState
    ) -> ConnectionRecord | None:
        """Pause, resume or activate the tenant's connection; None for an unknown one."""
        record = await self.store.get(connection_id)
        if record is None or record.tenant != tenant or record.state is ConnectionState.REMOVED:
            return None
        updated = await self.store.set_state(connection_id, state)
        await self.refresh()
        return updated

    async def remove(self, tenant: str, connection_id: str, *, purge_orders: bool) -> int | None:
        """Remove the tenant's connection (and its orders when asked): the number of
        orders deleted, None for an unknown connection."""
        record = await self.store.get(connection_id)
        if record is None or record.tenant != tenant or record.state is ConnectionState.REMOVED:
            return None
        purged = await self.store.remove(connection_id, purge_orders=purge_orders)
        await self.refresh()
        return purged

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

    # --- following the store -----------------------------------------------------------

    async def refresh(self) -> None:
        """Apply every change made since the last refresh (here or elsewhere)."""
        async with self._lock:
            records, version = await self.store.changed_since(self._seen_version)
            for record in records:
                self._apply(record)
            self._seen_version = max(self._seen_version, version)

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every ``refresh_interval`` seconds until ``stop``."""
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception:
                # The store may be briefly unreachable; the next round catches up.
                logger.warning("reading connection changes failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.refresh_interval)

    def _apply(self, record: ConnectionRecord) -> None:
        before = self.registry.get(record.id)
        after: LiveConnection | None = None
        if record.state in (ConnectionState.ACTIVE, ConnectionState.PAUSED):
            if before is not None and before.record_version == record.version:
                return
            after = self._live(record, before)
        if before is None and after is None:
            return
        self.registry.replace(record.id, after)
        if before is not None and (after is None or after.provider is not before.provider):
            self._close_later(before)
        for listener in self._listeners:
            try:
                listener(before, after)
            except Exception:
                logger.exception("a connection listener failed for %s", record.id)

    def _live(self, record: ConnectionRecord, before: LiveConnection | None) -> LiveConnection | None:
        """The running form of a stored connection; None when its provider has no
        credentials in this process's settings (it cannot be served here)."""
        if record.origin is ConnectionOrigin.FILE:
            # The file's own entry, credentials and all (an old-style entry carries its
            # own key, which the store never holds).
            from_file = self.settings.connection(record.id)
            if from_file is None:
                return None
            settings = from_file
        else:
            settings = self._resolved(record)
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

    def _resolved(self, record: ConnectionRecord) -> ConnectionSettings | None:
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
            # Its provider's credentials are not in this process's settings: logged,
            # and the row stays (it is served again once they are back).
            logger.warning("connection %s cannot be served here: %s", record.id, exc)
            return None
