"""Reading a webhook body off the wire: which connection's secret signed it, its
bounds, and where the work runs (ordergraph/sync/webhooks.py decides the answers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from ordergraph.providers.base import WebhookDelivery
from ordergraph.providers.connect import AccountEvent
from ordergraph.providers.plugin import ProviderPlugin, RawBodySignature
from ordergraph.sync.bounded_json import check_nesting
from ordergraph.sync.connections import LiveConnection

__all__ = [
    "OFF_LOOP_BYTES",
    "BodyTooLargeError",
    "account_of",
    "off_loop",
    "read_delivery",
    "read_limited_body",
    "verified_by",
]

_T = TypeVar("_T")
# Bodies from this size on are read (parsed, verified, mapped) in a worker thread.
OFF_LOOP_BYTES = 64 * 1024


class BodyTooLargeError(Exception):
    pass


async def read_limited_body(request: web.Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without buffering them."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLargeError
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLargeError
    return bytes(body)


async def off_loop(body: bytes, work: Callable[..., _T], *args: Any) -> _T:
    """``work(*args)``, in a worker thread when ``body`` is large: parsing, hashing and
    re-serialising a body of megabytes would stall every other request for as long.
    (The GIL still serialises Python code, but the loop gets its turn every switch
    interval instead of waiting for the whole body.) Small bodies stay on the loop,
    where a thread hop would cost more than the work."""
    if len(body) < OFF_LOOP_BYTES:
        return work(*args)
    return await asyncio.to_thread(work, *args)


def account_of(scheme: RawBodySignature, body: bytes) -> str | None:
    """The account a verified body names (a shared route's routing key); its nesting
    bounded first."""
    check_nesting(body)
    return scheme.account_of(body)


def read_account_event(plugin: ProviderPlugin, body: bytes) -> AccountEvent | None:
    """The account news a verified body carries (None: it is not account news), its
    nesting bounded first."""
    if plugin.account_events is None:
        return None
    check_nesting(body)
    return plugin.account_events(body)


def read_delivery(
    connection: LiveConnection, headers: Mapping[str, str], body: bytes
) -> WebhookDelivery:
    """Verify and map a delivery through its adapter, nesting bounded before any parse
    (a per-connection route's vendor may need to parse before it can verify; a shared
    route's body was verified on its bytes already)."""
    check_nesting(body)
    return connection.provider.parse_webhook(headers, body)


def verified_by(
    scheme: RawBodySignature,
    candidates: list[LiveConnection],
    body: bytes,
    signature: str | None,
) -> list[LiveConnection]:
    """The connections whose webhook secret signed the raw ``body``: one check per
    distinct secret (the connections of one vendor workspace share theirs)."""
    if not signature:
        return []
    by_secret: dict[str, list[LiveConnection]] = {}
    for connection in candidates:
        secret = connection.settings.webhook_secret
        if secret is not None:
            by_secret.setdefault(secret.get_secret_value(), []).append(connection)
    return [
        connection
        for secret, connections in by_secret.items()
        if scheme.matches(secret, body, signature)
        for connection in connections
    ]
