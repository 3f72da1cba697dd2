"""What a running server holds, wired together: ``Services`` and the keys the
aiohttp application keeps it (and its open WebSockets) under.

Its own module so the API and resolver layers can take ``Services`` without
importing the application (ordergraph/server.py, which imports them): imports run
one way (``[tool.importlinter]`` in pyproject.toml).
"""

from __future__ import annotations

import secrets
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from ordergraph.broker import Broker
from ordergraph.broker_factory import create_broker
from ordergraph.cache import GatewayCache, create_cache
from ordergraph.errors import ConfigError
from ordergraph.fanout import Hubs
from ordergraph.metrics import Metrics, ScrapeSources
from ordergraph.settings import Settings
from ordergraph.store import ConnectionConflictError, Store
from ordergraph.sync.connect_links import ConnectLinks
from ordergraph.sync.connect_state import ConnectStateSigner
from ordergraph.sync.connections import ConnectionRegistry, LiveConnection
from ordergraph.sync.deliverer import ResultDeliverer
from ordergraph.sync.ingest import Ingestor
from ordergraph.sync.lifecycle import ConnectionLifecycle

__all__ = ["OPEN_SOCKETS", "SERVICES", "Services"]


@dataclass
class Services:
    """Everything a running server shares across requests."""

    settings: Settings
    store: Store
    broker: Broker
    connections: ConnectionRegistry
    cache: GatewayCache = field(default_factory=lambda: create_cache("memory://"))
    # This application's Prometheus registry and metrics (never the global registry).
    metrics: Metrics = field(default_factory=Metrics)
    ingestor: Ingestor = field(init=False)
    # Records submitted results and delivers them (inline, and retried by the loop
    # BackgroundSync runs); see ordergraph/sync/deliverer.py.
    deliverer: ResultDeliverer = field(init=False)
    # One log reader per tenant with subscriptions (ordergraph/resolvers/subscriptions.py).
    hubs: Hubs = field(init=False, repr=False)
    # Adds, pauses, resumes and removes connections, and keeps ``connections`` in step
    # with the store on every process (ordergraph/sync/lifecycle.py).
    lifecycle: ConnectionLifecycle = field(init=False, repr=False)
    # Connect links, their redirect callback and provider account events
    # (ordergraph/sync/connect_links.py).
    connect_links: ConnectLinks = field(init=False, repr=False)

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
        self.lifecycle = ConnectionLifecycle(
            self.settings,
            self.store.connections,
            self.connections,
            self.broker,
            refresh_interval=self.settings.sync.connections_refresh_interval,
        )
        cursor_secret = self.settings.store.cursor_secret
        self.connect_links = ConnectLinks(
            self.settings,
            self.lifecycle,
            # The states of connect links are signed with a key derived from the store's
            # secret (every process shares it); without one (a Services built by hand),
            # a key of this process's own.
            ConnectStateSigner(
                cursor_secret.get_secret_value()
                if cursor_secret is not None
                else secrets.token_bytes(32)
            ),
        )
        # The parts report to this application's metrics (injected, not global), the
        # adapters of connections added at run time too.
        self.cache.observer = self.metrics.cache_lookup
        for connection in self.connections:
            connection.provider.http.observer = self.metrics
        self.lifecycle.listen(self._observe_adapter)

    def _observe_adapter(self, before: LiveConnection | None, after: LiveConnection | None) -> None:
        if after is not None:
            after.provider.http.observer = self.metrics

    def scrape_sources(self) -> ScrapeSources:
        """What ``/metrics`` reads at scrape time."""
        polled = [c.id for c in self.connections.polled()]
        tenants = [t.name for t in self.settings.tenants]

        async def last_synced() -> Mapping[str, datetime | None]:
            return await self.store.sync_state.last_synced(polled)

        def subscribers() -> Mapping[str, int]:
            return dict.fromkeys(tenants, 0) | self.hubs.subscribers_by_tenant()

        async def delivery_backlog() -> Mapping[str, int]:
            backlog = await self.store.deliveries.backlog()
            return {"pending": backlog.pending, "in_flight": backlog.in_flight}

        return ScrapeSources(
            last_synced=last_synced,
            delivery_backlog=delivery_backlog,
            subscribers=subscribers,
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
            settings.store.url,
            cursor_secret=secret.get_secret_value(),
            auto_migrate=migrate,
            pool_size=settings.store.pool_size,
            max_overflow=settings.store.max_overflow,
        )
        # The file's connections into the store (every process alike; a repeat changes
        # nothing), then the registry from the store: file connections, and those
        # added at run time.
        try:
            imported = await store.connections.import_file_connections(settings.connections)
        except ConnectionConflictError as exc:
            await store.close()
            msg = f"the settings file's connections conflict with the store's: {exc}"
            raise ConfigError(msg) from None
        services = cls(
            settings=settings,
            store=store,
            broker=create_broker(
                settings.broker.url, channel_prefix=settings.broker.channel_prefix
            ),
            connections=ConnectionRegistry.from_settings(settings.connections),
            cache=create_cache(settings.cache.url),
        )
        for tenant, version in imported.data_versions.items():
            await services.broker.publish(tenant, 0, data_version=version)
        await services.lifecycle.refresh()
        return services

    async def close(self) -> None:
        # First: attempts still running hand their claims back while the store is open.
        await self.deliverer.close()
        await self.hubs.close()
        await self.cache.close()
        await self.lifecycle.close()
        await self.connections.close()
        await self.broker.close()
        await self.store.close()


SERVICES = web.AppKey("services", Services)


OPEN_SOCKETS = web.AppKey("open_sockets", weakref.WeakSet[web.WebSocketResponse])
"""The application's open WebSockets (the GraphQL view adds each), closed on shutdown."""
