"""The aiohttp application: webhooks, health, readiness, metrics, background sync.

``Services`` (ordergraph/services.py) owns what a running server holds (store,
broker, live connections, ingestion, metrics); ``create_app`` wires routes and
background tasks onto it. The
GraphQL endpoint is added to this same application by the API layer.

Shutdown (aiohttp's runner, driven by ``ordergraph.serve``): the listening sites stop;
``on_shutdown`` sends every open WebSocket a close frame (1001, going away) so
subscribers reconnect elsewhere with their last cursor; requests in flight finish
(bounded by the site's shutdown timeout); then the background tasks are told to stop,
given a shared deadline and cancelled if they overrun, and the services close.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import weakref
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import hdrs, web

from ordergraph.access_log import request_id_middleware
from ordergraph.api.cors import cors_middleware
from ordergraph.api.deadlines import body_deadline
from ordergraph.backoff import Backoff
from ordergraph.errors import ProviderError
from ordergraph.health import check_ready, healthz, ready_response, store_ping
from ordergraph.metrics import CONTENT_TYPE_LATEST, http_metrics_middleware
from ordergraph.providers.base import Capability
from ordergraph.services import OPEN_SOCKETS, SERVICES, Services
from ordergraph.settings import MetricsSettings
from ordergraph.sync.connections import LiveConnection
from ordergraph.sync.leader import create_leases, holder_identity, run_while_leader
from ordergraph.sync.poller import OrderPoller, poll_interval
from ordergraph.sync.receipt_pruner import ReceiptPruner
from ordergraph.sync.webhook_registration import ensure_webhook
from ordergraph.sync.webhooks import WEBHOOK_INTAKE, WebhookIntake

__all__ = [
    "API_PORT",
    "BackgroundSync",
    "create_app",
    "create_metrics_app",
    "metrics_refusal",
]

logger = logging.getLogger(__name__)


API_PORT = web.AppKey("api_port", bool)
"""True for the API application, False for ``create_metrics_app``'s."""

GOING_AWAY = 1001
"""WebSocket close code sent to every subscriber on shutdown (RFC 6455: going away)."""

_REGISTER_RETRIES = Backoff(base=1.0, cap=300.0)
"""A webhook registration that failed is tried again from 1 s, at most 5 min apart."""


