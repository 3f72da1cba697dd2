"""The configured connections at run time: settings plus a live adapter each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ordergraph.models import ProviderName
from ordergraph.providers.base import BaseProvider, Capability
from ordergraph.providers.plugin import ProviderPlugin
from ordergraph.providers.registry import create_provider, plugin_of
from ordergraph.settings import ConnectionSettings
from ordergraph.store.connections import ConnectionOrigin, ConnectionState

__all__ = ["ConnectionRegistry", "LiveConnection"]


@dataclass(frozen=True)
class LiveConnection:
    """One connection: who owns it (``settings.tenant``) and the adapter that serves it."""

    settings: ConnectionSettings
    provider: BaseProvider
    state: ConnectionState = ConnectionState.ACTIVE
    origin: ConnectionOrigin = ConnectionOrigin.FILE
    name: str | None = None
    # The store row's change version this was built from (0: from the settings file
    # before the store was read), so an unchanged row is not rebuilt.
    record_version: int = 0

    @property
    def syncing(self) -> bool:
        """Whether its pollers and webhook intake run (a paused connection's do not)."""
        return self.state is ConnectionState.ACTIVE

    @property
    def id(self) -> str:
        return self.settings.id

    @property
    def tenant(self) -> str:
        return self.settings.tenant

    @property
    def provider_name(self) -> ProviderName:
        return self.settings.provider

    @property
    def plugin(self) -> ProviderPlugin:
        """What the connection's provider declares (routes, polling, costs)."""
        return plugin_of(self.settings.provider)


class ConnectionRegistry:
    """Lookup of live connections by id, by provider account and by tenant."""

    def __init__(self, connections: Sequence[LiveConnection]) -> None:
        self._by_id = {c.id: c for c in connections}
        # Every GraphQL request asks for its tenant's connections (the cost limit):
        # indexed once per change, not a scan of every tenant's per request.
        self._by_tenant: dict[str, tuple[LiveConnection, ...]] | None = None

    @classmethod
    def from_settings(cls, settings: Sequence[ConnectionSettings]) -> ConnectionRegistry:
        return cls([LiveConnection(s, create_provider(s.adapter_config())) for s in settings])

    def __iter__(self) -> Iterator[LiveConnection]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, connection_id: str) -> LiveConnection | None:
        return self._by_id.get(connection_id)

    def by_account(self, provider: ProviderName, account: str) -> LiveConnection | None:
        return next(
            (c for c in self if c.provider_name is provider and c.settings.account == account),
            None,
        )

    def of_tenant(self, tenant: str) -> tuple[LiveConnection, ...]:
        """The tenant's connections; the same tuple until the registry changes."""
        by_tenant = self._by_tenant
        if by_tenant is None:
            grouped: dict[str, list[LiveConnection]] = {}
            for connection in self:
                grouped.setdefault(connection.tenant, []).append(connection)
            by_tenant = {name: tuple(group) for name, group in grouped.items()}
            self._by_tenant = by_tenant
        return by_tenant.get(tenant, ())

    def of_provider(self, provider: ProviderName) -> list[LiveConnection]:
        return [c for c in self if c.provider_name is provider]

    def replace(self, connection_id: str, connection: LiveConnection | None) -> None:
        """Put ``connection`` under its id (None: drop the id). The previous adapter's
        client is closed by whoever replaced it, once its requests are done."""
        if connection is None:
            self._by_id.pop(connection_id, None)
        else:
            self._by_id[connection_id] = connection
        self._by_tenant = None

    def polled(self) -> list[LiveConnection]:
        """The connections whose provider's plug-in declares polling."""
        return [c for c in self if c.plugin.polling is not None]

    def with_capability(self, capability: Capability) -> list[LiveConnection]:
        """The connections whose adapter can do ``capability`` (as configured: a
        connection's API version may take a capability of its provider away)."""
        return [c for c in self if c.provider.supports(capability)]

    async def close(self) -> None:
        for connection in self:
            await connection.provider.close()
