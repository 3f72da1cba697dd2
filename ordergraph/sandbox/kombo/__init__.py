"""Kombo simulator: the Assessment & Background Check API of ``tests/specs/kombo-…json``.

Mounted at ``/kombo/v1`` (Kombo's servers end in ``/v1``). It answers to the vendor
spec, not to ordergraph's adapter: nothing here imports ``ordergraph.providers``.

What the spec and PROVIDERS.md section 3 leave open, and what this simulator does:

* Credentials: one sandbox Kombo customer, so one API key (derived from the seed) for
  every integration, sent as ``Authorization: Bearer <key>``; one webhook secret for
  the whole customer (Kombo's secret belongs to the environment, not the integration).
* HTTP status per error code (the spec only has a ``default`` response):
  ``PLATFORM.AUTHENTICATION_INVALID`` 401 (missing or wrong key, checked first);
  ``PLATFORM.INPUT_INVALID`` 400 (bad query, bad body, missing ``X-Integration-Id``,
  malformed cursor, a status change on a non-OPEN order) and 404 for an unknown
  order id (the enum has no generic not-found code); ``PLATFORM.INTEGRATION_NOT_FOUND``
  404 for an ``X-Integration-Id`` this customer does not have;
  ``PLATFORM.RATE_LIMIT_EXCEEDED`` 429; ``PLATFORM.TASK_TIMED_OUT`` 408;
  ``REMOTE.SERVICE_UNAVAILABLE`` 502/503/504; ``PLATFORM.UNKNOWN_ERROR`` other 5xx;
  an unknown path or method is 404/405 ``PLATFORM.INPUT_INVALID``. ``log_url`` is null.
* OPEN-only rule: a result ``PUT`` may change the order's status only while the order
  is OPEN. A ``PUT`` that keeps the current status (a retry, a corrected score) is
  accepted in any state, which keeps the write idempotent; one that would change a
  COMPLETED/CANCELLED/REJECTED order's status is a 400 ``PLATFORM.INPUT_INVALID``.
  ``completed_at`` is required when the result status is COMPLETED or CANCELLED.
* Bodies are validated strictly: unknown keys are refused (400) so a typo in a client
  shows up here instead of being silently dropped. An attachment needs exactly one of
  ``data_url``/``data``, and ``content_type`` when ``data`` is used.
* Pagination: ``next`` is an opaque base64url token naming the last order returned
  (no offset); filters are read from each request's query (clients resend them), and a
  cursor from another integration is a 400.
  Orders are kept in creation order with their (internal) creation time, so
  ``created_after`` is a binary search and a page costs O(page) plus skipped rows.
* Webhooks: ``assessment:order-received`` for each order created through the control
  API, signed in ``X-Kombo-Signature`` as base64url without padding of
  HMAC-SHA256(webhook secret, raw body) (unconfirmed by Kombo; see PROVIDERS.md 3.6).
  Status changes send nothing: Kombo has no such event, clients poll.
* Ground truth rows carry two extra keys: ``created_at`` (internal creation time, for
  checking ``created_after``) and, once written, ``result`` (the accepted PUT body).
* Null location parts are left out of ``job.location`` (all its keys are optional), so
  the same order validates both as a list item and as a webhook ``data``.
"""

from __future__ import annotations

from ordergraph.sandbox.kombo.simulator import KomboSimulator
from ordergraph.sandbox.kombo.wire import KomboApiError, sign

__all__ = ["KomboApiError", "KomboSimulator", "sign"]
