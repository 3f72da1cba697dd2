"""Webhook intake: ``POST /webhooks/unified/{connection}`` and ``POST /webhooks/kombo``.

A delivery is answered 2xx only after its orders are committed, so a provider retries
whatever we did not keep. Refusals say why without saying too much:

- 404 for an unknown connection (the same answer whether the id does not exist or
  belongs to another provider, so the endpoint reveals no connection ids);
- 413 for a body over the configured limit (read no further);
- 401 for a missing or wrong signature, 400 for a body that is not the vendor's shape;
- 503 when the store cannot take it right now (the vendor retries later).

Nothing is stored unless the signature verified and the whole delivery mapped.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from ordergraph.errors import ConfigError, WebhookError
from ordergraph.models import ProviderName
from ordergraph.providers.base import WebhookDelivery
from ordergraph.providers.kombo import webhook_integration_id
from ordergraph.store import EventSource, StoreError
from ordergraph.sync.connections import ConnectionRegistry, LiveConnection
from ordergraph.sync.ingest import Ingestor

__all__ = ["WebhookIntake", "read_limited_body"]

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


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
        self, connections: ConnectionRegistry, ingestor: Ingestor, *, max_body_bytes: int
    ) -> None:
        self.connections = connections
        self.ingestor = ingestor
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/webhooks/unified/{connection}", self.unified),
            web.post("/webhooks/kombo", self.kombo),
        ]

    async def _body(self, request: web.Request) -> bytes | web.Response:
        try:
            return await read_limited_body(request, self.max_body_bytes)
        except BodyTooLargeError:
            return _error(
                413, "BODY_TOO_LARGE", f"webhook body exceeds {self.max_body_bytes} bytes"
            )

    async def unified(self, request: web.Request) -> web.Response:
        connection = self.connections.get(request.match_info["connection"])
        if connection is None or connection.provider_name is not ProviderName.UNIFIED:
            return _error(404, "NOT_FOUND", "no such webhook endpoint")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        return await self._accept(connection, request, body)

    async def kombo(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        # Routing only: the integration id is trusted for nothing until the
        # connection's secret has verified the signature over the whole body.
        integration = webhook_integration_id(body)
        connection = (
            self.connections.by_account(ProviderName.KOMBO, integration) if integration else None
        )
        if connection is None:
            if integration is None:
                return _error(400, "BAD_PAYLOAD", "Kombo webhook names no integration")
            return _error(404, "NOT_FOUND", "no such webhook endpoint")
        return await self._accept(connection, request, body)

    async def _accept(
        self, connection: LiveConnection, request: web.Request, body: bytes
    ) -> web.Response:
        try:
            delivery = connection.provider.parse_webhook(request.headers, body)
        except WebhookError as exc:
            logger.warning(
                "refused %s webhook for %s: %s", connection.provider_name, connection.id, exc
            )
            code = "BAD_SIGNATURE" if exc.http_status == 401 else "BAD_PAYLOAD"
            return _error(exc.http_status, code, str(exc))
        except ConfigError:
            logger.error("connection %s has no webhook secret configured", connection.id)
            return _error(503, "NOT_CONFIGURED", "webhook endpoint is not configured")
        return await self._ingest(connection, delivery)

    async def _ingest(self, connection: LiveConnection, delivery: WebhookDelivery) -> web.Response:
        try:
            result = await self.ingestor.ingest(connection, delivery.orders, EventSource.WEBHOOK)
        except (StoreError, SQLAlchemyError, OSError):
            # Not acknowledged: the vendor keeps the delivery and retries.
            logger.exception("could not store a webhook delivery for %s", connection.id)
            return _error(503, "STORE_UNAVAILABLE", "could not store the delivery; retry later")
        payload: dict[str, Any] = {
            "status": "ok",
            "kind": delivery.kind,
            "orders": len(delivery.orders),
            "events": len(result.events),
        }
        return web.Response(
            text=json.dumps(payload, separators=(",", ":")), content_type="application/json"
        )
