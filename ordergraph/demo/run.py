"""``ordergraph demo``: the three simulators and the gateway in one process.

Layout: the gateway listens on ``127.0.0.1:<port>`` (GraphQL and GraphiQL at
``/graphql``, webhooks at ``/webhooks/...``); the sandbox listens on a second loopback
port chosen automatically, serving exactly what ``ordergraph sandbox`` serves (so its
``/_sandbox/stats`` route templates are the same). Both are bound before anything is
built, so the URLs the connections and webhooks use are known up front.

Start-up order: bind both ports; start the sandbox (seeded from ``--seed``, Kombo's
dashboard webhook pointing at the gateway); open the gateway (a fresh SQLite index
under the data dir, migrated) and start it, which starts Kombo's pollers and Unified's
webhook registrations; place the StackOne orders; wait (bounded) for the Unified
registrations; print the URLs and keys and write the info file; play activity until
SIGTERM or SIGINT. Shutdown undoes this in reverse and removes the info file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ordergraph.demo.activity import Activity
from ordergraph.demo.config import (
    STORE_FILE,
    DemoSecrets,
    demo_connections,
    demo_providers,
    demo_settings,
    info_document,
    write_json_atomically,
)
from ordergraph.demo.orders import NewOrders, seed_stackone
from ordergraph.errors import ConfigError, OrdergraphError
from ordergraph.graphiql import GRAPHIQL_WELCOME, GraphiQLWelcome
from ordergraph.logs import configure_logging, secrets_of
from ordergraph.providers.base import Capability
from ordergraph.providers.registry import PLUGINS
from ordergraph.sandbox.app import SIMULATORS_KEY, create_sandbox_app
from ordergraph.sandbox.core import SandboxContext, Simulator
from ordergraph.serve import ListenError, StopSignals, bind_socket, one_line, open_gateway
from ordergraph.services import SERVICES, Services
from ordergraph.settings import Settings

__all__ = ["DemoOptions", "run_demo"]

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
# Seeded orders per Unified and Kombo account: enough to page through, quick to sync.
ORDERS_PER_ACCOUNT = 60
# How long the demo waits for Unified to accept its webhook registrations.
REGISTRATION_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 3.0


@dataclass(frozen=True)
class DemoOptions:
    """The flags of ``ordergraph demo``."""

    port: int = 8000
    data_dir: Path = Path("data/demo")
    seed: int = 42
    activity: bool = True
    info_file: Path | None = None


def _fresh_store(data_dir: Path) -> str:
    """A SQLite URL for an empty index under ``data_dir``.

    The simulators start over from the seed on every run, so yesterday's index would
    hold orders they no longer know; the index is rebuilt, the secrets are kept.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    database = (data_dir / STORE_FILE).resolve()
    for suffix in ("", "-wal", "-shm", "-journal"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    return f"sqlite:///{database}"


async def _start(app: web.Application, sock: socket.socket) -> web.AppRunner:
    # No access log: the activity, the pollers and GraphiQL would drown the console.
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, shutdown_timeout=SHUTDOWN_TIMEOUT).start()
    return runner


async def _wait_for_registrations(services: Services, stop: StopSignals) -> None:
    """Until every connection whose webhook ordergraph registers (Unified's) has it
    registered (the backfill is then on its way), SIGTERM, or the timeout: the demo is
    usable either way."""
    pending = {c.id for c in services.connections.with_capability(Capability.REGISTER_WEBHOOK)}
    deadline = asyncio.get_running_loop().time() + REGISTRATION_TIMEOUT
    while pending and not stop.is_set():
        for connection_id in sorted(pending):
            state = await services.store.sync_state.get(connection_id)
            # Written by ensure_webhook once the vendor accepted the subscription
            # (ProviderConnection.syncStatus reads the same key).
            if state is not None and state.details.get("webhook_ids"):
                pending.discard(connection_id)
        if asyncio.get_running_loop().time() > deadline:
            logger.warning("webhooks not registered yet for %s", ", ".join(pending))
            return
        await asyncio.sleep(0.1)


def _graphiql_welcome(settings: Settings, demo_secrets: DemoSecrets) -> GraphiQLWelcome:
    """The demo's page names where its keys are and starts with the first tenant's key
    (the demo's own, printed keys; ``serve`` never puts a key in the page)."""
    first = settings.tenants[0].name
    others = ", ".join(t.name for t in settings.tenants[1:])
    hint = (
        f"Demo: the Headers tab below already holds the API key of tenant {first!r}. "
        "Every tenant's key is printed in the terminal running `ordergraph demo` "
        "(and written to its --info-file)"
    )
    hint += f"; try {others}'s to see another tenant." if others else "."
    key = demo_secrets.api_keys[first]
    return GraphiQLWelcome(key_hint=hint, headers={"Authorization": f"Bearer {key}"})


