"""Registering ordergraph's webhook with Unified.to, the vendor's way.

A Unified connection fills the index by webhook: on start we create the
``assessment_order`` subscriptions through Unified's ``/unified/webhook`` API with
``include_all`` (existing orders arrive as ``INITIAL-PARTIAL`` pages), pointing at
``<public url>/webhooks/unified/<connection id>``. The subscription ids and the URL
are kept in the connection's sync state, so a restart does not register again unless
the public URL changed. Connections whose subscription is managed by hand in
Unified's dashboard set ``manage_webhook = false``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from ordergraph.store import SyncState, SyncStateStore
from ordergraph.sync.connections import LiveConnection

__all__ = ["ensure_unified_webhook", "hook_url_for"]

logger = logging.getLogger(__name__)

_HOOK_URL = "webhook_hook_url"
_HOOK_IDS = "webhook_ids"


def hook_url_for(public_url: str, connection_id: str) -> str:
    return f"{public_url.rstrip('/')}/webhooks/unified/{connection_id}"


async def ensure_unified_webhook(
    connection: LiveConnection, sync_state: SyncStateStore, public_url: str
) -> str:
    """Register the connection's webhook unless already registered for this URL.

    Returns the subscription ids (comma-separated, as the adapter reports them).
    """
    hook_url = hook_url_for(public_url, connection.id)
    state = await sync_state.get(connection.id) or SyncState(connection_id=connection.id)
    if state.details.get(_HOOK_URL) == hook_url and state.details.get(_HOOK_IDS):
        return str(state.details[_HOOK_IDS])
    ids = await connection.provider.register_webhook(hook_url, include_all=True)
    details = {**state.details, _HOOK_URL: hook_url, _HOOK_IDS: ids}
    await sync_state.put(replace(state, details=details, last_error=None))
    logger.info("registered Unified webhook for %s", connection.id)
    return ids