async def readyz(request: web.Request) -> web.Response:
    """Store, cache and broker answer (readiness); 503 names what does not."""
    services = request.app[SERVICES]
    results = await check_ready(
        {
            "store": store_ping(services.store.engine),
            "cache": services.cache.ping,
            "broker": services.broker.ping,
        }
    )
    return ready_response(results)


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus text exposition of this application's metrics.

    Where it is served and who may read it is ``[metrics]``'s (``metrics_refusal``):
    the metrics name tenants and connections.
    """
    services = request.app[SERVICES]
    refusal = metrics_refusal(services.settings.metrics, request, on_api_port=request.app[API_PORT])
    if refusal is not None:
        return refusal
    await services.metrics.refresh(services.scrape_sources())
    response = web.Response(body=services.metrics.render())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def metrics_refusal(
    settings: MetricsSettings, request: web.Request, *, on_api_port: bool
) -> web.Response | None:
    """Why this scrape is refused, or None: the API port serves ``/metrics`` only with
    a token (never when ``listen`` moves them elsewhere); with a token, a scrape must
    present it (compared in constant time)."""
    if on_api_port and settings.listen is not None:
        return web.Response(status=404, text="metrics are served on [metrics] listen")
    if settings.token is None:
        if on_api_port:
            return web.Response(
                status=403,
                text="metrics are not served on the API port without [metrics] token "
                "(or set [metrics] listen to serve them on an address of their own)",
            )
        return None
    sent = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, credentials = sent.partition(" ")
    expected = settings.token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        credentials.strip().encode(), expected
    ):
        return web.Response(
            status=401,
            text="send 'Authorization: Bearer <metrics token>'",
            headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="ordergraph-metrics"'},
        )
    return None


def create_metrics_app(services: Services) -> web.Application:
    """``GET /metrics`` alone, for ``[metrics] listen`` (an address of its own)."""
    app = web.Application()
    app[SERVICES] = services
    app[API_PORT] = False
    app.router.add_get("/metrics", metrics_endpoint)
    return app


async def close_sockets(app: web.Application) -> None:
    """Send every open WebSocket a close frame (their handlers then end)."""
    sockets = [ws for ws in app[OPEN_SOCKETS] if not ws.closed]
    if sockets:
        logger.info("closing %d WebSocket connections (going away)", len(sockets))
    # Plain gather with return_exceptions: every socket is told, whatever one does.
    await asyncio.gather(
        *(ws.close(code=GOING_AWAY, message=b"server shutting down") for ws in sockets),
        return_exceptions=True,
    )


class BackgroundSync:
    """Pollers, webhook registrations, receipt pruning, the result deliverer's loop and
    the connection follower, started with the app and stopped with it.

    Each poller (one per connection whose provider declares polling) runs only
    while its process holds the connection's lease
    (ordergraph/sync/leader.py), so several processes poll each connection once.
    A connection's jobs (its poller, its webhook registration) start and stop with
    it: at start for every syncing connection, and then as the connection lifecycle
    (ordergraph/sync/lifecycle.py) reports connections added, paused, resumed or
    removed on any process. Every task is started through ``spawn`` with a stop
    event set by ``close`` (a connection's own is also set when the connection stops
    syncing), so ``close`` stops all of them the same way, whatever they do.
    """

    STOP_TIMEOUT = 10.0
    """Seconds all tasks together get to return after ``stop`` before being cancelled."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.stop = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        # The stop event of each syncing connection's jobs, by connection id.
        self.connection_stops: dict[str, asyncio.Event] = {}
        settings = services.settings
        self.leases = create_leases(
            settings.broker.url,
            settings.cache.url,
            prefix=settings.broker.channel_prefix,
            ttl=settings.sync.poller_lease_ttl,
        )

    def poller(self, connection: LiveConnection) -> OrderPoller:
        return OrderPoller(
            connection,
            self.services.ingestor,
            self.services.store.orders,
            self.services.store.sync_state,
            interval=poll_interval(connection, self.services.settings.sync.poll_interval),
            identity=holder_identity(),
        )

    async def _register(self, connection: LiveConnection, stop: asyncio.Event) -> None:
        public_url = self.services.settings.server.base_url()
        retries = _REGISTER_RETRIES.retries()
        while not stop.is_set():
            try:
                await ensure_webhook(connection, self.services.store.sync_state, public_url)
                return
            except ProviderError as exc:
                logger.warning("registering the webhook of %s failed: %s", connection.id, exc)
                delay = retries.next_delay(retry_after=exc.retry_after)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    def receipt_pruner(self) -> ReceiptPruner:
        webhooks = self.services.settings.webhooks
        return ReceiptPruner(
            self.services.store.webhook_receipts,
            window=webhooks.replay_window,
            interval=webhooks.prune_interval,
        )

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` until its stop event is set; it must return soon after."""
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        # A connection's jobs end with it; only a failure is worth keeping to report.
        if task.cancelled() or task.exception() is None:
            self.tasks.discard(task)

    def start(self) -> None:
        # One process prunes webhook receipts: the DELETE is safe from any process,
        # but N processes would only repeat it and contend for the same rows.
        lease = self.leases.lease("webhook-receipt-pruner")
        pruner = self.receipt_pruner()
        self.spawn("webhook-receipt-pruner", run_while_leader(lease, pruner.run, self.stop))
        # Every process runs its own deliverer: claims keep them from sharing work.
        self.spawn("result-deliverer", self.services.deliverer.run(self.stop))
        for connection in list(self.services.connections):
            self.start_connection(connection)
        lifecycle = self.services.lifecycle
        lifecycle.listen(self.connection_changed)
        self.spawn("connections-follower", lifecycle.run(self.stop))

    def start_connection(self, connection: LiveConnection) -> None:
        """Start a syncing connection's jobs (nothing for a paused one)."""
        if not connection.syncing or connection.id in self.connection_stops or self.stop.is_set():
            return
        stop = asyncio.Event()
        self.connection_stops[connection.id] = stop
        if connection.plugin.polling is not None:
            # "<provider>-poller:<connection>": the lease name processes of every
            # version agree on (a rolling deploy must not poll a connection twice).
            name = f"{connection.provider_name.value}-poller:{connection.id}"
            lease = self.leases.lease(name)
            self.spawn(name, run_while_leader(lease, self.poller(connection).run, stop))
        registers = connection.provider.supports(Capability.REGISTER_WEBHOOK)
        if registers and connection.settings.manage_webhook:
            name = f"{connection.provider_name.value}-webhook:{connection.id}"
            self.spawn(name, self._register(connection, stop))

    def stop_connection(self, connection_id: str) -> None:
        """Stop a connection's jobs (they return soon; ``close`` waits for them)."""
        stop = self.connection_stops.pop(connection_id, None)
        if stop is not None:
            stop.set()

    def connection_changed(
        self, before: LiveConnection | None, after: LiveConnection | None
    ) -> None:
        """The lifecycle's listener: a connection appeared, changed or went."""
        replaced = (
            before is not None
            and after is not None
            and (after.provider is not before.provider or not after.syncing)
        )
        if before is not None and (after is None or replaced):
            self.stop_connection(before.id)
        if after is not None:
            self.start_connection(after)

    async def close(self) -> None:
        """Set every stop event, wait for every task (one shared deadline), cancel the
        rest."""
        self.stop.set()
        for connection_id in list(self.connection_stops):
            self.stop_connection(connection_id)
        tasks = list(self.tasks)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.STOP_TIMEOUT)
            for task in late:
                logger.warning("background task %s did not stop in time", task.get_name())
                task.cancel()
            if late:
                await asyncio.wait(late)
            for task in tasks:
                if not task.cancelled() and task.exception() is not None:
                    logger.error(
                        "background task %s failed", task.get_name(), exc_info=task.exception()
                    )
        await self.leases.close()


def create_app(services: Services, *, background: bool = True) -> web.Application:
    """The server application over ``services``; ``background`` starts sync tasks."""
    server = services.settings.server
    app = web.Application(client_max_size=server.max_body_bytes)
    # Outermost first: every line a request logs carries its id, and every answer
    # (CORS refusals and slow bodies' 408 included) is counted.
    app.middlewares.append(request_id_middleware())
    app.middlewares.append(http_metrics_middleware(services.metrics))
    app.middlewares.append(cors_middleware(server.cors_origins, server.cors_allow_headers))
    app.middlewares.append(body_deadline(server.body_timeout))
    app[SERVICES] = services
    app[API_PORT] = True
    app[OPEN_SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(close_sockets)
    intake = WebhookIntake(
        services.connections,
        services.ingestor,
        max_body_bytes=services.settings.server.max_body_bytes,
        receipts=services.store.webhook_receipts,
        on_outcome=lambda provider, outcome: services.metrics.webhook_delivery(
            provider.value, outcome.value
        ),
        workspace_secrets={
            provider: section.webhook_secret.get_secret_value()
            for provider, section in services.settings.providers.items()
            if section.webhook_secret is not None
        },
        on_account_event=services.connect_links.account_event,
    )
    app[WEBHOOK_INTAKE] = intake
    app.add_routes(intake.routes())
    # Where a connect flow that redirects (Unified's authorization) returns.
    app.add_routes(services.connect_links.routes())
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)

    if background:

        async def run_background(app: web.Application) -> AsyncIterator[None]:
            sync = BackgroundSync(services)
            sync.start()
            yield
            await sync.close()

        app.cleanup_ctx.append(run_background)
    return app
