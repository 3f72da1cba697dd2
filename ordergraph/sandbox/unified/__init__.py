"""Unified.to simulator: assessment orders, packages, webhook subscriptions, connections.

Answers to ``tests/specs/unified-assessment-openapi.trimmed.yaml`` (PROVIDERS.md
section 1). Paths are relative to the mount ``/unified``, so the vendor's
``/unified/webhook`` is served at ``/unified/unified/webhook`` in the sandbox.

What PROVIDERS.md leaves unconfirmed, and what this simulator chose:

* **Error body** (the spec declares none): every error, including 401, 404 and
  injected faults, is ``{"error": "<HTTP reason phrase>", "message": "<detail>"}``.
* **Auth**: one workspace API token for the whole sandbox (derived from
  ``context.seed``), sent as ``Authorization: Bearer <token>``; missing or wrong → 401.
  An unknown ``{connection_id}`` → 404 ``Connection not found`` (the token is valid,
  the object is not there).
* **Order GET and POST** (``GET/POST /assessment/{connection_id}/order[/{id}]``) are in
  Unified's SDK only, not in the saved spec (PROVIDERS.md 1.2); they are served here
  with ``AssessmentOrder`` bodies like the spec's PUT/PATCH. There is no order list.
* **PUT vs PATCH** on an order: PATCH merges the given fields; PUT replaces the
  vendor-owned result (every ``response_*`` field absent from the body is cleared) and
  sets the other given fields. ``id``, ``workspace_id``, ``connection_id``,
  ``webhook_id`` and the timestamps are read-only and ignored. Unknown fields or
  wrong types → 400. The ``fields`` and ``raw`` query parameters are accepted and
  ignored.
* **Package list**: ``limit`` defaults to 100; the answer is a bare array and a page
  shorter than ``limit`` is the end.
* **Webhook delivery**: ``{"data", "webhook", "nonce", "sig", "type"}``;
  ``sig = base64(HMAC-SHA1(workspace secret, compact_json(data) + nonce))`` where
  ``compact_json`` is ``json.dumps(data, separators=(",", ":"), ensure_ascii=False)``
  (``JSON.stringify`` of the array as sent) — see ``webhook_signature``, the only
  place this is decided. Each delivered order carries ``webhook_id``.
* **include_all backfill** runs in a background task after the POST answered (as
  Unified does): pages of ``page_max_limit`` (default 100) orders as
  ``INITIAL-PARTIAL``, then one ``INITIAL-COMPLETE`` with an empty ``data`` array.
  Tests wait for it with ``await simulator.drain()`` or for the INITIAL-COMPLETE.
* **Live deliveries**: new orders → ``VIRTUAL`` (``NATIVE`` for native webhooks) to
  ``event: created`` webhooks; status changes and result writes → the same to
  ``event: updated`` webhooks. Control-API changes (``create_orders``,
  ``set_status``) await the first delivery attempt; API writes deliver in the
  background. Paused webhooks are skipped; ``…/trigger`` delivers what they missed.
* Only ``object_type: assessment_order`` subscriptions are accepted (400 otherwise),
  and every subscription needs a ``hook_url``.
* Webhook PUT and PATCH both merge the given writable fields.
* Seeded orders never use ``CANCELLED`` (Unified has no such status); COMPLETED and
  FAILED ones carry a result in the ``response_*`` fields.

Nothing here imports ``ordergraph.providers``.
"""

from ordergraph.sandbox.unified.simulator import UnifiedSimulator
from ordergraph.sandbox.unified.wire import ORDER_STATUSES, compact_json, webhook_signature

__all__ = ["ORDER_STATUSES", "UnifiedSimulator", "compact_json", "webhook_signature"]
