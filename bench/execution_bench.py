"""Execution benchmark: ordergraph's schema in process against graphql-core's floor.

    python -m bench.execution_bench --backend sqlite
    python -m bench.execution_bench --backend sqlite --profile orders50

One process, loopback only. It fills an order index the real way (the set-up of
``bench/dashboard_bench.py``: sandbox, gateway, Kombo poll, Unified webhooks, StackOne
``createOrder``), then executes two queries as ``acme``, in process (no HTTP, no
response cache), each with a fresh context (fresh dataloaders) as a request has:

- **orders50**: 50 orders with candidate, job, hiring team and package id (no
  provider call, everything comes from the index);
- **dashboard**: the dashboard query of ``bench/dashboard_bench.py`` (package names
  from the cached package lists, result scores).

The floor is graphql-core's own ``execute()`` over a schema built from the committed
``schema.graphql`` with default resolvers over the very JSON answer ordergraph gave,
held in memory, with the document parsed and validated once: what executing that
answer's shape costs at the least. Prints ms per execution (p50/p99) and the ratio,
and writes ``bench/results/execution-<backend>.json``. ``--profile NAME`` instead
runs that query under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import graphql
from sqlalchemy.engine import make_url

from bench.dashboard_bench import DASHBOARD, TENANT, fill_index, start_system, stop_system
from bench.support import ADMIN_URL, RESULTS, ms, percentile, write_results
from ordergraph.keys import Scope
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema as ordergraph_schema

ORDERS50 = """
{ orders(first: 50) { edges { node { id remoteId status package { id }
  candidate { emails firstName lastName } job { title hiringTeam { email } } } } } }
"""

QUERIES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "orders50": (ORDERS50, None),
    "dashboard": (DASHBOARD, {"first": 50}),
}
SDL = Path(__file__).resolve().parent.parent / "schema.graphql"


def _latency(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50_ms": ms(percentile(samples, 50)),
        "p99_ms": ms(percentile(samples, 99)),
        "mean_ms": ms(statistics.fmean(samples)),
        "min_ms": ms(min(samples)),
    }


async def _repeat(run: Callable[[], Awaitable[Any]], iterations: int) -> list[float]:
    for _ in range(min(20, iterations)):  # warm up: caches, package lists, JIT-free paths
        await run()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - t0)
    return samples


def _ordergraph_runner(
    services: Any, query: str, variables: dict[str, Any] | None
) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def execute() -> dict[str, Any]:
        # A fresh context per execution: fresh dataloaders, as each request gets.
        context = Context(services=services, tenant=TENANT, scopes=frozenset({Scope.READ}))
        result = await ordergraph_schema.execute(
            query, variable_values=variables, context_value=context
        )
        if result.errors or result.data is None:
            raise SystemExit(f"in-process execution failed: {result.errors}")
        return result.data

    return execute


def _floor_runner(
    core_schema: graphql.GraphQLSchema,
    query: str,
    variables: dict[str, Any] | None,
    data: dict[str, Any],
) -> Callable[[], Awaitable[None]]:
    document = graphql.parse(query)
    problems = graphql.validate(core_schema, document)
    if problems:
        raise SystemExit(f"floor schema does not validate the query: {problems}")

    async def execute() -> None:
        result = graphql.execute(core_schema, document, root_value=data, variable_values=variables)
        if graphql.pyutils.is_awaitable(result):
            result = await result  # type: ignore[misc]
        assert isinstance(result, graphql.ExecutionResult)
        if result.errors or result.data != data:
            raise SystemExit(f"floor answer differs: {result.errors}")

    return execute


async def _profile(run: Callable[[], Awaitable[Any]], iterations: int, top: int) -> None:
    for _ in range(20):
        await run()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        await run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


async def benchmark(args: argparse.Namespace, store_url: str) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    system = await start_system(args, store_url)
    try:
        print("filling the index (Kombo poll, Unified webhooks, StackOne createOrder) ...")
        filled = await fill_index(system, args)
        print(f"  {filled['orders_total']} orders in {filled['seconds']} s")
        core_schema = graphql.build_schema(SDL.read_text())
        if args.profile:
            query, variables = QUERIES[args.profile]
            await _profile(
                _ordergraph_runner(system.services, query, variables), args.iterations, args.top
            )
            return {}
        measured: dict[str, Any] = {}
        for name, (query, variables) in QUERIES.items():
            print(f"{name}: {args.iterations} executions each ...")
            execute = _ordergraph_runner(system.services, query, variables)
            data = await execute()
            gc.collect()
            ours = _latency(await _repeat(execute, args.iterations))
            gc.collect()
            floor = _latency(
                await _repeat(_floor_runner(core_schema, query, variables, data), args.iterations)
            )
            measured[name] = {
                "ordergraph": ours,
                "graphql_core_floor": floor,
                "ratio_p50": round(ours["p50_ms"] / floor["p50_ms"], 2),
                "answer_orders": len(data["orders"]["edges"]),
            }
    finally:
        await stop_system(system)
    return {
        "backend": args.backend,
        "command": "python -m bench.execution_bench " + " ".join(sys.argv[1:]),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "graphql_core": graphql.__version__,
            "loadavg_at_start": load_at_start,
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "orders_per_account": args.orders_per_account,
            "live_rounds": args.live_rounds,
            "iterations": args.iterations,
            "label": args.label,
        },
        "index": filled,
        "queries": {name: query.strip() for name, (query, _) in QUERIES.items()},
        "results": measured,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """``benchmark`` over a scratch store: a temporary SQLite file or PostgreSQL database."""
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="og-execution-") as scratch:
            url = f"sqlite:///{scratch}/bench.db"
            return await asyncio.wait_for(benchmark(args, url), timeout=args.timeout)
    database = f"og_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(args.admin_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    url = make_url(args.admin_url).set(database=database).render_as_string(hide_password=False)
    try:
        return await asyncio.wait_for(benchmark(args, url), timeout=args.timeout)
    finally:
        admin = await asyncpg.connect(args.admin_url)
        with contextlib.suppress(asyncpg.PostgresError):
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"backend {result['backend']}, {result['machine']['nproc']} CPUs, Python "
        f"{result['machine']['python']}, index {result['index']['orders_total']} orders, "
        f"load at end {result['machine']['loadavg_at_end']}",
        "",
        f"{'query':<12} {'ordergraph p50/p99/min ms':>27} {'floor p50/p99/min ms':>24} "
        f"{'ratio p50':>9}",
    ]
    for name, figures in result["results"].items():
        ours, floor = figures["ordergraph"], figures["graphql_core_floor"]
        lines.append(
            f"{name:<12} {ours['p50_ms']:>9.2f} / {ours['p99_ms']:>6.2f} / {ours['min_ms']:<6.2f}"
            f"{floor['p50_ms']:>8.2f} / {floor['p99_ms']:>6.2f} / {floor['min_ms']:<6.2f}"
            f"{figures['ratio_p50']:>6.2f}x"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.execution_bench", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--orders-per-account", type=int, default=100)
    parser.add_argument("--live-rounds", type=int, default=10, help="new orders per connection")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", choices=sorted(QUERIES), default=None)
    parser.add_argument("--top", type=int, default=35, help="functions shown by --profile")
    parser.add_argument("--label", default="", help="recorded with the results (e.g. before)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after seconds")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--out", type=Path, default=None, help="results JSON path")
    args = parser.parse_args(argv)
    # The dashboard set-up's own options this benchmark does not vary.
    args.logs = "off"
    result = asyncio.run(run(args))
    if args.profile:
        return 0
    out = args.out or RESULTS / f"execution-{args.backend}.json"
    write_results(out, result, summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
