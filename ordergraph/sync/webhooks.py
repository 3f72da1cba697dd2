"""Webhook intake: ``POST /webhooks/unified/{connection}`` and ``POST /webhooks/kombo``.

A delivery is answered 2xx only after its orders are committed, so a provider retries
whatever we did not keep. Refusals say why without saying too much:

- 404 for an unknown connection: one body, byte for byte, whether the id does not
  exist, belongs to another provider, or (Kombo) the integration is not configured;
  it names no connection. (A known connection answers a bad signature with 401, so a
  prober can tell an id exists: ids sit in the hook URLs vendors hold and guard
  nothing; the secrets do, and no answer carries one.)
- 413 for a body over the configured limit (read no further);
- 401 for a missing or wrong signature, 400 for a body that is not the vendor's shape;
- 503 when the store cannot take it right now (the vendor retries later).

Nothing is stored unless the signature verified and the whole delivery mapped.

Duplicates: a delivery's key (Unified ``nonce``, Kombo event ``id``, both covered by
the signature) is recorded as a receipt in the transaction that stores its orders.
A delivery whose receipt exists (a vendor re-sending what we took, or a replay) is
answered 200 ``{"status": "duplicate"}`` and not ingested again; a vendor's retry of
a delivery we never committed has no receipt and is ingested. Neither vendor signs a
delivery time, so there is no age check: receipts are kept for
``webhooks.replay_window`` (ordergraph/sync/receipt_pruner.py).

Every answer has a ``WebhookOutcome``; ``WebhookIntake.outcomes`` counts them and an
``on_outcome`` callback sees each one (the place for metrics).
"""

from __future__ import annotations

import enum
import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from ordergraph.errors import ConfigError, WebhookError
from ordergraph.models import ProviderName
from ordergraph.providers.base import WebhookDelivery
from ordergraph.providers.kombo import webhook_integration_id
from ordergraph.store import EventSource, StoreError, WebhookReceipt
from ordergraph.sync.connections import ConnectionRegistry, LiveConnection
from ordergraph.sync.ingest import Ingestor

__all__ = [
    "WEBHOOK_INTAKE",
    "OutcomeObserver",
    "WebhookIntake",
    "WebhookOutcome",
    "read_limited_body",
]

logger = logging.getLogger(__name__)


class WebhookOutcome(enum.Enum):
    """How the intake answered one delivery."""

    ACCEPTED = "accepted"  # 200: stored (possibly changing nothing)
    DUPLICATE = "duplicate"  # 200: taken before, not ingested again
    NOT_FOUND = "not_found"  # 404: no such endpoint (unknown or other-provider connection)
    TOO_LARGE = "too_large"  # 413
    BAD_SIGNATURE = "bad_signature"  # 401
    BAD_PAYLOAD = "bad_payload"  # 400
    NOT_CONFIGURED = "not_configured"  # 503: the connection has no webhook secret
    STORE_UNAVAILABLE = "store_unavailable"  # 503: the vendor retries later


# Called with the provider whose endpoint was hit and the outcome, after each answer.
OutcomeObserver = Callable[[ProviderName, WebhookOutcome], None]

# One body for every unknown endpoint, whatever id was asked for: it names no
# connection, so probing ids learns nothing from the text.
_NOT_FOUND_MESSAGE = "no such webhook endpoint"


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _not_found() -> web.Response:
    return _error(404, "NOT_FOUND", _NOT_FOUND_MESSAGE)


def _receipt(connection: LiveConnection, delivery: WebhookDelivery) -> WebhookReceipt | None:
    """The delivery's identity: Kombo's event id, else Unified's nonce (both signed)."""
    key = delivery.event_id or delivery.nonce
    # An empty nonce names no delivery; such a delivery is ingested (idempotently) but
    # cannot be recognised again.
    return WebhookReceipt(connection.id, key) if key else None


def _printable(key: str) -> str:
    """A vendor key for a log line: bounded, and quoted so it cannot forge lines."""
    return repr(key[:64])


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


