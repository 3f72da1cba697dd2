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


_CAPABILITY_LABELS: dict[Capability, str] = {
    Capability.LIST_ORDERS: "list orders (cursor pages, filters)",
    Capability.GET_ORDERS: "read orders by id",
    Capability.CREATE_ORDER: "create an order",
    Capability.SUBMIT_RESULT: "write a result back",
    Capability.LIST_PACKAGES: "list packages",
    Capability.PUBLISH_PACKAGES: "publish packages",
    Capability.RECEIVE_WEBHOOKS: "receive order webhooks (signed)",
    Capability.REGISTER_WEBHOOK: "register our webhook through the API",
}
_PROVIDER_LABELS = {
    ProviderName.UNIFIED: "Unified.to",
    ProviderName.STACKONE: "StackOne",
    ProviderName.KOMBO: "Kombo",
}


def render_capability_table() -> str:
    """The README's capability table, as Markdown."""
    table = capability_table()
    providers = list(ADAPTERS)
    lines = [
        "| operation | " + " | ".join(_PROVIDER_LABELS[p] for p in providers) + " |",
        "|---|" + "---|" * len(providers),
    ]
    for capability in Capability:
        marks = ["yes" if capability in table[p] else "no" for p in providers]
        lines.append(f"| {_CAPABILITY_LABELS[capability]} | " + " | ".join(marks) + " |")
    return "\n".join(lines)
