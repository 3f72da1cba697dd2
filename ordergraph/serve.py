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
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from ordergraph.api import add_graphql_routes
from ordergraph.api.deadlines import runner_options
from ordergraph.errors import ConfigError, OrdergraphError
from ordergraph.logs import configure_logging, secrets_of
from ordergraph.providers.registry import plugin_of
from ordergraph.server import create_app, create_metrics_app
from ordergraph.services import SERVICES, Services
from ordergraph.settings import Settings, load_settings
from ordergraph.store import StoreNotMigratedError
from ordergraph.store import migrate as migrate_store
from ordergraph.workers import WORKER_HEADER, ListenError, plan_workers, run_workers

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


# Allocations (net of frees) between young-generation collections; CPython's default
# is 700. A full execution allocates thousands of objects, so at 700 300 executions
# ran 25 young and 3 middle collections (the longest 5 ms); at 50,000, none
# (bench/gc_bench.py). Request garbage is mostly freed by reference counting anyway,
# so the collector has little to find and memory stays flat.
GC_YOUNG_THRESHOLD = 50_000


def _freeze_startup_objects() -> None:
    """Move everything allocated at start-up out of the garbage collector's view, and
    collect young objects less often.

    Measured (bench/README.md, dashboard query): ~140,000 objects come from imports
    alone; each full collection then walks them all (100-130 ms here), which is the
    whole p99 of a warm query. They live as long as the process, so freezing them
    costs nothing and leaves collection of request garbage unchanged. Used by
    ``serve`` (every worker) and the demo, both through ``open_gateway``.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _warn_about_public_url(settings: Settings) -> None:
    managed = [
        c.id
        for c in settings.connections
        if plugin_of(c.provider).registers_webhook and c.manage_webhook
    ]
    if managed and not settings.server.public_url:
        logger.warning(
            "server.public_url is not set: the webhooks registered for %s will point at %s",
            ", ".join(managed),
            settings.server.base_url(),
        )


def _name_the_worker(app: web.Application, number: int) -> None:
    """Every response says which worker answered (a number, never the pid)."""
    value = str(number)

    async def add_header(request: web.Request, response: web.StreamResponse) -> None:
        response.headers[WORKER_HEADER] = value

    app.on_response_prepare.append(add_header)


def _bind_metrics(settings: Settings, worker: int | None) -> socket.socket | None:
    """The socket of ``[metrics] listen``, if set. Each worker has its own registry, so
    each serves its own metrics: worker n (1..N) on the listen port + n - 1 (port 0:
    any free port each), and a scraper lists one target per worker."""
    address = settings.metrics.address()
    if address is None:
        return None
    host, port = address
    if worker is not None and port:
        port += worker - 1
    return bind_socket(host, port)


async def _serve(
    settings: Settings,
    *,
    migrate: bool,
    sock: socket.socket | None = None,
    worker: int | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; on ``sock`` when given (a worker's), else on a socket
    bound to the settings' address."""
    stop = StopSignals()
    # Bind first: a taken port fails before the store is opened or sync begins.
    if sock is None:
        sock = bind_socket(settings.server.host, settings.server.port)
    metrics_sock = _bind_metrics(settings, worker)
    try:
        app = await open_gateway(settings, auto_migrate=True if migrate else None)
        if worker is not None:
            _name_the_worker(app, worker)
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
                "ordergraph serving GraphQL at %s/graphql (%d tenants, %d connections%s)",
                listen_urls(runner)[0],
                len(settings.tenants),
                len(settings.connections),
                f", worker {worker}" if worker is not None else "",
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


def _run_worker(
    settings: Settings, config: Path | None, log_level: str | None
) -> Callable[[int, socket.socket], int]:
    def work(number: int, sock: socket.socket) -> int:
        # A fresh handler: the parent's log writer thread does not survive the fork.
        configure_process_logging(settings, log_level)
        return _exit_code(
            config, lambda: asyncio.run(_serve(settings, migrate=False, sock=sock, worker=number))
        )

    return work


def _serve_with_workers(
    settings: Settings,
    config: Path | None,
    *,
    workers: int | None,
    migrate: bool,
    log_level: str | None,
) -> int:
    plan = plan_workers(settings, workers)
    if plan.reduced_because:
        logger.warning(
            "running 1 worker, not one per core (%d): %s",
            os.cpu_count() or 1,
            "; ".join(plan.reduced_because),
        )
    if plan.count == 1:
        asyncio.run(_serve(settings, migrate=migrate))
        return 0
    if migrate:
        # Once, before any worker opens the store (they would race to migrate it).
        asyncio.run(migrate_store(settings.store.url))
    return run_workers(
        settings.server.host,
        settings.server.port,
        plan.count,
        _run_worker(settings, config, log_level),
    )


def run_serve(
    config: Path | None,
    *,
    host: str | None = None,
    port: int | None = None,
    migrate: bool = False,
    log_level: str | None = None,
    workers: int | None = None,
) -> int:
    """``ordergraph serve``: 0 after a clean stop, 2 for what the user must fix (the
    settings, an unmigrated store, a port in use), 1 for anything else that stops
    start-up. ``workers``: processes on the port (``ordergraph.workers``; None:
    ``server.workers``, else one per core)."""

    def serve() -> int:
        settings = _with_address(load_settings(config), host, port)
        configure_process_logging(settings, log_level)
        return _serve_with_workers(
            settings, config, workers=workers, migrate=migrate, log_level=log_level
        )

    return _exit_code(config, serve)


def _exit_code(config: Path | None, run: Callable[[], int | None]) -> int:
    """Run ``run``; report what stops it as ``ordergraph serve: ...`` with an exit code."""
    try:
        code = run()
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
    return code or 0
