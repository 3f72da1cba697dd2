"""Registering ordergraph's webhook through a provider's own API, where its plug-in
says so (``Capability.REGISTER_WEBHOOK``: Unified.to today).

Such a connection fills the index by webhook: on start the adapter subscribes
(``register_webhook``, with ``include_all`` so existing orders arrive too), pointing at
``<public url>`` + the plug-in's webhook route for this connection (Unified:
``/webhooks/unified/<connection id>``). The subscription ids and the URL are kept in
the connection's sync state, so a restart does not register again unless the public
URL changed. Connections whose subscription is managed by hand in the vendor's
dashboard set ``manage_webhook = false``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from ordergraph.store import SyncState, SyncStateStore
from ordergraph.sync.connections import LiveConnection

__all__ = ["ensure_webhook", "hook_url_for"]

logger = logging.getLogger(__name__)

_HOOK_URL = "webhook_hook_url"
_HOOK_IDS = "webhook_ids"


def hook_url_for(public_url: str, connection: LiveConnection) -> str:
    """Where the connection's provider is to deliver: its plug-in's route, public."""
    route = connection.plugin.webhooks
    if route is None:
        msg = f"{connection.plugin.label} declares no webhook route"
        raise ValueError(msg)
    return public_url.rstrip("/") + route.path_for(connection.id)


async def ensure_webhook(
    connection: LiveConnection, sync_state: SyncStateStore, public_url: str
) -> str:
    """Register the connection's webhook unless already registered for this URL.

    Returns the subscription ids (comma-separated, as the adapter reports them).
    """
    hook_url = hook_url_for(public_url, connection)
    state = await sync_state.get(connection.id) or SyncState(connection_id=connection.id)
    if state.details.get(_HOOK_URL) == hook_url and state.details.get(_HOOK_IDS):
        return str(state.details[_HOOK_IDS])
    ids = await connection.provider.register_webhook(hook_url, include_all=True)
    details = {**state.details, _HOOK_URL: hook_url, _HOOK_IDS: ids}
    await sync_state.put(replace(state, details=details, last_error=None))
    logger.info("registered the %s webhook of %s", connection.plugin.label, connection.id)
    return ids
