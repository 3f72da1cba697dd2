"""Running the gateway as a process: ``ordergraph serve`` (and the demo, which reuses it).

The gateway application is ``create_app`` (webhooks, health, metrics, background
sync) plus the GraphQL routes (traced when ``[tracing] enabled``), with
``Services.close`` on cleanup. It runs on aiohttp's ``AppRunner``; SIGTERM and SIGINT
stop the listening sites, send every WebSocket a close frame (1001), let requests in
flight finish (up to a shutdown timeout), stop the background tasks and close the
store, broker and provider sessions, and the process exits 0. Logs go to stderr as
``[logging]`` says (``ordergraph.logs``), with every configured secret masked.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from ordergraph.api import add_graphql_routes
from ordergraph.api.deadlines import runner_options
from ordergraph.errors import ConfigError, OrdergraphError
from ordergraph.logs import configure_logging, secrets_of
from ordergraph.models import ProviderName
from ordergraph.server import SERVICES, Services, create_app, create_metrics_app
from ordergraph.settings import Settings, load_settings
from ordergraph.store import StoreNotMigratedError

__all__ = [
    "ListenError",
    "StopSignals",
    "bind_socket",
    "configure_process_logging",
    "listen_urls",
    "one_line",
    "open_gateway",
    "run_serve",
]

logger = logging.getLogger(__name__)

# How long requests in flight (and open WebSockets) may take to finish on shutdown.
SHUTDOWN_TIMEOUT = 10.0


class StopSignals:
    """SIGTERM and SIGINT set an event instead of killing the process.

    Create it first thing in the running loop, so a signal during start-up is not lost:
    start-up finishes (or notices ``is_set``) and the process then shuts down cleanly.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            loop.add_signal_handler(sig, self.event.set)

    def is_set(self) -> bool:
        return self.event.is_set()

    async def wait(self) -> None:
        await self.event.wait()

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            loop.remove_signal_handler(sig)


def one_line(exc: BaseException) -> str:
    """An error's message on one line (for ``prog: message`` on stderr)."""
    return " ".join(str(exc).split())


class ListenError(OrdergraphError):
    """The server's address cannot be bound (port in use, not permitted)."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound now so the port (``0``: any free one) is known
    before the application that serves it is built. Raises ``ListenError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        msg = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise ListenError(msg) from None
    sock.setblocking(False)
    return sock


def listen_urls(runner: web.BaseRunner) -> list[str]:
    """``http://host:port`` for every address the runner listens on."""
    urls = []
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            host, port = str(address[0]), int(address[1])
            urls.append(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}")
    return urls


async def _close_services(app: web.Application) -> None:
    await app[SERVICES].close()


async def open_gateway(settings: Settings, *, auto_migrate: bool | None = None) -> web.Application:
    """Open ``Services`` and build the gateway application over them.

    The application closes the services on cleanup (after background sync stopped).
    Raises ``ConfigError`` or ``StoreNotMigratedError`` (nothing is left open then).
    """
    services = await Services.open(settings, auto_migrate=auto_migrate)
    try:
        app = create_app(services, background=True)
        _add_graphql(app, settings)
    except BaseException:
        await services.close()
        raise
    app.on_cleanup.append(_close_services)
    _freeze_startup_objects()
    return app


def _add_graphql(app: web.Application, settings: Settings) -> None:
    if not settings.tracing.enabled:
        add_graphql_routes(app)
        return
    # Imported only when tracing is on: the OpenTelemetry SDK is an optional extra.
    from ordergraph.schema import schema
    from ordergraph.tracing import create_tracer_provider, traced

    provider = create_tracer_provider(settings.tracing)

    async def flush_spans(app: web.Application) -> None:
        provider.shutdown()  # exports what is still buffered

    add_graphql_routes(app, schema=traced(schema, provider))
    app.on_cleanup.append(flush_spans)


def configure_process_logging(settings: Settings, level: str | None = None) -> None:
    """Logging as ``[logging]`` says (``level`` from the command line wins), masking
    every secret the settings hold."""
    configure_logging(
        level=level or settings.logging.level,
        fmt=settings.logging.format,
        secrets=secrets_of(settings),
    )


