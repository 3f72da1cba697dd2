"""Garbage collections on the request path: what a cache hit and a full execution cost.

    python -m bench.gc_bench                       # CPython's default young threshold
    python -m bench.gc_bench --young-threshold 50000

One process: a gateway (``create_app`` + ``add_graphql_routes``) over a temporary
SQLite index, frozen after start-up as ``serve`` does (``gc.collect(); gc.freeze()``),
then asked sequentially by an aiohttp client in the same process: ``--hits`` cache hits
and ``--executions`` full executions (``Cache-Control: no-cache``) of an
``orders(first: 50)`` query. Every collection during each phase is timed through
``gc.callbacks``: how many per generation, their total and longest pause. Prints the
figures and writes ``bench/results/gc-<young threshold>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bench.support import RESULTS, ms, percentile, write_results
from ordergraph.api import add_graphql_routes
from ordergraph.keys import Scope, hash_api_key
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings

API_KEY = "bench-gc-key-0a9b8c"
QUERY = "{ orders(first: 50) { edges { node { id remoteId status } } } }"


class Collections:
    """Collections per generation while it listens: count, total and longest pause."""

    def __init__(self) -> None:
        self.by_generation: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.by_generation[info["generation"]].append(time.perf_counter() - self._started)

    def summary(self) -> dict[str, Any]:
        return {
            f"gen{generation}": {
                "count": len(pauses),
                "total_ms": ms(sum(pauses)),
                "max_ms": ms(max(pauses, default=0.0)),
            }
            for generation, pauses in self.by_generation.items()
        }


async def _phase(
    session: aiohttp.ClientSession, url: str, count: int, headers: dict[str, str]
) -> dict[str, Any]:
    collections = Collections()
    latencies = []
    gc.callbacks.append(collections)
    try:
        for _ in range(count):
            started = time.perf_counter()
            async with session.post(url, json={"query": QUERY}, headers=headers) as response:
                await response.read()
                assert response.status == 200
            latencies.append(time.perf_counter() - started)
    finally:
        gc.callbacks.remove(collections)
    return {
        "requests": count,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(max(latencies)),
        "collections": collections.summary(),
    }


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="og-gc-") as folder:
        settings = load_settings(
            environ={},
            overrides={
                "store": {
                    "url": f"sqlite:///{Path(folder) / 'index.db'}",
                    "cursor_secret": "bench-gc-cursor-secret",
                },
                "tenants": [
                    {
                        "name": "acme",
                        "keys": [{"hash": hash_api_key(API_KEY), "scopes": [str(Scope.READ)]}],
                    }
                ],
            },
        )
        services = await Services.open(settings, auto_migrate=True)
        app = create_app(services, background=False)
        add_graphql_routes(app)
        gc.collect()
        gc.freeze()
        if args.young_threshold is not None:
            _, middle, old = gc.get_threshold()
            gc.set_threshold(args.young_threshold, middle, old)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        url = str(server.make_url("/graphql"))
        authorization = {"Authorization": f"Bearer {API_KEY}"}
        try:
            async with aiohttp.ClientSession() as session:
                await _phase(session, url, 50, {**authorization, "Cache-Control": "no-cache"})
                hits = await _phase(session, url, args.hits, authorization)
                executions = await _phase(
                    session, url, args.executions, {**authorization, "Cache-Control": "no-cache"}
                )
        finally:
            await server.close()
            await services.close()
    return {
        "young_threshold": gc.get_threshold()[0],
        "hit": hits,
        "full_execution": executions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hits", type=int, default=3000)
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument("--young-threshold", type=int, default=None)
    args = parser.parse_args()
    load_before = Path("/proc/loadavg").read_text().strip()
    result = asyncio.run(benchmark(args))
    result["loadavg"] = load_before
    lines = [f"young threshold {result['young_threshold']}, load {result['loadavg']}"]
    for name in ("hit", "full_execution"):
        phase = result[name]
        lines.append(
            f"{name:<15} p50 {phase['p50_ms']:>7.2f} ms  p99 {phase['p99_ms']:>7.2f} ms"
            f"  collections {phase['collections']}"
        )
    write_results(RESULTS / f"gc-{result['young_threshold']}.json", result, "\n".join(lines))


if __name__ == "__main__":
    main()
