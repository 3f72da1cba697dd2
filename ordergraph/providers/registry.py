"""Which adapter class serves which provider, and building one from a connection's config."""

from __future__ import annotations

from ordergraph.models import ProviderName
from ordergraph.providers.base import BaseProvider, Capability, ConnectionConfig
from ordergraph.providers.kombo import KomboProvider
from ordergraph.providers.stackone import StackOneProvider
from ordergraph.providers.unified import UnifiedProvider

__all__ = ["ADAPTERS", "capability_table", "create_provider"]

ADAPTERS: dict[ProviderName, type[BaseProvider]] = {
    ProviderName.UNIFIED: UnifiedProvider,
    ProviderName.STACKONE: StackOneProvider,
    ProviderName.KOMBO: KomboProvider,
}


def create_provider(config: ConnectionConfig) -> BaseProvider:
    """The adapter for one connection."""
    return ADAPTERS[config.provider](config)


def capability_table() -> dict[ProviderName, frozenset[Capability]]:
    """What each provider's adapter can do (the README's table is checked against this)."""
    return {name: adapter.capabilities for name, adapter in ADAPTERS.items()}
