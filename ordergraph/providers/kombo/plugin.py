"""Kombo as a plug-in: one shared webhook route signed on the raw body, and polling.

Kombo is the one provider that lists orders, so its connections are polled (status
checks by ``ids`` batches of up to 250); its webhooks all arrive on one route and name
their integration inside the body, which is read only once a secret verified it.
"""

from __future__ import annotations

from ordergraph.models import ProviderName
from ordergraph.providers.connect import ConnectLinks
from ordergraph.providers.kombo.client import KomboProvider
from ordergraph.providers.kombo.connect import account_event, create_link
from ordergraph.providers.kombo.webhooks import (
    SIGNATURE_HEADER,
    signature_matches,
    webhook_integration_id,
)
from ordergraph.providers.kombo.wire import MAX_PAGE_SIZE
from ordergraph.providers.plugin import (
    Polling,
    ProviderPlugin,
    RawBodySignature,
    ReadCost,
    WebhookRoute,
)

__all__ = ["PLUGIN"]

PLUGIN = ProviderPlugin(
    name=ProviderName.KOMBO,
    label="Kombo",
    adapter=KomboProvider,
    # get_orders reads up to 250 ids with one GET /assessment/orders?ids=...
    read_cost=ReadCost(calls=1, ids_per_call=MAX_PAGE_SIZE),
    webhooks=WebhookRoute(
        route="/webhooks/kombo",
        raw_signature=RawBodySignature(
            header=SIGNATURE_HEADER,
            matches=signature_matches,
            account_of=webhook_integration_id,
        ),
    ),
    polling=Polling(interval=60.0, id_batch=MAX_PAGE_SIZE),
    # create-link, then the integration-* webhooks on the shared route.
    connect=ConnectLinks(create=create_link),
    account_events=account_event,
)
