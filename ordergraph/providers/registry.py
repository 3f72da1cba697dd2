"""The one list of provider plug-ins, and building an adapter from a connection's config.

Adding a provider adds its line to ``PLUGINS`` (and its ``ProviderName``); nothing
else outside its package names it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ordergraph.models import ProviderName
from ordergraph.providers.base import BaseProvider, Capability, ConnectionConfig
from ordergraph.providers.kombo.plugin import PLUGIN as KOMBO
from ordergraph.providers.plugin import ProviderPlugin
from ordergraph.providers.stackone.plugin import PLUGIN as STACKONE
from ordergraph.providers.unified.plugin import PLUGIN as UNIFIED

__all__ = [
    "ADAPTERS",
    "PLUGINS",
    "capability_table",
    "create_provider",
    "plugin_of",
    "render_capability_table",
]

PLUGINS: tuple[ProviderPlugin, ...] = (UNIFIED, STACKONE, KOMBO)
"""Every provider, in the order tables and routes list them."""

_BY_NAME: Mapping[ProviderName, ProviderPlugin] = {plugin.name: plugin for plugin in PLUGINS}

ADAPTERS: Mapping[ProviderName, type[BaseProvider]] = {
    plugin.name: plugin.adapter for plugin in PLUGINS
}


def plugin_of(name: ProviderName) -> ProviderPlugin:
    """The plug-in of a provider (every ``ProviderName`` has one: checked by the tests)."""
    return _BY_NAME[name]


def create_provider(config: ConnectionConfig) -> BaseProvider:
    """The adapter for one connection."""
    return plugin_of(config.provider).adapter(config)


def capability_table() -> dict[ProviderName, frozenset[Capability]]:
    """What each provider's adapter can do (the README's table is checked against this)."""
    return {plugin.name: plugin.capabilities for plugin in PLUGINS}


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


def render_capability_table() -> str:
    """The README's capability table, as Markdown."""
    lines = [
        "| operation | " + " | ".join(plugin.label for plugin in PLUGINS) + " |",
        "|---|" + "---|" * len(PLUGINS),
    ]
    for capability in Capability:
        marks = ["yes" if capability in plugin.capabilities else "no" for plugin in PLUGINS]
        lines.append(f"| {_CAPABILITY_LABELS[capability]} | " + " | ".join(marks) + " |")
    return "\n".join(lines)
