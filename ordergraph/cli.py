"""The ``ordergraph`` command: ``serve``, ``demo``, ``sandbox``, ``migrate``, ``schema`` and
``hash-key``.

Thin glue: each subcommand parses its flags and calls the module that does the work
(``ordergraph.serve``, ``ordergraph.demo``, the sandbox, the store)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from ordergraph.errors import ConfigError, OrdergraphError
from ordergraph.keys import MIN_KEY_LENGTH, generate_api_key, hash_api_key
from ordergraph.logs import configure_logging
from ordergraph.providers.plugin import ProviderPlugin
from ordergraph.providers.registry import PLUGINS
from ordergraph.sandbox.app import SIMULATORS_KEY, create_sandbox_app
from ordergraph.sandbox.core import SandboxContext
from ordergraph.settings import load_settings
from ordergraph.store import check_schema, migrate, redact_url

__all__ = ["build_parser", "main", "sandbox_context"]


def sandbox_context(args: argparse.Namespace) -> SandboxContext:
    """The simulators' shared state as the ``sandbox`` flags set it."""
    context = SandboxContext(
        seed=args.seed,
        orders_per_account=args.orders,
        accounts_per_provider=args.accounts,
    )
    for plugin in _pushing_plugins():
        url = getattr(args, _webhook_url_dest(plugin))
        if url:
            context.webhook_targets[plugin.name.value] = url
    return context


def _sandbox(args: argparse.Namespace) -> int:
    app = create_sandbox_app(sandbox_context(args))
    labels = {plugin.name.value: plugin.label for plugin in PLUGINS}
    mounts = ", ".join(
        f"{labels.get(name, name)} {simulator.mount}"
        for name, simulator in app[SIMULATORS_KEY].items()
    )
    # Bound before printing, so the line names the real port (``--port 0``: any free one).
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.create_server((args.host, args.port), family=family)
    port = sock.getsockname()[1]
    print(
        f"ordergraph sandbox on http://{args.host}:{port} ({mounts}, control /_sandbox/)",
        flush=True,
    )
    web.run_app(app, sock=sock, print=None)
    return 0


def _pushing_plugins() -> list[ProviderPlugin]:
    """Providers whose simulator is told where to deliver webhooks by a flag
    (``--kombo-webhook-url``): those that send webhooks to a URL set by hand in the
    vendor's dashboard, not one registered through its API."""
    return [p for p in PLUGINS if p.webhooks is not None and not p.registers_webhook]


def _webhook_url_dest(plugin: ProviderPlugin) -> str:
    return f"{plugin.name.value}_webhook_url"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _serve(args: argparse.Namespace) -> int:
    # Imported when used: the GraphQL stack takes a second or two to import, which
    # `migrate` and `sandbox` need not pay.
    from ordergraph.serve import run_serve

    return run_serve(
        args.config,
        host=args.host,
        port=args.port,
        migrate=args.migrate,
        log_level=args.log_level,
        workers=args.workers,
    )


def _demo(args: argparse.Namespace) -> int:
    # Imported here: the demo pulls in the sandbox and seeding, which serve never needs.
    from ordergraph.demo import DemoOptions, run_demo

    return run_demo(
        DemoOptions(
            port=args.port,
            data_dir=args.data_dir,
            seed=args.seed,
            activity=not args.no_activity,
            info_file=args.info_file,
        )
    )


def _migrate(args: argparse.Namespace) -> int:
    if args.store is not None:
        url: str = args.store
    else:
        try:
            url = load_settings(args.config).store.url
        except ConfigError as exc:
            print(f"ordergraph migrate: {_one_line(exc)}", file=sys.stderr)
            return 2
    shown = redact_url(url)

    async def run() -> tuple[str | None, str]:
        before = await check_schema(url)
        after = await migrate(url)
        return before.current, after.head

    try:
        before, head = asyncio.run(run())
    except OrdergraphError as exc:
        print(f"ordergraph migrate: {_one_line(exc)}", file=sys.stderr)
        return 1
    if before == head:
        print(f"store {shown} is already at revision {head}", flush=True)
    else:
        print(f"store {shown} migrated from {before or 'empty'} to revision {head}", flush=True)
    return 0


def _schema(args: argparse.Namespace) -> int:
    # Imported here: the other commands should not pay for loading the schema.
    from ordergraph.schema import schema

    sys.stdout.write(schema.as_str().rstrip() + "\n")
    return 0