def _banner(
    settings: Settings,
    demo_secrets: DemoSecrets,
    graphql_url: str,
    sandbox_url: str,
    options: DemoOptions,
) -> str:
    lines = [
        "",
        "ordergraph demo is ready",
        f"  GraphiQL:  {graphql_url}",
        f"  sandbox:   {sandbox_url}  (control API under /_sandbox/)",
        f"  data dir:  {options.data_dir}",
        "",
        'API keys (in GraphiQL\'s Headers tab: {"Authorization": "Bearer <key>"}):',
    ]
    for tenant in settings.tenants:
        names = ", ".join(c.id for c in settings.connections_of(tenant.name))
        lines.append(f"  {tenant.name:<7} {demo_secrets.api_keys[tenant.name]}  ({names})")
    lines += [
        "",
        "Try: { orders(first: 5) { totalCount edges { node { id provider status } } } }",
        "ATS activity every few seconds (subscribe to see it)"
        if options.activity
        else "No ATS activity (--no-activity)",
        "Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


@dataclass
class _Demo:
    options: DemoOptions
    stop: StopSignals
    sandbox: web.AppRunner | None = None
    gateway: web.AppRunner | None = None
    activity: asyncio.Task[None] | None = None
    activity_stop: asyncio.Event | None = None
    sockets: tuple[socket.socket, ...] = ()

    async def start(self) -> None:
        options = self.options
        if options.info_file is not None:
            options.info_file.unlink(missing_ok=True)  # scripts wait for a fresh one
        gateway_sock = bind_socket(HOST, options.port)
        sandbox_sock = bind_socket(HOST, 0)
        self.sockets = (gateway_sock, sandbox_sock)
        port = gateway_sock.getsockname()[1]
        gateway_url = f"http://{HOST}:{port}"
        sandbox_url = f"http://{HOST}:{sandbox_sock.getsockname()[1]}"

        context = SandboxContext(
            seed=options.seed, orders_per_account=ORDERS_PER_ACCOUNT, accounts_per_provider=2
        )
        for plugin in PLUGINS:
            # Vendors told our URL by hand (Kombo's dashboard): the simulator is told here.
            route = plugin.webhooks
            if route is not None and not route.per_connection and not plugin.registers_webhook:
                context.webhook_targets[plugin.name.value] = gateway_url + route.route
        sandbox_app = create_sandbox_app(context)
        self.sandbox = await _start(sandbox_app, sandbox_sock)
        simulators: dict[str, Simulator] = sandbox_app[SIMULATORS_KEY]

        demo_secrets = DemoSecrets.load_or_create(options.data_dir)
        accounts = [a for sim in simulators.values() for a in sim.accounts()]
        bases = {name: sandbox_url + sim.mount for name, sim in simulators.items()}
        settings = demo_settings(
            host=HOST,
            port=port,
            store_url=_fresh_store(options.data_dir),
            demo_secrets=demo_secrets,
            connections=demo_connections(accounts, bases),
            providers=demo_providers(
                accounts,
                bases,
                {name: getattr(sim, "workspace_id", None) for name, sim in simulators.items()},
            ),
        )
        # Now that the secrets are known, every log line masks them.
        configure_logging(
            level=logging.getLevelName(logging.getLogger().level),
            fmt=settings.logging.format,
            secrets=secrets_of(settings),
        )
        gateway_app = await open_gateway(settings, auto_migrate=True)
        gateway_app[GRAPHIQL_WELCOME] = _graphiql_welcome(settings, demo_secrets)
        self.gateway = await _start(gateway_app, gateway_sock)
        services = gateway_app[SERVICES]

        stackone_orders = await seed_stackone(services, seed=options.seed)
        await _wait_for_registrations(services, self.stop)
        if self.stop.is_set():
            return  # stopped while starting: announce nothing that is about to go away
        print(
            _banner(settings, demo_secrets, f"{gateway_url}/graphql", sandbox_url, options),
            flush=True,
        )
        if options.info_file is not None:
            info = info_document(settings, demo_secrets, f"{gateway_url}/graphql", sandbox_url)
            write_json_atomically(options.info_file, info)
        if options.activity:
            self._play(services, simulators, stackone_orders)

    def _play(
        self,
        services: Services,
        simulators: dict[str, Simulator],
        stackone_orders: dict[str, NewOrders],
    ) -> None:
        self.activity_stop = asyncio.Event()
        activity = Activity(services, simulators, stackone_orders, seed=self.options.seed)
        self.activity = asyncio.create_task(activity.run(self.activity_stop))

    async def close(self) -> None:
        if self.activity is not None and self.activity_stop is not None:
            self.activity_stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self.activity
        if self.options.info_file is not None:
            self.options.info_file.unlink(missing_ok=True)
        # The gateway first: its pollers and registrations still talk to the sandbox.
        for runner in (self.gateway, self.sandbox):
            if runner is not None:
                await runner.cleanup()
        for sock in self.sockets:
            sock.close()


async def _run(options: DemoOptions) -> None:
    stop = StopSignals()
    demo = _Demo(options, stop)
    try:
        await demo.start()
        await stop.wait()
        logger.info("stopping the demo")
    finally:
        await demo.close()
        stop.close()


def _quiet_routine_logs() -> None:
    """Migration chatter and a report per poll cycle would bury the activity lines;
    ``--log-level DEBUG`` shows them again."""
    if logging.getLogger().getEffectiveLevel() >= logging.INFO:
        for name in ("alembic", "ordergraph.sync.poller", "ordergraph.requests"):
            logging.getLogger(name).setLevel(logging.WARNING)


def run_demo(options: DemoOptions) -> int:
    """``ordergraph demo``: 0 after a clean stop (SIGTERM, SIGINT); 2 when it cannot
    start for a reason the user can fix (a port in use), 1 for other failures."""
    _quiet_routine_logs()
    try:
        asyncio.run(_run(options))
    except (ConfigError, ListenError) as exc:
        print(f"ordergraph demo: {one_line(exc)}", file=sys.stderr)
        return 2
    except OrdergraphError as exc:
        print(f"ordergraph demo: {one_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        # The data dir (not writable, a file in the way); no secret is in the message.
        print(f"ordergraph demo: {exc.filename or options.data_dir}: {exc.strerror or exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0
