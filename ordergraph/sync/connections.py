"""The configured connections at run time: settings plus a live adapter each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ordergraph.models import ProviderName
from ordergraph.providers.base import BaseProvider, Capability
from ordergraph.providers.plugin import ProviderPlugin
from ordergraph.providers.registry import create_provider, plugin_of
from ordergraph.settings import ConnectionSettings

__all__ = ["ConnectionRegistry", "LiveConnection"]


@dataclass(frozen=True)
class LiveConnection:
    """One connection: who owns it (``settings.tenant``) and the adapter that serves it."""

    settings: ConnectionSettings
    provider: BaseProvider

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

    def of_tenant(self, tenant: str) -> list[LiveConnection]:
        return [c for c in self if c.tenant == tenant]

    def of_provider(self, provider: ProviderName) -> list[LiveConnection]:
        return [c for c in self if c.provider_name is provider]

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
