"""Kombo adapter: the Assessment & Background Check API (PROVIDERS.md section 3).

One adapter object serves one Kombo integration (``X-Integration-Id`` = the
connection's ``account``). Wire models (``wire``) never leave this package; the
mapping functions (``mapping``, ``to_wire``) are pure so they are tested without HTTP;
``webhooks`` verifies deliveries, ``client`` is the adapter and ``plugin`` declares
what the rest of ordergraph acts on.

What PROVIDERS.md leaves unconfirmed, and what this adapter does:

* Errors: branch on Kombo's ``error.code``, not only on the HTTP status.
  ``PLATFORM.INTEGRATION_NOT_FOUND`` and ``PLATFORM.AUTHENTICATION_INVALID`` are a
  ``ProviderAuthError`` whatever the status (the account header or key is wrong;
  a 404 there must not read as "this order does not exist").
* Status filter: Kombo can only filter on OPEN/COMPLETED/CANCELLED/REJECTED. Other
  canonical statuses are dropped from the filter, since no Kombo order can be in them;
  when nothing is left, ``list_orders`` returns an empty last page without a request.
  An empty ``statuses`` means "all", like Kombo's own empty filter.
* ``created_after``: sent as ``YYYY-MM-DDTHH:mm:ss.sssZ`` in UTC; a naive datetime is
  taken to be UTC.
* Results: canonical status -> Kombo result status: OPEN/IN_PROGRESS -> OPEN,
  COMPLETED/FAILED -> COMPLETED (the candidate finished; failing is an outcome),
  CANCELLED/REJECTED/EXPIRED -> CANCELLED; UNKNOWN is a ``ValueError`` before sending.
  When Kombo's word loses information (IN_PROGRESS, FAILED, REJECTED, EXPIRED) a TEXT
  attribute ``Status`` carries the canonical one. ``completed_at`` is the submission's,
  or now for COMPLETED/CANCELLED (Kombo needs it in practice). ``summary`` becomes a
  TEXT attribute ``Summary``; ``score_label`` goes to ``remote_fields.smartrecruiters.
  scoreLabel``; ``min_score`` and ``started_at`` have no Kombo field and are dropped.
  NUMBER attributes are sent as TEXT; a SUB_RESULT needs a score and a max >= 1 (else
  it is sent as TEXT) and uses ``reference`` (or the label) as its id. Attachments are
  sent as ``data_url``; more than five is a ``ValueError`` (Kombo's limit).
  ``result_url`` and each ``data_url`` must be absolute URIs (the spec's ``format:
  uri``): anything else is a ``ValueError`` naming the field, before any request.
* Refusals name Kombo's own field paths (``result_url``, ``attachments.0.data_url``,
  ``status`` ...) in ``error.message``; ``result_input_field`` maps them back to the
  result input's fields.
* Packages: Kombo has no OTHER type; publishing a package whose type is OTHER or None
  (or without a name) is a ``ValueError``; an unknown type read back maps to OTHER.
* Webhooks: ``X-Kombo-Signature`` is verified as HMAC-SHA256(webhook secret, raw body),
  base64url with or without padding, compared in constant time, on the raw bytes
  before any parse (``signature_matches``; the intake tries each configured secret).
  No secret configured is a ``ConfigError`` (our mistake, not the sender's). A
  verified event for another integration than this connection's is a
  ``WebhookPayloadError``; event types that carry no order are accepted as a delivery
  without orders.
"""

from __future__ import annotations

from ordergraph.providers.kombo.client import KomboProvider
from ordergraph.providers.kombo.mapping import (
    format_datetime,
    order_to_canonical,
    package_to_canonical,
    status_filter,
    status_to_canonical,
)
from ordergraph.providers.kombo.to_wire import package_to_wire, result_input_field, result_to_wire
from ordergraph.providers.kombo.webhooks import (
    signature_matches,
    verify_signature,
    webhook_integration_id,
)
from ordergraph.providers.kombo.wire import KomboOrder, KomboPackage

__all__ = [
    "KomboOrder",
    "KomboPackage",
    "KomboProvider",
    "format_datetime",
    "order_to_canonical",
    "package_to_canonical",
    "package_to_wire",
    "result_input_field",
    "result_to_wire",
    "signature_matches",
    "status_filter",
    "status_to_canonical",
    "verify_signature",
    "webhook_integration_id",
]