class WebhookIntake:
    """The webhook endpoints of one server."""

    def __init__(
        self,
        connections: ConnectionRegistry,
        ingestor: Ingestor,
        *,
        max_body_bytes: int,
        on_outcome: OutcomeObserver | None = None,
    ) -> None:
        self.connections = connections
        self.ingestor = ingestor
        self.max_body_bytes = max_body_bytes
        self.on_outcome = on_outcome
        # Answers given since start, by outcome (duplicates included).
        self.outcomes: Counter[WebhookOutcome] = Counter()

    def _answer(
        self, provider: ProviderName, outcome: WebhookOutcome, response: web.Response
    ) -> web.Response:
        self.outcomes[outcome] += 1
        if self.on_outcome is not None:
            self.on_outcome(provider, outcome)
        return response

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/webhooks/unified/{connection}", self.unified),
            web.post("/webhooks/kombo", self.kombo),
        ]

    async def _body(self, request: web.Request) -> bytes | None:
        try:
            return await read_limited_body(request, self.max_body_bytes)
        except BodyTooLargeError:
            return None

    def _too_large(self, provider: ProviderName) -> web.Response:
        message = f"webhook body exceeds {self.max_body_bytes} bytes"
        return self._answer(
            provider, WebhookOutcome.TOO_LARGE, _error(413, "BODY_TOO_LARGE", message)
        )

    async def unified(self, request: web.Request) -> web.Response:
        provider = ProviderName.UNIFIED
        connection = self.connections.get(request.match_info["connection"])
        # A connection of another provider is as unknown here as a missing one.
        if connection is None or connection.provider_name is not provider:
            return self._answer(provider, WebhookOutcome.NOT_FOUND, _not_found())
        body = await self._body(request)
        if body is None:
            return self._too_large(provider)
        return await self._accept(connection, request, body)

    async def kombo(self, request: web.Request) -> web.Response:
        provider = ProviderName.KOMBO
        body = await self._body(request)
        if body is None:
            return self._too_large(provider)
        # Routing only: the integration id is trusted for nothing until the
        # connection's secret has verified the signature over the whole body.
        integration = webhook_integration_id(body)
        if integration is None:
            return self._answer(
                provider,
                WebhookOutcome.BAD_PAYLOAD,
                _error(400, "BAD_PAYLOAD", "Kombo webhook names no integration"),
            )
        connection = self.connections.by_account(provider, integration)
        if connection is None:
            return self._answer(provider, WebhookOutcome.NOT_FOUND, _not_found())
        return await self._accept(connection, request, body)

    async def _accept(
        self, connection: LiveConnection, request: web.Request, body: bytes
    ) -> web.Response:
        provider = connection.provider_name
        try:
            delivery = connection.provider.parse_webhook(request.headers, body)
        except WebhookError as exc:
            logger.warning("refused %s webhook for %s: %s", provider, connection.id, exc)
            if exc.http_status == 401:
                outcome, code = WebhookOutcome.BAD_SIGNATURE, "BAD_SIGNATURE"
            else:
                outcome, code = WebhookOutcome.BAD_PAYLOAD, "BAD_PAYLOAD"
            return self._answer(provider, outcome, _error(exc.http_status, code, str(exc)))
        except ConfigError:
            logger.error("connection %s has no webhook secret configured", connection.id)
            return self._answer(
                provider,
                WebhookOutcome.NOT_CONFIGURED,
                _error(503, "NOT_CONFIGURED", "webhook endpoint is not configured"),
            )
        return await self._ingest(connection, delivery)

    async def _ingest(self, connection: LiveConnection, delivery: WebhookDelivery) -> web.Response:
        provider = connection.provider_name
        receipt = _receipt(connection, delivery)
        try:
            result = await self.ingestor.ingest(
                connection, delivery.orders, EventSource.WEBHOOK, receipt=receipt
            )
        except (StoreError, SQLAlchemyError, OSError):
            # Not acknowledged: the vendor keeps the delivery and retries.
            logger.exception("could not store a webhook delivery for %s", connection.id)
            return self._answer(
                provider,
                WebhookOutcome.STORE_UNAVAILABLE,
                _error(503, "STORE_UNAVAILABLE", "could not store the delivery; retry later"),
            )
        if result.duplicate:
            # Answered 2xx so the vendor stops re-sending: we have this delivery already.
            logger.info(
                "duplicate %s webhook for %s ignored (%s, key %s)",
                provider,
                connection.id,
                delivery.kind,
                _printable(receipt.key if receipt else ""),
            )
            outcome, status = WebhookOutcome.DUPLICATE, "duplicate"
        else:
            outcome, status = WebhookOutcome.ACCEPTED, "ok"
        payload: dict[str, Any] = {
            "status": status,
            "kind": delivery.kind,
            "orders": len(delivery.orders),
            "events": len(result.events),
        }
        return self._answer(
            provider,
            outcome,
            web.Response(
                text=json.dumps(payload, separators=(",", ":")), content_type="application/json"
            ),
        )


# The application's intake (its ``outcomes`` and ``on_outcome`` are the metrics hook).
WEBHOOK_INTAKE = web.AppKey("webhook_intake", WebhookIntake)
