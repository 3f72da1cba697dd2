"""Webhook intake: one route per provider whose plug-in declares one (today
``POST /webhooks/unified/{connection}`` and ``POST /webhooks/kombo``).

Two route shapes (``WebhookRoute``): a route that names its connection, whose
adapter verifies the delivery with that connection's secret; and one route shared by
all of a provider's connections, whose raw-body signature is checked against each
distinct secret before the verified body is read for the account that picks the
connection.

A delivery is answered 2xx only after its orders are committed, so a provider retries
whatever we did not keep. Refusals say why without saying too much:

- 404 for an unknown connection: one body, byte for byte, whether the id does not
  exist, belongs to another provider, or (Kombo) a verified delivery names an
  integration that is not configured; it names no connection. (A known connection
  answers a bad signature with 401, so a prober can tell an id exists: ids sit in the
  hook URLs vendors hold and guard nothing; the secrets do, and no answer carries one.)
- 413 for a body over the configured limit (read no further);
- 401 for a missing or wrong signature, 400 for a body that is not the vendor's shape
  (not UTF-8 JSON, nested deeper than ``bounded_json.MAX_NESTING``, unbalanced);
- 503 when the store, or the provider asked to confirm a status, cannot answer right
  now (the vendor retries later), or when the connection has no webhook secret (ours
  to fix; for Kombo only once another connection's secret verified the body);
- 503 ``PAUSED`` (with ``Retry-After``) for a verified delivery to a paused connection:
  nothing is stored, the vendor keeps retrying, and resuming the connection re-reads
  what it holds (a first poll walk, a webhook registration with ``include_all``), so
  what arrived meanwhile is not lost. A removed connection is unknown (404).

Whatever the body (size, nesting, encoding), the answer is a 2xx or a 4xx with a short
JSON error, and a refusal logs one WARNING line without a traceback.

Verify before parsing, wherever the vendor's scheme allows it. Kombo signs the raw
body, so its signature is checked on the bytes before any JSON parse: the delivery
names its integration only inside the body, so the body is checked against each
distinct webhook secret of the Kombo connections (one HMAC per secret, usually one),
and only a verified body is parsed to pick the connection. Unified signs the parsed
``data`` (``JSON.stringify(data) + nonce``), so its body must be parsed first: it is
bounded in size (``max_body_bytes``) and its nesting depth is checked by a linear scan
of the bytes before ``json.loads`` (``ordergraph/sync/bounded_json.py``).

Nothing is stored unless the signature verified and the whole delivery mapped.

Old news: a verified delivery is still a claim about the past (a vendor's late retry,
or a captured delivery replayed once its receipt was pruned). A status is applied
only when it is newer than the index's: Unified orders carry ``updated_at`` and an
older one is skipped as stale; an order without a time (Kombo) whose delivery would
change the stored status is read back from the provider and what the provider says
now is ingested instead (``ordergraph/sync/confirm.py``).

Duplicates: a delivery's key (Unified ``nonce``, Kombo event ``id``, both covered by
the signature) is recorded as a receipt in the transaction that stores its orders,
confirmed or not. A delivery whose receipt exists (a vendor re-sending what we took, or a replay) is
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
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from ordergraph.errors import ConfigError, ProviderError, WebhookError
from ordergraph.models import ProviderName
from ordergraph.providers.base import WebhookDelivery
from ordergraph.providers.connect import AccountEvent
from ordergraph.providers.plugin import ProviderPlugin, RawBodySignature, WebhookRoute
from ordergraph.providers.registry import PLUGINS
from ordergraph.store import EventSource, StoreError, WebhookReceipt, WebhookReceipts
from ordergraph.sync.bounded_json import JsonBodyError
from ordergraph.sync.confirm import confirm_statuses
from ordergraph.sync.connections import ConnectionRegistry, LiveConnection
from ordergraph.sync.ingest import Ingestor
from ordergraph.sync.webhook_reading import (
    BodyTooLargeError,
    account_of,
    off_loop,
    read_account_event,
    read_delivery,
    read_limited_body,
    verified_by,
)

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
    PROVIDER_UNAVAILABLE = "provider_unavailable"  # 503: could not confirm; retried later
    PAUSED = "paused"  # 503: the connection is paused; the vendor retries later


Handler = Callable[[web.Request], Awaitable[web.Response]]

# Called with the provider whose endpoint was hit and the outcome, after each answer.
OutcomeObserver = Callable[[ProviderName, WebhookOutcome], None]
# Acts on a verified account event (a connection created, deleted or changed state at
# the provider): ordergraph.sync.connect_links.ConnectLinks.account_event.
AccountEventHandler = Callable[[ProviderPlugin, AccountEvent], Awaitable[None]]

# One body for every unknown endpoint, whatever id was asked for: it names no
# connection, so probing ids learns nothing from the text.
_NOT_FOUND_MESSAGE = "no such webhook endpoint"
# Seconds a vendor is asked to wait before retrying a delivery to a paused connection.
PAUSED_RETRY_AFTER = 600


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


class WebhookIntake:
    """The webhook endpoints of one server."""

    def __init__(
        self,
        connections: ConnectionRegistry,
        ingestor: Ingestor,
        *,
        max_body_bytes: int,
        on_outcome: OutcomeObserver | None = None,
        receipts: WebhookReceipts | None = None,
        workspace_secrets: Mapping[ProviderName, str] | None = None,
        on_account_event: AccountEventHandler | None = None,
    ) -> None:
        self.connections = connections
        # Each provider's workspace webhook secret ([providers.<name>]): it verifies
        # account events before any connection of the account exists.
        self.workspace_secrets = dict(workspace_secrets or {})
        self.on_account_event = on_account_event
        self.ingestor = ingestor
        self.max_body_bytes = max_body_bytes
        self.on_outcome = on_outcome
        # Lets a copy of a delivery we hold skip the provider read its confirmation
        # would cost (the receipt written at ingestion remains what decides).
        self.receipts = receipts
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
        """One route per provider that takes webhooks, as its plug-in declares it."""
        routes = []
        for plugin in PLUGINS:
            if plugin.webhooks is None:
                continue
            if plugin.webhooks.per_connection:
                handler = self._per_connection_handler(plugin)
            else:
                handler = self._shared_handler(plugin, plugin.webhooks)
            routes.append(web.post(plugin.webhooks.route, handler))
        return routes

    def _per_connection_handler(self, plugin: ProviderPlugin) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            return await self._for_connection(plugin, request)

        return handle

    def _shared_handler(self, plugin: ProviderPlugin, route: WebhookRoute) -> Handler:
        signature = route.raw_signature
        if signature is None:  # WebhookRoute refuses a shared route without one
            msg = f"{route.route}: a shared webhook route needs a raw-body signature"
            raise ValueError(msg)

        async def handle(request: web.Request) -> web.Response:
            return await self._shared(plugin, signature, request)

        return handle

    async def _body(self, request: web.Request) -> bytes | None:
        try:
            return await read_limited_body(request, self.max_body_bytes)
        except BodyTooLargeError:
            return None

    def _too_large(self, provider: ProviderName) -> web.Response:
        logger.warning("refused %s webhook: body over %d bytes", provider, self.max_body_bytes)
        message = f"webhook body exceeds {self.max_body_bytes} bytes"
        return self._answer(
            provider, WebhookOutcome.TOO_LARGE, _error(413, "BODY_TOO_LARGE", message)
        )

    def _refuse(
        self, provider: ProviderName, status: int, reason: str, connection_id: str | None = None
    ) -> web.Response:
        """A 400/401 for the sender's body: one WARNING line, no traceback, no secret."""
        where = f" for {connection_id}" if connection_id else ""
        logger.warning("refused %s webhook%s: %s", provider, where, reason)
        if status == 401:
            outcome, code = WebhookOutcome.BAD_SIGNATURE, "BAD_SIGNATURE"
        else:
            outcome, code = WebhookOutcome.BAD_PAYLOAD, "BAD_PAYLOAD"
        return self._answer(provider, outcome, _error(status, code, reason))

    async def _for_connection(self, plugin: ProviderPlugin, request: web.Request) -> web.Response:
        """A route that names its connection: the adapter verifies with its secret."""
        provider = plugin.name
        connection = self.connections.get(request.match_info["connection"])
        # A connection of another provider is as unknown here as a missing one.
        if connection is None or connection.provider_name is not provider:
            return self._answer(provider, WebhookOutcome.NOT_FOUND, _not_found())
        body = await self._body(request)
        if body is None:
            return self._too_large(provider)
        return await self._accept(connection, request, body)

    async def _shared(
        self, plugin: ProviderPlugin, scheme: RawBodySignature, request: web.Request
    ) -> web.Response:
        """One route for all of a provider's connections: the raw body is verified
        against each distinct secret before any parse, and only then read for the
        account that picks the connection."""
        provider = plugin.name
        body = await self._body(request)
        if body is None:
            return self._too_large(provider)
        signature = request.headers.get(scheme.header)
        workspace_secret = self.workspace_secrets.get(provider)
        if workspace_secret and signature:
            matched: bool = await off_loop(body, scheme.matches, workspace_secret, body, signature)
            handled = await self._account_event(plugin, body) if matched else None
            if handled is not None:
                return handled
        candidates = self.connections.of_provider(provider)
        if not candidates:
            return self._answer(provider, WebhookOutcome.NOT_FOUND, _not_found())
        verified = await off_loop(body, verified_by, scheme, candidates, body, signature)
        if not verified:
            unconfigured = sum(c.settings.webhook_secret is None for c in candidates)
            reason = f"missing or wrong {scheme.header}"
            if unconfigured:
                # Ours to fix, but only a verified body may name its connection.
                reason += f" ({unconfigured} {plugin.label} connections have no webhook secret)"
            return self._refuse(provider, 401, reason)
        # Signed by a connection's own secret (files written before provider sections):
        # account news still goes to the lifecycle, not to a connection.
        handled = await self._account_event(plugin, body)
        if handled is not None:
            return handled
        # Routing among the connections whose secret signed this very body.
        try:
            account = await off_loop(body, account_of, scheme, body)
        except JsonBodyError as exc:
            return self._refuse(provider, 400, str(exc))
        if account is None:
            return self._refuse(provider, 400, f"{plugin.label} webhook names no account")
        connection = next((c for c in verified if c.settings.account == account), None)
        if connection is None:
            named = self.connections.by_account(provider, account)
            if named is not None and named.settings.webhook_secret is None:
                # Signed with the secret of another of our connections, for one
                # configured without: ours to fix, and worth the vendor's retry once fixed.
                return self._not_configured(named)
            return self._answer(provider, WebhookOutcome.NOT_FOUND, _not_found())
        return await self._accept(connection, request, body)

    async def _account_event(self, plugin: ProviderPlugin, body: bytes) -> web.Response | None:
        """Act on a verified body that is account news; None when it is not."""
        if plugin.account_events is None or self.on_account_event is None:
            return None
        try:
            event = await off_loop(body, read_account_event, plugin, body)
        except JsonBodyError as exc:
            return self._refuse(plugin.name, 400, str(exc))
        if event is None:
            return None
        try:
            await self.on_account_event(plugin, event)
        except StoreError:
            logger.warning("store unavailable for a %s account event", plugin.name)
            return self._answer(
                plugin.name,
                WebhookOutcome.STORE_UNAVAILABLE,
                _error(503, "UNAVAILABLE", "try again later"),
            )
        return self._answer(plugin.name, WebhookOutcome.ACCEPTED, web.json_response({"ok": True}))

    def _not_configured(self, connection: LiveConnection) -> web.Response:
        logger.error("connection %s has no webhook secret configured", connection.id)
        return self._answer(
            connection.provider_name,
            WebhookOutcome.NOT_CONFIGURED,
            _error(503, "NOT_CONFIGURED", "webhook endpoint is not configured"),
        )

    def _paused(self, connection: LiveConnection) -> web.Response:
        logger.info("webhook for paused connection %s refused (retried later)", connection.id)
        response = _error(503, "PAUSED", "this connection is paused; retry later")
        response.headers["Retry-After"] = str(PAUSED_RETRY_AFTER)
        return self._answer(connection.provider_name, WebhookOutcome.PAUSED, response)

    async def _accept(
        self, connection: LiveConnection, request: web.Request, body: bytes
    ) -> web.Response:
        provider = connection.provider_name
        try:
            delivery = await off_loop(body, read_delivery, connection, request.headers, body)
        except WebhookError as exc:
            return self._refuse(provider, exc.http_status, str(exc), connection.id)
        except ConfigError:
            return self._not_configured(connection)
        except JsonBodyError as exc:
            return self._refuse(provider, 400, str(exc), connection.id)
        except (ValueError, RecursionError):
            # Whatever a body can still make a parser or a model raise is the body's
            # fault: a 400, never a 500 with a traceback.
            return self._refuse(provider, 400, "webhook body could not be read", connection.id)
        if not connection.syncing:
            # Verified first: an unsigned probe learns no more than for any connection.
            return self._paused(connection)
        return await self._ingest(connection, delivery)

    async def _ingest(self, connection: LiveConnection, delivery: WebhookDelivery) -> web.Response:
        provider = connection.provider_name
        receipt = _receipt(connection, delivery)
        try:
            if await self._held_already(receipt, delivery):
                return self._duplicate(connection, delivery, receipt)
            confirmed = await confirm_statuses(connection, delivery.orders, self.ingestor.orders)
            result = await self.ingestor.ingest(
                connection,
                confirmed.orders,
                EventSource.WEBHOOK,
                receipt=receipt,
                read_at=confirmed.read_at,
                status_if_new=confirmed.status_if_new,
            )
        except ProviderError as exc:
            # Not acknowledged and nothing written (not even the receipt): the vendor
            # retries, and the status is confirmed then.
            logger.warning(
                "could not confirm a %s webhook for %s with the provider: %s",
                provider,
                connection.id,
                exc,
            )
            return self._answer(
                provider,
                WebhookOutcome.PROVIDER_UNAVAILABLE,
                _error(503, "PROVIDER_UNAVAILABLE", "could not confirm the delivery; retry later"),
            )
        except (StoreError, SQLAlchemyError, OSError):
            # Not acknowledged: the vendor keeps the delivery and retries.
            logger.exception("could not store a webhook delivery for %s", connection.id)
            return self._answer(
                provider,
                WebhookOutcome.STORE_UNAVAILABLE,
                _error(503, "STORE_UNAVAILABLE", "could not store the delivery; retry later"),
            )
        if confirmed.confirmed:
            logger.info(
                "%s webhook for %s: %d orders confirmed with the provider (%d unknown to it)",
                provider,
                connection.id,
                confirmed.confirmed,
                confirmed.unknown_to_provider,
            )
        if result.duplicate:
            return self._duplicate(connection, delivery, receipt)
        return self._taken(provider, WebhookOutcome.ACCEPTED, delivery, len(result.events))

    async def _held_already(
        self, receipt: WebhookReceipt | None, delivery: WebhookDelivery
    ) -> bool:
        """Whether a delivery that would need confirming is one we hold already (so a
        replay inside the window costs no provider read)."""
        if receipt is None or self.receipts is None:
            return False
        if all(order.updated_at is not None for order in delivery.orders):
            return False  # nothing to confirm: the ingestion's own check suffices
        return await self.receipts.contains(receipt)

    def _duplicate(
        self, connection: LiveConnection, delivery: WebhookDelivery, receipt: WebhookReceipt | None
    ) -> web.Response:
        # Answered 2xx so the vendor stops re-sending: we have this delivery already.
        logger.info(
            "duplicate %s webhook for %s ignored (%s, key %s)",
            connection.provider_name,
            connection.id,
            delivery.kind,
            _printable(receipt.key if receipt else ""),
        )
        return self._taken(connection.provider_name, WebhookOutcome.DUPLICATE, delivery, 0)

    def _taken(
        self,
        provider: ProviderName,
        outcome: WebhookOutcome,
        delivery: WebhookDelivery,
        events: int,
    ) -> web.Response:
        payload: dict[str, Any] = {
            "status": "duplicate" if outcome is WebhookOutcome.DUPLICATE else "ok",
            "kind": delivery.kind,
            "orders": len(delivery.orders),
            "events": events,
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
