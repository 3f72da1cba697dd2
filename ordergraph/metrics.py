"""Prometheus metrics of one gateway application, served on ``GET /metrics``.

Every application has its own ``CollectorRegistry`` (held by ``Services``), never the
process-wide default: tests and several applications in one process each count their
own traffic, and nothing registers twice.

Counters are fed where things happen, through objects handed to the parts (no
globals): the HTTP middleware below, the providers' ``HttpClient`` (as its
``UpstreamObserver``), ``GatewayCache`` (as its lookup observer) and the GraphQL
extension ``ordergraph.schema.metrics.OperationMetrics`` (which finds this object in
the request context). What lives in the store or in memory elsewhere (sync lag,
subscribers, the delivery backlog) is read when Prometheus scrapes, each part under a
short timeout, so a slow store costs a stale gauge, never a hung scrape.

Label values are bounded: routes are templates, operation names are capped
(``anonymous``, ``other``), connections and tenants come from the settings.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Metrics",
    "ScrapeSources",
    "http_metrics_middleware",
    "route_template",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_OPERATION_NAME = 64
"""Longer operation names are counted as ``other``."""
MAX_OPERATION_NAMES = 200
"""Distinct operation names counted by name; later new names count as ``other``."""
SCRAPE_PART_TIMEOUT = 1.0
"""Seconds each store read of a scrape may take before its gauge is left as it was."""

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
# Only these cache kinds are reported (the response cache's epoch reads are internal).
_CACHE_KINDS = {"packages": "packages", "responses": "response"}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def route_template(request: web.Request) -> str:
    """The aiohttp route the request matched (``/webhooks/unified/{connection}``), or
    ``unmatched``: never the raw path, whose ids would explode label cardinality."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    return resource.canonical


@dataclass(frozen=True)
class ScrapeSources:
    """Where the scrape-time gauges come from (``Services`` builds one)."""

    # Last successful sync per polled connection (None: never synced yet).
    last_synced: Callable[[], Awaitable[Mapping[str, datetime | None]]]
    # Result deliveries waiting, by state (pending, in_flight).
    delivery_backlog: Callable[[], Awaitable[Mapping[str, int]]]
    # Open subscriptions per tenant (in memory, no I/O).
    subscribers: Callable[[], Mapping[str, int]]


