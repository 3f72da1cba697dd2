"""The ``ordergraph`` command: ``sandbox`` now; ``serve``, ``demo``, ``migrate`` and
``schema`` arrive with the store and GraphQL layers."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from ordergraph.errors import OrdergraphError
from ordergraph.sandbox.app import create_sandbox_app
from ordergraph.sandbox.core import SandboxContext
from ordergraph.store import check_schema, migrate, redact_url

__all__ = ["main"]


def _sandbox(args: argparse.Namespace) -> int:
    context = SandboxContext(
        seed=args.seed,
        orders_per_account=args.orders,
        accounts_per_provider=args.accounts,
    )
    if args.kombo_webhook_url:
        context.webhook_targets["kombo"] = args.kombo_webhook_url
    app = create_sandbox_app(context)
    print(
        f"ordergraph sandbox on http://{args.host}:{args.port} "
        f"(Unified /unified, StackOne /stackone, Kombo /kombo/v1, control /_sandbox/)",
        flush=True,
    )
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    shown = redact_url(args.store)

    async def run() -> tuple[str | None, str]:
        before = await check_schema(args.store)
        after = await migrate(args.store)
        return before.current, after.head

    try:
        before, head = asyncio.run(run())
    except OrdergraphError as exc:
        print(f"ordergraph migrate: {exc}", file=sys.stderr)
        return 1
    if before == head:
        print(f"store {shown} is already at revision {head}", flush=True)
    else:
        print(f"store {shown} migrated from {before or 'empty'} to revision {head}", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ordergraph", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    commands = parser.add_subparsers(dest="command", required=True)

    sandbox = commands.add_parser(
        "sandbox", help="serve the Unified.to, StackOne and Kombo simulators"
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8900, help="port (default 8900)")
    sandbox.add_argument("--seed", type=int, default=42, help="data seed (default 42)")
    sandbox.add_argument(
        "--orders", type=int, default=120, help="orders seeded per account (default 120)"
    )
    sandbox.add_argument(
        "--accounts", type=int, default=2, help="accounts per provider (default 2)"
    )
    sandbox.add_argument(
        "--kombo-webhook-url", default=None, help="where Kombo delivers webhooks, if anywhere"
    )
    sandbox.set_defaults(run=_sandbox)

    migrate_command = commands.add_parser(
        "migrate", help="create or upgrade the store's tables to this version"
    )
    migrate_command.add_argument(
        "--store",
        required=True,
        metavar="URL",
        help="store URL: sqlite:///path/to/file.db or postgresql://user@host/db",
    )
    migrate_command.set_defaults(run=_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