def _freeze_startup_objects() -> None:
    """Move everything allocated at start-up out of the garbage collector's view.

    Measured (bench/README.md, dashboard query): ~140,000 objects come from imports
    alone; each full collection then walks them all (100-130 ms here), which is the
    whole p99 of a warm query. They live as long as the process, so freezing them
    costs nothing and leaves collection of request garbage unchanged.
    """
    gc.collect()
    gc.freeze()


def _warn_about_public_url(settings: Settings) -> None:
    managed = [
        c.id
        for c in settings.connections
        if c.provider is ProviderName.UNIFIED and c.manage_webhook
    ]
    if managed and not settings.server.public_url:
        logger.warning(
            "server.public_url is not set: Unified webhooks of %s will point at %s",
            ", ".join(managed),
            settings.server.base_url(),
        )


async def _serve(settings: Settings, *, migrate: bool) -> None:
    stop = StopSignals()
    # Bind first: a taken port fails before the store is opened or sync begins.
    sock = bind_socket(settings.server.host, settings.server.port)
    metrics_address = settings.metrics.address()
    metrics_sock = bind_socket(*metrics_address) if metrics_address else None
    try:
        app = await open_gateway(settings, auto_migrate=True if migrate else None)
        # No aiohttp access log: the request-id middleware logs each request once,
        # with its route template instead of the raw path and query string.
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, **runner_options(settings.server)
        )
        metrics = _metrics_runner(app) if metrics_sock else None
        try:
            await runner.setup()
            await web.SockSite(runner, sock, shutdown_timeout=SHUTDOWN_TIMEOUT).start()
            if metrics is not None and metrics_sock is not None:
                await metrics.setup()
                await web.SockSite(metrics, metrics_sock).start()
                logger.info("metrics served at %s/metrics", listen_urls(metrics)[0])
            _warn_about_public_url(settings)
            logger.info(
                "ordergraph serving GraphQL at %s/graphql (%d tenants, %d connections)",
                listen_urls(runner)[0],
                len(settings.tenants),
                len(settings.connections),
            )
            await stop.wait()
            logger.info("stopping: finishing requests in flight and background sync")
        finally:
            if metrics is not None:
                await metrics.cleanup()
            await runner.cleanup()
    finally:
        sock.close()
        if metrics_sock is not None:
            metrics_sock.close()
        stop.close()
    logger.info("stopped")


def _metrics_runner(app: web.Application) -> web.AppRunner:
    """``/metrics`` alone on ``[metrics] listen``, over the gateway's services."""
    return web.AppRunner(create_metrics_app(app[SERVICES]), handle_signals=False, access_log=None)


def _with_address(settings: Settings, host: str | None, port: int | None) -> Settings:
    changes: dict[str, object] = {}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    if not changes:
        return settings
    return settings.model_copy(update={"server": settings.server.model_copy(update=changes)})


def run_serve(
    config: Path | None,
    *,
    host: str | None = None,
    port: int | None = None,
    migrate: bool = False,
    log_level: str | None = None,
) -> int:
    """``ordergraph serve``: 0 after a clean stop, 2 for what the user must fix (the
    settings, an unmigrated store, a port in use), 1 for anything else that stops
    start-up."""
    try:
        settings = _with_address(load_settings(config), host, port)
        configure_process_logging(settings, log_level)
        asyncio.run(_serve(settings, migrate=migrate))
    except StoreNotMigratedError as exc:
        hint = f" (with this config: `ordergraph migrate --config {config}`)" if config else ""
        print(f"ordergraph serve: {one_line(exc)}{hint}", file=sys.stderr)
        return 2
    except (ConfigError, ListenError) as exc:
        print(f"ordergraph serve: {one_line(exc)}", file=sys.stderr)
        return 2
    except OrdergraphError as exc:
        print(f"ordergraph serve: {one_line(exc)}", file=sys.stderr)
        return 1
    return 0
