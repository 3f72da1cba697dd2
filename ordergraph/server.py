"""The aiohttp application: webhooks, health and readiness, background sync.

``Services`` owns what a running server holds (store, broker, live connections,
ingestion); ``create_app`` wires routes and background tasks onto it. The GraphQL
endpoint is added to this same application by the API layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from aiohttp import web

from ordergraph.broker import Broker, create_broker
from ordergraph.cache import GatewayCache, create_cache
from ordergraph.errors import ConfigError, ProviderError
from ordergraph.fanout import Hubs
from ordergraph.models import ProviderName
from ordergraph.settings import Settings
from ordergraph.store import Store, redact_url
from ordergraph.sync.connections import ConnectionRegistry, LiveConnection
from ordergraph.sync.deliverer import ResultDeliverer
from ordergraph.sync.ingest import Ingestor
from ordergraph.sync.kombo_poller import KomboPoller
from ordergraph.sync.leader import create_leases, holder_identity, run_while_leader
from ordergraph.sync.unified_webhooks import ensure_unified_webhook
from ordergraph.sync.webhooks import WebhookIntake

__all__ = ["SERVICES", "Services", "create_app"]

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a running server shares across requests."""

    settings: Settings
    store: Store
    broker: Broker
    connections: ConnectionRegistry
    cache: GatewayCache = field(default_factory=lambda: create_cache("memory://"))
    ingestor: Ingestor = field(init=False)
    # Records submitted results and delivers them (inline, and retried by the loop
    # BackgroundSync runs); see ordergraph/sync/deliverer.py.
    deliverer: ResultDeliverer = field(init=False)
    # One log reader per tenant with subscriptions (ordergraph/resolvers/subscriptions.py).
    hubs: Hubs = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ingestor = Ingestor(self.store.orders, self.broker)
        self.deliverer = ResultDeliverer(
            self.store, self.broker, self.connections, self.settings.delivery
        )
        subscriptions = self.settings.subscriptions
        self.hubs = Hubs(
            self.store.orders,
            self.broker,
            poll_interval=subscriptions.poll_interval,
            page_size=subscriptions.page_size,
        )

    @classmethod
    async def open(cls, settings: Settings, *, auto_migrate: bool | None = None) -> Services:
        """Open the store (checking its schema), the broker and every connection."""
        secret = settings.store.cursor_secret
        if secret is None:
            msg = "store.cursor_secret must be set (it signs pagination cursors)"
            raise ConfigError(msg)
        migrate = settings.store.auto_migrate if auto_migrate is None else auto_migrate
        store = await Store.open(
            settings.store.url, cursor_secret=secret.get_secret_value(), auto_migrate=migrate
        )
        return cls(
            settings=settings,
            store=store,
            broker=create_broker(
                settings.broker.url, channel_prefix=settings.broker.channel_prefix
            ),
            connections=ConnectionRegistry.from_settings(settings.connections),
            cache=create_cache(settings.cache.url),
        )

    async def close(self) -> None:
        # First: attempts still running hand their claims back while the store is open.
        await self.deliverer.close()
        await self.hubs.close()
        await self.cache.close()
        await self.connections.close()
        await self.broker.close()
        await self.store.close()


SERVICES = web.AppKey("services", Services)


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving (liveness)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The store answers (readiness); 503 names what is not ready, never a URL."""
    services = request.app[SERVICES]
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            async with services.store.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        checks["store"] = "ok"
    except Exception:
        logger.warning("store not ready at %s", redact_url(services.settings.store.url))
        checks["store"] = "unavailable"
    checks["broker"] = "ok"
    ready = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


class BackgroundSync:
    """Pollers, webhook registrations and the result deliverer's loop, started with the
    app and stopped with it.

    Each Kombo poller runs only while its process holds the connection's lease
    (ordergraph/sync/leader.py), so several processes poll each connection once.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        settings = services.settings
        self.leases = create_leases(
            settings.broker.url,
            settings.cache.url,
            prefix=settings.broker.channel_prefix,
            ttl=settings.sync.poller_lease_ttl,
        )

    def pollers(self) -> list[KomboPoller]:
        settings = self.services.settings
        return [
            KomboPoller(
                connection,
                self.services.ingestor,
                self.services.store.orders,
                self.services.store.sync_state,
                interval=connection.settings.poll_interval or settings.sync.kombo_poll_interval,
                identity=holder_identity(),
            )
            for connection in self.services.connections.of_provider(ProviderName.KOMBO)
        ]

    async def _register(self, connection: LiveConnection) -> None:
        public_url = self.services.settings.server.base_url()
        delay = 1.0
        while not self.stop.is_set():
            try:
                await ensure_unified_webhook(connection, self.services.store.sync_state, public_url)
                return
            except ProviderError as exc:
                logger.warning("registering the webhook of %s failed: %s", connection.id, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
            delay = min(delay * 2, 300)

    def start(self) -> None:
        # Every process runs its own deliverer: claims keep them from sharing work.
        self.tasks.append(asyncio.create_task(self.services.deliverer.run(self.stop)))
        for poller in self.pollers():
            lease = self.leases.lease(f"kombo-poller:{poller.connection.id}")
            self.tasks.append(asyncio.create_task(run_while_leader(lease, poller.run, self.stop)))
        for connection in self.services.connections.of_provider(ProviderName.UNIFIED):
            if connection.settings.manage_webhook:
                self.tasks.append(asyncio.create_task(self._register(connection)))

    async def close(self) -> None:
        self.stop.set()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(task, timeout=10)
                except TimeoutError:
                    logger.warning("a background sync task did not stop in time")
        await self.leases.close()


def create_app(services: Services, *, background: bool = True) -> web.Application:
    """The server application over ``services``; ``background`` starts sync tasks."""
    # Imported here: ordergraph.api imports this module (Services, SERVICES).
    from ordergraph.api.cors import cors_middleware

    app = web.Application(client_max_size=services.settings.server.max_body_bytes)
    app.middlewares.append(cors_middleware(services.settings.server.cors_origins))
    app[SERVICES] = services
    intake = WebhookIntake(
        services.connections,
        services.ingestor,
        max_body_bytes=services.settings.server.max_body_bytes,
    )
    app.add_routes(intake.routes())
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)

    if background:

        async def run_background(app: web.Application) -> AsyncIterator[None]:
            sync = BackgroundSync(services)
            sync.start()
            yield
            await sync.close()

        app.cleanup_ctx.append(run_background)
    return app
