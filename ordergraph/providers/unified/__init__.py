"""Unified.to adapter: assessment orders, results, packages and webhooks.

Wire models (lenient: enums are plain strings, unknown fields ignored) and pure
mapping functions both ways live here; nothing outside this package sees Unified's
wire format (PROVIDERS.md sections 1, 4 and 5).

What PROVIDERS.md leaves unconfirmed, and what this adapter chose:

* **No list of orders** exists (1.2), so there is no ``LIST_ORDERS`` capability; orders
  arrive by webhook and are re-read with the SDK-only ``GET …/order/{id}`` (one
  request per id, at most ``max_concurrency`` at a time; a 404 leaves the id out).
* **workspace_id in request bodies**: the spec's ``AssessmentOrder`` requires
  ``workspace_id`` and ``connection_id`` even in PUT/PATCH/POST bodies. The adapter
  sends the connection id and the workspace id it has learned from any order, package
  or webhook it has read. When none has been read yet, ``submit_result`` first GETs the
  order (which also turns an unknown id into ``ProviderNotFoundError`` before the
  write) and ``create_order`` first GETs the package it orders. If Unified never
  tells us, the field is left out rather than invented.
* **Result write** is a PATCH (idempotent: it sets values) carrying ``status`` as well
  as ``response_status`` (same value): the order's lifecycle follows its result.
  ``summary`` goes to ``response_details`` as one ``{"title": "Summary", "text": …}``
  entry; attachment URLs go to ``response_download_urls``. ``min_score``,
  ``score_label`` and ``started_at`` have no Unified field and are not sent.
  Canonical statuses Unified cannot express (``CANCELLED``, ``EXPIRED``, ``UNKNOWN``)
  are refused with ``ProviderInputError`` before any request, never mapped to a guess.
* **Order status** is ``status``; when absent, ``response_status``; when both are
  absent, ``UNKNOWN``. An unknown string maps to ``UNKNOWN`` and is kept in
  ``provider_status``. Unknown attribute types read as ``TEXT``; an unknown package
  type reads as ``None``.
* **Webhooks**: ``register_webhook`` creates two subscriptions on the connection,
  ``event: "updated"`` first and then ``event: "created"`` (the latter with
  ``include_all``, so the backfill arrives once and no update falls between the two),
  both ``webhook_type: "virtual"``; it returns their ids comma-joined, created first.
* **Signature** ``sig`` = HMAC-SHA1(workspace secret, data + nonce) where ``data`` is
  re-serialized as compact JSON (``JSON.stringify`` of the array as sent); both a
  base64 and a hex digest are accepted (``signature_digest`` is the one place the
  serialization is decided). ``config.webhook_secret`` is the workspace secret.
* Package ``BEHAVIORAL_ASSESSMENT`` ↔ canonical ``BEHAVIORAL``; publishing a package
  without a name or type (both required by Unified) is skipped with a warning.
"""

from __future__ import annotations

from ordergraph.providers.unified.client import UnifiedProvider
from ordergraph.providers.unified.mapping import (
    order_to_canonical,
    package_to_canonical,
    status_to_canonical,
    status_to_wire,
)
from ordergraph.providers.unified.to_wire import (
    new_order_to_wire,
    package_to_wire,
    result_input_field,
    result_to_wire,
)
from ordergraph.providers.unified.webhooks import signature_digest, verify_signature
from ordergraph.providers.unified.wire import (
    UnifiedAddress,
    UnifiedAttribute,
    UnifiedDelivery,
    UnifiedOrder,
    UnifiedPackage,
    UnifiedResponseDetail,
    UnifiedWebhook,
)

__all__ = [
    "UnifiedAddress",
    "UnifiedAttribute",
    "UnifiedDelivery",
    "UnifiedOrder",
    "UnifiedPackage",
    "UnifiedProvider",
    "UnifiedResponseDetail",
    "UnifiedWebhook",
    "new_order_to_wire",
    "order_to_canonical",
    "package_to_canonical",
    "package_to_wire",
    "result_input_field",
    "result_to_wire",
    "signature_digest",
    "status_to_canonical",
    "status_to_wire",
    "verify_signature",
]