class Metrics:
    """The registry and every metric of one application (see the module docstring)."""

    def __init__(self, *, max_operation_names: int = MAX_OPERATION_NAMES) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.started = time.time()
        self._max_operation_names = max_operation_names
        self._operation_names: set[str] = set()
        registry = self.registry
        self.http_requests = Counter(
            "ordergraph_http_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "ordergraph_http_request_duration_seconds",
            "Time to answer an HTTP request (WebSocket sessions excluded).",
            ["method", "route"],
            registry=registry,
        )
        self.graphql_operations = Counter(
            "ordergraph_graphql_operations",
            "GraphQL operations executed, by name, type and outcome "
            "(ok, field_error, request_error); response-cache hits are not executed.",
            ["operation_name", "operation_type", "outcome"],
            registry=registry,
        )
        self.upstream_requests = Counter(
            "ordergraph_upstream_requests",
            "Requests (attempts) sent to providers, by provider, route template and status.",
            ["provider", "route", "status"],
            registry=registry,
        )
        self.upstream_duration = Histogram(
            "ordergraph_upstream_request_duration_seconds",
            "Time of one attempt at a provider request.",
            ["provider", "route"],
            buckets=_UPSTREAM_BUCKETS,
            registry=registry,
        )
        self.upstream_retries = Counter(
            "ordergraph_upstream_retries",
            "Provider requests tried again, by the reason (status, timeout, connection).",
            ["provider", "route", "reason"],
            registry=registry,
        )
        self.cache_requests = Counter(
            "ordergraph_cache_requests",
            "Cache lookups by cache (packages, response) and result (hit, miss).",
            ["cache", "result"],
            registry=registry,
        )
        self.sync_lag = Gauge(
            "ordergraph_sync_lag_seconds",
            "Seconds since the connection's last successful poll (never: since start).",
            ["connection"],
            registry=registry,
        )
        self.subscribers = Gauge(
            "ordergraph_subscribers",
            "Open GraphQL subscriptions in this process, by tenant.",
            ["tenant"],
            registry=registry,
        )
        self.delivery_backlog = Gauge(
            "ordergraph_result_delivery_backlog",
            "Results kept for delivery to a provider and not delivered yet, by state.",
            ["state"],
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "ordergraph_webhook_deliveries",
            "Webhook deliveries by provider and how they were answered (accepted, "
            "duplicate, bad_signature, ...).",
            ["provider", "outcome"],
            registry=registry,
        )
        self.scrape_failures = Counter(
            "ordergraph_metrics_scrape_failures",
            "Scrape-time reads that failed or timed out (their gauge kept its last value).",
            ["part"],
            registry=registry,
        )

        # Label children bound once: ``labels()`` costs a lock and a tuple build per call,
        # several times what ``inc()`` does, on every request. Keys are the bounded
        # label values above, so these stay as small as the metrics themselves.
        self._http_counts: dict[tuple[str, str, int], Counter] = {}
        self._http_times: dict[tuple[str, str], Histogram] = {}
        self._cache_counts: dict[tuple[str, bool], Counter] = {}
        self._operation_counts: dict[tuple[str, str, str], Counter] = {}

    # --- fed by the parts ------------------------------------------------------------

    def http_request(self, method: str, route: str, status: int, seconds: float | None) -> None:
        if method not in _METHODS:
            method = "OTHER"  # aiohttp takes any token as a method: bound the label
        count_key = (method, route, status)
        count = self._http_counts.get(count_key)
        if count is None:
            count = self._http_counts[count_key] = self.http_requests.labels(
                method, route, str(status)
            )
        count.inc()
        if seconds is not None:
            time_key = (method, route)
            timing = self._http_times.get(time_key)
            if timing is None:
                timing = self._http_times[time_key] = self.http_duration.labels(method, route)
            timing.observe(seconds)

    def upstream_attempt(self, provider: str, route: str, status: str, seconds: float) -> None:
        self.upstream_requests.labels(provider, route, status).inc()
        self.upstream_duration.labels(provider, route).observe(seconds)

    def upstream_retry(self, provider: str, route: str, reason: str) -> None:
        self.upstream_retries.labels(provider, route, reason).inc()

    def webhook_delivery(self, provider: str, outcome: str) -> None:
        self.webhook_deliveries.labels(provider, outcome).inc()

    def cache_lookup(self, kind: str, hit: bool) -> None:
        count = self._cache_counts.get((kind, hit))
        if count is None:
            cache = _CACHE_KINDS.get(kind)
            if cache is None:
                return
            count = self._cache_counts[(kind, hit)] = self.cache_requests.labels(
                cache, "hit" if hit else "miss"
            )
        count.inc()

    def operation_name_label(self, name: str | None) -> str:
        """``name`` if it is a short GraphQL name among the first names seen, else
        ``anonymous`` (none) or ``other``: a client cannot grow the label set at will."""
        if not name:
            return "anonymous"
        if len(name) > MAX_OPERATION_NAME or not _NAME.match(name):
            return "other"
        if name not in self._operation_names:
            if len(self._operation_names) >= self._max_operation_names:
                return "other"
            self._operation_names.add(name)
        return name

    def graphql_operation(self, name: str | None, operation_type: str, outcome: str) -> None:
        key = (self.operation_name_label(name), operation_type, outcome)
        count = self._operation_counts.get(key)
        if count is None:
            count = self._operation_counts[key] = self.graphql_operations.labels(*key)
        count.inc()

    # --- scrape ------------------------------------------------------------------------

    async def refresh(self, sources: ScrapeSources) -> None:
        """Bring the scrape-time gauges up to date (each read bounded by a timeout)."""
        for tenant, count in sources.subscribers().items():
            self.subscribers.labels(tenant).set(count)
        last_synced = await self._read("sync_lag", sources.last_synced)
        if last_synced is not None:
            now = time.time()
            for connection, when in last_synced.items():
                since = when.timestamp() if when is not None else self.started
                self.sync_lag.labels(connection).set(max(0.0, now - since))
        backlog = await self._read("delivery_backlog", sources.delivery_backlog)
        if backlog is not None:
            for state, count in backlog.items():
                self.delivery_backlog.labels(state).set(count)

    async def _read(self, part: str, read: Callable[[], Awaitable[T]]) -> T | None:
        try:
            async with asyncio.timeout(SCRAPE_PART_TIMEOUT):
                return await read()
        except Exception as exc:
            self.scrape_failures.labels(part).inc()
            logger.warning("metrics: reading %s failed (%s)", part, type(exc).__name__)
            return None

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def http_metrics_middleware(
    metrics: Metrics,
) -> Middleware:
    """Counts every request by method, route template and status, and times it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        route = route_template(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            metrics.http_request(request.method, route, exc.status, time.monotonic() - started)
            raise
        except asyncio.CancelledError:
            raise
        except Exception:
            metrics.http_request(request.method, route, 500, time.monotonic() - started)
            raise
        if isinstance(response, web.WebSocketResponse):
            # The handler returns when the socket closes: its "duration" is the
            # session's length, which would swamp the request histogram.
            metrics.http_request(request.method, route, 101, None)
        else:
            metrics.http_request(request.method, route, response.status, time.monotonic() - started)
        return response

    return middleware