def _hash_key(args: argparse.Namespace) -> int:
    """The settings' line for a key: read from stdin (never an argument, which would
    land in the shell history and ``ps``), or a new random key with ``--generate``."""
    if args.generate:
        key = generate_api_key()
        # The key is shown this once; only its hash goes into the settings.
        print(f"key:  {key}", flush=True)
        print(f"hash: {hash_api_key(key)}", flush=True)
        return 0
    # At a terminal the key is typed without echo; otherwise piped (`... | hash-key`).
    text = getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.read()
    lines = text.splitlines()
    key = lines[0].strip() if lines else ""
    if len(lines) > 1 and any(line.strip() for line in lines[1:]):
        print("ordergraph hash-key: give one key on one line", file=sys.stderr)
        return 2
    if len(key) < MIN_KEY_LENGTH:
        print(
            f"ordergraph hash-key: a key needs at least {MIN_KEY_LENGTH} characters "
            f"(this one has {len(key)}); an unsalted hash of a short key can be guessed. "
            "Use `ordergraph hash-key --generate` for a new random key",
            file=sys.stderr,
        )
        return 2
    print(hash_api_key(key), flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ordergraph", description=__doc__)
    parser.add_argument(
        "--log-level",
        default=None,
        help="logging level (default: [logging] level for serve, else INFO)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the simulators of " + ", ".join(plugin.label for plugin in PLUGINS),
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sandbox.add_argument(
        "--port", type=int, default=8900, help="port (default 8900; 0: any free one, printed)"
    )
    sandbox.add_argument("--seed", type=int, default=42, help="data seed (default 42)")
    sandbox.add_argument(
        "--orders", type=int, default=120, help="orders seeded per account (default 120)"
    )
    sandbox.add_argument(
        "--accounts", type=int, default=2, help="accounts per provider (default 2)"
    )
    for plugin in _pushing_plugins():
        sandbox.add_argument(
            f"--{plugin.name.value}-webhook-url",
            dest=_webhook_url_dest(plugin),
            default=None,
            help=f"where {plugin.label} delivers webhooks, if anywhere",
        )
    sandbox.set_defaults(run=_sandbox)

    migrate_command = commands.add_parser(
        "migrate", help="create or upgrade the store's tables to this version"
    )
    store = migrate_command.add_mutually_exclusive_group(required=True)
    store.add_argument(
        "--store",
        metavar="URL",
        help="store URL: sqlite:///path/to/file.db or postgresql://user@host/db",
    )
    store.add_argument(
        "--config", type=Path, metavar="FILE", help="settings file whose [store] url to migrate"
    )
    migrate_command.set_defaults(run=_migrate)
    _add_serve(commands)
    _add_demo(commands)
    return parser


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the gateway (production)")
    serve.add_argument(
        "--config", type=Path, default=None, metavar="FILE",
        help="settings file (TOML; ${ENV_VAR} references allowed); ORDERGRAPH_* variables "
        "override it",
    )  # fmt: skip
    serve.add_argument("--host", default=None, help="address to bind (default: server.host)")
    serve.add_argument("--port", type=int, default=None, help="port (default: server.port)")
    serve.add_argument(
        "--migrate", action="store_true", help="migrate the store first instead of refusing"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes serving the port (default: server.workers, else one per core; "
        "more than one needs PostgreSQL and Redis)",
    )
    serve.set_defaults(run=_serve)


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="the gateway and the three simulators in one process, ready to explore"
    )
    demo.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    demo.add_argument(
        "--data-dir", type=Path, default=Path("data/demo"),
        help="where the SQLite index and the demo's secrets live (default ./data/demo)",
    )  # fmt: skip
    demo.add_argument("--seed", type=int, default=42, help="data and activity seed (default 42)")
    demo.add_argument(
        "--no-activity", action="store_true", help="do not play ATS activity every few seconds"
    )
    demo.add_argument(
        "--info-file", type=Path, default=None,
        help="write URLs, API keys and connections here as JSON once the demo is ready",
    )  # fmt: skip
    demo.set_defaults(run=_demo)

    schema_command = commands.add_parser(
        "schema", help="print the GraphQL schema (SDL); schema.graphql is its snapshot"
    )
    schema_command.set_defaults(run=_schema)

    hash_key = commands.add_parser(
        "hash-key",
        help="print the sha256:... hash of an API key (read from stdin) for [[tenants.keys]]",
    )
    hash_key.add_argument(
        "--generate", action="store_true", help="make a new random key; print it and its hash"
    )
    hash_key.set_defaults(run=_hash_key)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Until a command knows its settings (serve and demo reconfigure with them).
    configure_logging(level=args.log_level or "INFO", fmt="text")
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
