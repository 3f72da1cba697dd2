"""Unified.to as a plug-in: a webhook route per connection, registered through its API.

Unified signs the parsed ``data`` (``JSON.stringify(data) + nonce``), so the route
names the connection whose secret verifies the delivery; ordergraph registers that
URL through Unified's ``/unified/webhook`` unless a connection's is managed by hand.
Orders are read back one request per id.
"""

from __future__ import annotations

from ordergraph.models import ProviderName
from ordergraph.providers.connect import ConnectLinks
from ordergraph.providers.plugin import ProviderPlugin, ReadCost, WebhookRoute
from ordergraph.providers.unified.client import UnifiedProvider
from ordergraph.providers.unified.connect import connection_external_xref, create_link

__all__ = ["PLUGIN"]

PLUGIN = ProviderPlugin(
    name=ProviderName.UNIFIED,
    label="Unified.to",
    adapter=UnifiedProvider,
    read_cost=ReadCost(calls=1, ids_per_call=1),
    webhooks=WebhookRoute(route="/webhooks/unified/{connection}"),
    # The authorization URL; the browser comes back to our callback with the new
    # connection's id, whose external_xref names the tenant the link was made for.
    connect=ConnectLinks(create=create_link, callback_owner=connection_external_xref),
)
