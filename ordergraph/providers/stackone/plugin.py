"""StackOne as a plug-in: no order list and no order webhook, two API versions.

An order exists once ordergraph creates it; reading one back (legacy API version
only) costs two requests per id: the order, then its result.
"""

from __future__ import annotations

from ordergraph.models import ProviderName
from ordergraph.providers.plugin import ProviderPlugin, ReadCost
from ordergraph.providers.stackone.client import StackOneProvider
from ordergraph.providers.stackone.wire import API_VERSIONS, CURRENT_API_VERSION

__all__ = ["PLUGIN"]

PLUGIN = ProviderPlugin(
    name=ProviderName.STACKONE,
    label="StackOne",
    adapter=StackOneProvider,
    read_cost=ReadCost(calls=2, ids_per_call=1),
    api_versions=API_VERSIONS,
    default_api_version=CURRENT_API_VERSION,
)
