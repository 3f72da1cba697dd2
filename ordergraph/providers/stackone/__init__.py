"""StackOne adapter: the ATS assessments API (spec 2025-12-03, or 2025-02-24 for reads).

StackOne's flow is push-only: an order is created with ``POST …/assessments/orders``
and a result written with ``PATCH …/orders/{id}/result``. There is no order list and
no order webhook, so this adapter cannot list orders or receive webhooks.

Choices where PROVIDERS.md (section 2) says "not found" or "not verified":

- Auth: HTTP Basic with the API key as username and an empty password (StackOne's
  convention; the spec only says ``basic``). ``x-account-id`` carries the account.
- API version per connection (``ConnectionConfig.api_version``): ``2025-12-03`` (the
  current one, the default) has no order read; ``2025-02-24`` (legacy) has
  ``GET …/orders/{id}`` and ``GET …/orders/{id}/results``. The adapter never calls a
  route its version lacks: on the current version it does not claim ``GET_ORDERS`` and
  ``get_orders`` is an ``UnsupportedOperationError`` naming the connection, without a
  request. On the legacy version a 404 means the order is absent. The order itself
  has no status: it is ``OPEN`` until a result is written, then the result's status.
- Package pages are requested with ``page_size=50`` (default 25, maximum not found).
- Ids: the canonical ``remote_id`` of orders, packages, candidates, jobs and
  applications is StackOne's unified ``id`` (what its paths take), falling back to
  ``remote_id`` (the underlying system's id) when ``id`` is absent. Hiring-team
  members use ``user_id`` / ``remote_user_id`` the same way.
- Result status to ``result.value``: COMPLETED→completed, FAILED→failed,
  CANCELLED→cancelled, EXPIRED→expired, IN_PROGRESS→in_progress, OPEN→initiated.
  REJECTED (and UNKNOWN) have no StackOne word: they are sent as ``unmapped_value``
  with our name in ``source_value``; REJECTED is not ``failed`` because a rejected
  order is not a failed test.
- Read back, ``passed`` is COMPLETED. The word is the ``value``, or the ``source_value``
  when the value is ``unmapped_value`` or absent (the 2025-02 enum lacks
  ``initiated``/``in_progress``, so those arrive there): a StackOne word or one of our
  own status names (REJECTED, written as ``unmapped_value``) maps back; anything else
  is UNKNOWN, with ``provider_status`` keeping the word.
- Scores are strings on the wire: integral floats are written without ``.0``
  ("100"), others in plain decimal notation ("87.5"), never in exponent form.
- Attachments: MIME types map to ``text``/``pdf``/``video``, any other type to
  ``other``; the MIME type itself always goes in ``source_value``, and is what a read
  back reports (the word when no MIME type came back). StackOne has no attachment name,
  no result attributes, no candidate phone and no ``target_url``; those are not sent.
- Hiring-team roles: StackOne has one ``role`` string; several roles are joined with
  ", " when writing, and a role read back is one role.
- Absent values are omitted from requests rather than sent as ``null``: the spec is
  OpenAPI 3.1, where ``nullable: true`` does not admit ``null``.
- Error bodies ``{statusCode, message, timestamp}`` carry no error code of their own,
  so ``ErrorDetail.code`` is None and the error type's stable code applies. Their
  ``message`` names the field at fault in StackOne's words (``score.value``,
  ``attachments[0].url``); ``result_input_field`` maps those to the result input's.
- A listed package without ``id`` and ``remote_id`` (the spec allows it) cannot be
  ordered: it is left out with a WARNING, the rest of the list stands.
- A create answered without any id is a ``ProviderResponseError`` that says the order
  may exist at StackOne: the POST is not repeated (it could create the order twice).
"""

from __future__ import annotations

from ordergraph.providers.stackone.client import StackOneProvider
from ordergraph.providers.stackone.mapping import (
    order_to_canonical,
    package_to_canonical,
    parse_error,
    result_input_field,
    result_status,
    result_to_canonical,
)
from ordergraph.providers.stackone.to_wire import (
    attachment_to_wire,
    format_score,
    new_order_to_wire,
    result_to_wire,
)
from ordergraph.providers.stackone.wire import (
    API_VERSIONS,
    CURRENT_API_VERSION,
    LEGACY_API_VERSION,
    PACKAGE_PAGE_SIZE,
)

__all__ = [
    "API_VERSIONS",
    "CURRENT_API_VERSION",
    "LEGACY_API_VERSION",
    "PACKAGE_PAGE_SIZE",
    "StackOneProvider",
    "attachment_to_wire",
    "format_score",
    "new_order_to_wire",
    "order_to_canonical",
    "package_to_canonical",
    "parse_error",
    "result_input_field",
    "result_status",
    "result_to_canonical",
    "result_to_wire",
]
