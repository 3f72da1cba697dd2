"""Durable result delivery under provider trouble: ``submitResult`` and the deliverer.

    python -m bench.delivery_bench --backend sqlite
    python -m bench.delivery_bench --backend postgresql

One process, loopback only: the sandbox (one StackOne and one Kombo account) and a
gateway as ``serve`` runs it (``create_app`` with its background tasks, so the result
deliverer's loop runs; GraphQL routes; metrics; JSON logs, written to a scratch file),
tenant ``acme`` with a ``read``+``write`` key. StackOne orders are created through the
provider (``createOrder``); Kombo orders are live sandbox orders indexed by a poll
(Kombo takes results only while an order is OPEN, so the latency phase sends
IN_PROGRESS results, which keep it OPEN).

1. **latency**: ``submitResult`` over HTTP, one at a time, with the provider healthy
   (the first attempt delivers inline: DELIVERED) and down (sandbox faults, every
   request a 503: PENDING);
2. **backlog**: ``--results`` StackOne results (plus one per OPEN Kombo order) submitted
   while both providers are down, ``--submit-concurrency`` at a time; then the faults
   are cleared and the clock runs until the store's queue is empty. The sandbox's
   request counters give the failed write calls before the clear and the write calls
   after it (each must land exactly once); its ground truth must hold every result;
3. **flaky** (``--flaky-results``, 0 skips it): 10% of provider requests answer 429 or
   503, every request waits 20-80 ms; time until all are delivered, and the retries the
   gateway counted (``ordergraph_upstream_retries_total`` on ``/metrics``).

The ``[delivery]`` backoff is shortened for the bench (base 0.2 s, cap 2 s, poll 0.5 s):
production's defaults (2 s base, 900 s cap) would make the drain a matter of minutes by
design. Prints a table and writes ``bench/results/delivery-<backend>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from strawberry import relay

from bench.dashboard_bench import CpuShare, _new_order, _start
from bench.support import ADMIN_URL, RESULTS, ms, percentile, write_results
from ordergraph.api import add_graphql_routes
from ordergraph.keys import hash_api_key
from ordergraph.logs import configure_logging, secrets_of
from ordergraph.resolvers.mutations import create_order_for_connection
from ordergraph.sandbox.app import create_sandbox_app
from ordergraph.sandbox.core import SandboxContext
from ordergraph.sandbox.data import OrderFactory
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import Settings, load_settings
from ordergraph.store import DeliveryState
from ordergraph.sync.connections import LiveConnection
from ordergraph.sync.poller import OrderPoller

TENANT = "acme"
KEY = "bench-key-acme"
METRICS_TOKEN = uuid.uuid4().hex  # /metrics needs a token on the API port
PROVIDERS = ("stackone", "kombo")
DOWN = {"error_rate": 1.0, "statuses": [503]}
FLAKY = {"error_rate": 0.1, "statuses": [429, 503], "latency_ms": [20, 80]}
# Short on purpose (see the module docstring); everything else is the default.
DELIVERY = {"poll_interval": 0.5, "backoff_base": 0.2, "backoff_cap": 2.0, "max_attempts": 1000}

SUBMIT = """
mutation Submit($input: SubmitResultInput!) {
  submitResult(input: $input) {
    order { id resultDelivery { state attempts } }
    errors { code message }
  }
}
"""


def _latency(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50_ms": ms(percentile(samples, 50)),
        "p99_ms": ms(percentile(samples, 99)),
        "mean_ms": ms(statistics.fmean(samples)),
        "max_ms": ms(max(samples)),
    }


@dataclass
class System:
    sandbox_url: str
    sandbox: SandboxContext
    gateway_url: str
    services: Services
    session: aiohttp.ClientSession
    runners: list[web.AppRunner] = field(default_factory=list)

    def connection(self, provider: str) -> LiveConnection:
        live = self.services.connections.get(f"{TENANT}-{provider}")
        assert live is not None
        return live

    def writes(self) -> Counter[str]:
        """Non-GET requests the simulators served (faulted ones included), by provider."""
        counts: Counter[str] = Counter()
        for provider, routes in self.sandbox.stats.counts.items():
            counts[provider] += sum(n for route, n in routes.items() if not route.startswith("GET"))
        return counts

    async def control(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.session.request(
            method, f"{self.sandbox_url}/_sandbox/{path}", json=payload
        ) as response:
            body = await response.json()
            if response.status >= 300:
                raise SystemExit(f"sandbox {method} {path}: {response.status} {body}")
            return body

    async def faults(self, faults: dict[str, Any]) -> None:
        await self.control("POST", "faults", faults)

    async def truth(self, provider: str) -> dict[str, dict[str, Any]]:
        account = self.connection(provider).settings.account
        rows = await self.control("GET", f"orders?provider={provider}&account={account}")
        return {row["id"]: row for row in rows["orders"]}

    async def submit(self, order_id: str, result: dict[str, Any]) -> tuple[float, str]:
        """One ``submitResult`` over HTTP: its latency and the delivery state answered."""
        t0 = time.perf_counter()
        async with self.session.post(
            self.gateway_url + "/graphql",
            json={"query": SUBMIT, "variables": {"input": {"orderId": order_id, **result}}},
            headers={"Authorization": f"Bearer {KEY}"},
        ) as response:
            body = await response.json(content_type=None)
        elapsed = time.perf_counter() - t0
        payload = (body.get("data") or {}).get("submitResult") or {}
        if response.status != 200 or body.get("errors") or payload.get("errors"):
            raise SystemExit(f"submitResult failed: {response.status} {body}")
        return elapsed, str(payload["order"]["resultDelivery"]["state"])

    async def metric(self, name: str) -> dict[str, float]:
        """A counter's samples from ``/metrics``, summed by provider."""
        scraper = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with self.session.get(self.gateway_url + "/metrics", headers=scraper) as response:
            text = await response.text()
        by_provider: Counter[str] = Counter()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name:
                    by_provider[sample.labels.get("provider", "")] += sample.value
        return dict(by_provider)

    async def backlog(self) -> int:
        return (await self.services.store.deliveries.backlog(TENANT)).total

    async def drained(self, within: float) -> float:
        """Seconds until no delivery is pending or in flight (polling every 20 ms)."""
        started = time.perf_counter()
        while await self.backlog():
            if time.perf_counter() - started > within:
                raise SystemExit(f"deliveries not drained within {within} s")
            await asyncio.sleep(0.02)
        return time.perf_counter() - started


def _settings(
    args: argparse.Namespace, store_url: str, sandbox_url: str, accounts: Any
) -> Settings:
    bases = {"stackone": "/stackone", "kombo": "/kombo/v1"}
    connections = []
    for provider in PROVIDERS:
        account = next(a for a in accounts if a["provider"] == provider)
        secret = str(account["headers"]["Authorization"]).split(" ", 1)[1]
        if provider == "stackone":  # Basic <base64(api key:)>
            secret = base64.b64decode(secret).decode().split(":", 1)[0]
        connections.append(
            {
                "id": f"{TENANT}-{provider}",
                "tenant": TENANT,
                "provider": provider,
                "base_url": sandbox_url + bases[provider],
                "api_key": secret,
                "account": account["account"],
                "webhook_secret": account["webhook_secret"] or None,
                "max_retry_delay": args.max_retry_delay,
                "poll_interval": 3600,
            }
        )
    return load_settings(
        environ={},
        overrides={
            "server": {"host": "127.0.0.1", "port": 8080},
            "store": {"url": store_url, "cursor_secret": uuid.uuid4().hex},
            "tenants": [
                {"name": TENANT, "keys": [{"hash": hash_api_key(KEY), "scopes": ["read", "write"]}]}
            ],
            "connections": connections,
            "delivery": DELIVERY,
            "logging": {"format": "json", "level": "INFO"},
            "metrics": {"token": METRICS_TOKEN},
        },
    )


async def start_system(args: argparse.Namespace, store_url: str, log_file: Path) -> System:
    sandbox = SandboxContext(seed=args.seed, orders_per_account=50, accounts_per_provider=1)
    sandbox_runner, sandbox_url = await _start(create_sandbox_app(sandbox))
    session = aiohttp.ClientSession()
    try:
        async with session.get(sandbox_url + "/_sandbox/accounts") as response:
            accounts = (await response.json())["accounts"]
        settings = _settings(args, store_url, sandbox_url, accounts)
        # As ``serve`` configures it (JSON, INFO, secrets masked), into a file.
        configure_logging(
            level="INFO", fmt="json", secrets=secrets_of(settings), stream=log_file.open("a")
        )
        services = await Services.open(settings, auto_migrate=True)
    except BaseException:
        await session.close()
        await sandbox_runner.cleanup()
        raise
    app = create_app(services, background=True)  # the deliverer's loop runs
    add_graphql_routes(app)
    gateway_runner, gateway_url = await _start(app)
    return System(
        sandbox_url, sandbox, gateway_url, services, session, [gateway_runner, sandbox_runner]
    )


async def stop_system(system: System) -> None:
    await system.session.close()
    for runner in system.runners:
        await runner.cleanup()
    await system.services.close()
    for handler in logging.getLogger().handlers:
        handler.close()


def _gid(system: System, order_key: str) -> str:
    """The order's GraphQL id, signed as the gateway signs it."""
    return relay.to_base64("Order", system.services.store.ids.codec.encode("Order", order_key))


async def fill(system: System, args: argparse.Namespace) -> dict[str, list[str]]:
    """StackOne orders by ``createOrder``; live Kombo orders indexed by one poll. Returns
    the GraphQL ids of the StackOne orders and of the OPEN Kombo orders."""
    stackone = system.connection("stackone")
    packages = {str(p.name): p.remote_id for p in await stackone.provider.list_packages()}
    factory = OrderFactory(seed=args.seed, account="bench-acme", id_prefix="x")
    limit = asyncio.Semaphore(8)

    async def create() -> str:
        async with limit:
            stored = await create_order_for_connection(
                system.services, stackone, _new_order(factory, packages)
            )
            return stored.id

    wanted = max(args.results, args.flaky_results) + args.latency_samples + args.down_samples
    stackone_ids = await asyncio.gather(*(create() for _ in range(wanted)))
    kombo = system.connection("kombo")
    await system.control(
        "POST",
        "orders",
        {"provider": "kombo", "account": kombo.settings.account, "count": args.kombo_orders},
    )
    store = system.services.store
    await OrderPoller(
        kombo, system.services.ingestor, store.orders, store.sync_state, interval=3600
    ).poll_once()
    truth = await system.truth("kombo")
    open_ids = sorted(
        f"{kombo.id}:{remote}" for remote, row in truth.items() if row["status"] == "OPEN"
    )
    indexed = [key for key in open_ids if await store.orders.get(TENANT, key) is not None]
    return {
        "stackone": [_gid(system, i) for i in stackone_ids],
        "kombo": [_gid(system, i) for i in indexed],
    }


def _result(status: str, score: float) -> dict[str, Any]:
    return {
        "status": status,
        "score": score,
        "maxScore": 100.0,
        "url": "https://assess.example.com/r/1",
        "completedAt": "2026-12-01T10:00:00Z" if status == "COMPLETED" else None,
        "summary": "bench",
    }


async def measure_latency(
    system: System, provider: str, ids: list[str], samples: int, *, down: bool, score: float
) -> dict[str, Any]:
    """``samples`` sequential submits on ``ids`` (cycled), the provider healthy or down."""
    await system.faults({provider: DOWN} if down else {})
    latencies: list[float] = []
    states: Counter[str] = Counter()
    for n in range(samples):
        # IN_PROGRESS keeps a Kombo order OPEN, so its results may keep coming.
        elapsed, state = await system.submit(ids[n % len(ids)], _result("IN_PROGRESS", score + n))
        latencies.append(elapsed)
        states[state] += 1
    await system.faults({})
    await system.drained(60)  # what the down phase queued, before the next phase
    return {**_latency(latencies), "states": dict(states)}


async def _submit_all(
    system: System, work: list[tuple[str, dict[str, Any]]], concurrency: int
) -> tuple[list[float], Counter[str], float]:
    limit = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    states: Counter[str] = Counter()

    async def one(order_id: str, result: dict[str, Any]) -> None:
        async with limit:
            elapsed, state = await system.submit(order_id, result)
        latencies.append(elapsed)
        states[state] += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(order_id, result) for order_id, result in work))
    return latencies, states, time.perf_counter() - started


async def _delivered(system: System, gids: list[str]) -> dict[str, Any]:
    keys = [relay.from_base64(g)[1] for g in gids]
    newest = await system.services.store.deliveries.newest_for_orders(TENANT, keys)
    attempts = [d.attempts for d in newest.values()]
    landed = [d.updated_at for d in newest.values() if d.state is DeliveryState.DELIVERED]
    span = (max(landed) - min(landed)).total_seconds() if len(landed) > 1 else 0.0
    return {
        "deliveries": len(newest),
        "states": dict(Counter(d.state.value for d in newest.values())),
        "all_delivered": len(newest) == len(keys)
        and all(d.state is DeliveryState.DELIVERED for d in newest.values()),
        "attempts_mean": round(statistics.fmean(attempts), 2) if attempts else 0,
        "attempts_max": max(attempts, default=0),
        # First to last delivery recorded: the drain's pace once the retries came due.
        "first_to_last_delivered_seconds": round(span, 3),
        "deliveries_per_second_first_to_last": round(len(landed) / span, 1) if span else None,
    }


async def _truth_holds(
    system: System, gids: dict[str, list[str]], before: dict[str, Any]
) -> dict[str, Any]:
    """Whether the sandbox holds each result: a StackOne order's status (its latest
    ``result.value``) changed to the sent one's word; a Kombo order's accepted PUT
    body carries the score sent (``scores``: order id -> score)."""
    held: dict[str, Any] = {}
    stackone = await system.truth("stackone")
    remote = [relay.from_base64(g)[1].partition(":")[2] for g in gids["stackone"]]
    words = Counter(stackone[r]["status"] for r in remote)
    held["stackone"] = {
        "orders": len(remote),
        "changed": sum(1 for r in remote if stackone[r]["status"] != before["stackone"].get(r)),
        "statuses": dict(words),
    }
    kombo = await system.truth("kombo")
    scores: dict[str, float] = before["kombo_scores"]
    matching = 0
    for gid in gids["kombo"]:
        remote_id = relay.from_base64(gid)[1].partition(":")[2]
        body = json.dumps(kombo[remote_id].get("result") or {})
        matching += f'"score": {scores[gid]}' in body or f'"score": {scores[gid]:g}' in body
    held["kombo"] = {"orders": len(gids["kombo"]), "holding_the_score_sent": matching}
    return held


@contextlib.contextmanager
def _profiled(out: Path | None) -> Iterator[None]:
    """Profile the block with pyinstrument (not a dependency: ``pip install
    pyinstrument`` into the venv) into ``out`` as text; nothing without ``out``."""
    if out is None:
        yield
        return
    from pyinstrument import Profiler  # optional: only when asked

    profiler = Profiler(async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        out.write_text(profiler.output_text(unicode=False, color=False))


async def measure_backlog(
    system: System,
    gids: dict[str, list[str]],
    *,
    status: str,
    score: float,
    faults: dict[str, Any],
    clear_after_submit: bool,
    concurrency: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Submit one result per order under ``faults``; with ``clear_after_submit``, clear
    them once all are recorded and time the drain, else time until all are delivered."""
    stackone_truth = await system.truth("stackone")
    scores = {gid: score + n for provider in PROVIDERS for n, gid in enumerate(gids[provider])}
    before = {
        "stackone": {r: row["status"] for r, row in stackone_truth.items()},
        "kombo_scores": scores,
    }
    work = [(gid, _result(status, scores[gid])) for provider in PROVIDERS for gid in gids[provider]]
    retries_before = await system.metric("ordergraph_upstream_retries_total")
    writes_before = system.writes()
    await system.faults(faults)
    latencies, states, submit_seconds = await _submit_all(system, work, concurrency)
    result: dict[str, Any] = {
        "results": len(work),
        "by_provider": {p: len(gids[p]) for p in PROVIDERS},
        "submit_concurrency": concurrency,
        "submit": {
            **_latency(latencies),
            "states": dict(states),
            "seconds": round(submit_seconds, 2),
        },
    }
    if clear_after_submit:
        result["backlog_before_clear"] = await system.backlog()
        # Read the counters and clear the faults in one step of the event loop (the
        # sandbox runs in this process): a request counted before succeeded on no
        # account, every one counted after met a healthy provider. (Through ``POST
        # /_sandbox/faults`` a retry could slip in between the read and the clear.)
        writes_down = system.writes()
        system.sandbox.faults.configure({})
        with _profiled(profile):
            drain = await system.drained(120)
        writes_after = system.writes()
        result["failed_write_calls_while_down"] = dict(writes_down - writes_before)
        result["write_calls_after_clear"] = dict(writes_after - writes_down)
        result["drain_seconds"] = round(drain, 3)
        result["deliveries_per_second"] = round(len(work) / drain, 1)
        result["exactly_one_write_each"] = all(
            (writes_after - writes_down)[p] == len(gids[p]) for p in PROVIDERS
        )
    else:
        drain = await system.drained(120)
        await system.faults({})
        result["seconds_from_first_submit_to_all_delivered"] = round(submit_seconds + drain, 3)
        result["drain_after_last_submit_seconds"] = round(drain, 3)
        result["write_calls"] = dict(system.writes() - writes_before)
    retries_after = await system.metric("ordergraph_upstream_retries_total")
    result["upstream_retries_counted_by_metrics"] = {
        p: int(retries_after.get(p, 0) - retries_before.get(p, 0)) for p in PROVIDERS
    }
    result["store"] = await _delivered(system, gids["stackone"] + gids["kombo"])
    result["sandbox_truth"] = await _truth_holds(system, gids, before)
    return result


async def _server_version(system: System, backend: str) -> str:
    if backend == "sqlite":
        return sqlite3.sqlite_version
    async with system.services.store.engine.connect() as conn:
        info = conn.dialect.server_version_info
    return ".".join(str(part) for part in info or ())


async def benchmark(args: argparse.Namespace, store_url: str, log_file: Path) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    system = await start_system(args, store_url, log_file)
    cpu = CpuShare()
    try:
        print("creating StackOne orders (createOrder) and indexing live Kombo orders ...")
        t0 = time.perf_counter()
        ids = await fill(system, args)
        print(
            f"  {len(ids['stackone'])} StackOne, {len(ids['kombo'])} OPEN Kombo orders "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        if not ids["kombo"]:
            raise SystemExit("no OPEN Kombo order to submit results to")
        spare = ids["stackone"][max(args.results, args.flaky_results) :]
        latency: dict[str, Any] = {}
        for provider in PROVIDERS:
            pool = spare if provider == "stackone" else ids["kombo"]
            print(
                f"latency ({provider}): {args.latency_samples} healthy, "
                f"{args.down_samples} down ..."
            )
            latency[provider] = {
                "healthy": await measure_latency(
                    system, provider, pool, args.latency_samples, down=False, score=10
                ),
                "down": await measure_latency(
                    system, provider, pool, args.down_samples, down=True, score=30
                ),
            }
        backlog_ids = {"stackone": ids["stackone"][: args.results], "kombo": ids["kombo"]}
        print(
            f"backlog: {sum(len(v) for v in backlog_ids.values())} results "
            "while both providers are down ..."
        )
        backlog = await measure_backlog(
            system,
            backlog_ids,
            status="COMPLETED",
            score=50,
            faults={p: DOWN for p in PROVIDERS},
            clear_after_submit=True,
            concurrency=args.submit_concurrency,
            profile=args.profile_drain,
        )
        flaky: dict[str, Any] | None = None
        if args.flaky_results:
            flaky_ids = {"stackone": ids["stackone"][: args.flaky_results], "kombo": ids["kombo"]}
            print(f"flaky: {sum(len(v) for v in flaky_ids.values())} results, {FLAKY} ...")
            # FAILED: Kombo maps it to COMPLETED, the status these orders hold now (a PUT
            # that keeps the status is accepted); StackOne's word changes, so its truth
            # shows the new write.
            flaky = await measure_backlog(
                system,
                {"stackone": flaky_ids["stackone"], "kombo": flaky_ids["kombo"]},
                status="FAILED",
                score=70,
                faults={p: FLAKY for p in PROVIDERS},
                clear_after_submit=False,
                concurrency=args.submit_concurrency,
            )
        version = await _server_version(system, args.backend)
        machine_load = cpu.summary()
    finally:
        await stop_system(system)
    return {
        "backend": args.backend,
        "backend_version": version,
        "command": "python -m bench.delivery_bench " + " ".join(sys.argv[1:]),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_start": load_before,
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "cpu_during_run": machine_load,
        },
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "delivery": DELIVERY,
            "delivery_defaults_otherwise": "inline_timeout 3 s, lease 120 s, concurrency 8",
            "connection_max_retry_delay": args.max_retry_delay,
            "results": args.results,
            "flaky_results": args.flaky_results,
            "kombo_orders_created": args.kombo_orders,
            "latency_samples": args.latency_samples,
            "down_samples": args.down_samples,
            "submit_concurrency": args.submit_concurrency,
            "down_faults": DOWN,
            "flaky_faults": FLAKY,
            "logging": "json, INFO, to a scratch file",
        },
        "latency": latency,
        "backlog": backlog,
        "flaky": flaky,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    scratch = tempfile.TemporaryDirectory(prefix="og-delivery-")
    database: str | None = None
    if args.backend == "sqlite":
        url = f"sqlite:///{scratch.name}/bench.db"
    else:
        database = f"og_bench_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(args.admin_url)
        await admin.execute(f'CREATE DATABASE "{database}"')
        await admin.close()
        url = make_url(args.admin_url).set(database=database).render_as_string(hide_password=False)
    try:
        log_file = Path(scratch.name) / "gateway.log"
        result = await asyncio.wait_for(benchmark(args, url, log_file), timeout=args.timeout)
        result["log_lines"] = sum(1 for _ in log_file.open())
        return result
    finally:
        scratch.cleanup()
        if database is not None:
            admin = await asyncpg.connect(args.admin_url)
            with contextlib.suppress(asyncpg.PostgresError):
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"backend {result['backend']} {result['backend_version']}, "
        f"{result['machine']['nproc']} CPUs, "
        f"load {result['machine']['loadavg_at_start']} -> {result['machine']['loadavg_at_end']}, "
        f"other work {result['machine']['cpu_during_run']['other_work_cpu_share']:.0%} of the CPU; "
        f"connection max_retry_delay {result['settings']['connection_max_retry_delay']} s",
        "",
        f"{'submitResult, sequential':<32} {'p50 ms':>9} {'p99 ms':>9}  states answered",
    ]
    for provider, phases in result["latency"].items():
        for name, figures in phases.items():
            lines.append(
                f"{provider + ' ' + name:<32} {figures['p50_ms']:>9.1f} "
                f"{figures['p99_ms']:>9.1f}  {figures['states']}"
            )
    b = result["backlog"]
    lines += [
        "",
        f"backlog: {b['results']} results {b['by_provider']} submitted while down "
        f"in {b['submit']['seconds']} s "
        f"(p50 {b['submit']['p50_ms']} ms, p99 {b['submit']['p99_ms']} ms "
        f"at {b['submit_concurrency']} in flight; "
        f"{b['submit']['states']})",
        f"  failed write calls while down {b['failed_write_calls_while_down']}; "
        f"backlog at clear {b['backlog_before_clear']}",
        f"  drained in {b['drain_seconds']} s = {b['deliveries_per_second']} deliveries/s; "
        "write calls after clear "
        f"{b['write_calls_after_clear']} (exactly one each: {b['exactly_one_write_each']})",
        f"  store {b['store']}; sandbox truth {b['sandbox_truth']}",
    ]
    f = result["flaky"]
    if f:
        lines += [
            f"flaky: {f['results']} results {f['by_provider']}: all delivered "
            f"{f['seconds_from_first_submit_to_all_delivered']} s after the first submit "
            f"(drain after the last {f['drain_after_last_submit_seconds']} s); "
            f"submit p50 {f['submit']['p50_ms']} ms, p99 {f['submit']['p99_ms']} ms "
            f"{f['submit']['states']}",
            f"  retries (metrics) {f['upstream_retries_counted_by_metrics']}; "
            f"write calls {f['write_calls']}; "
            f"store {f['store']}; truth {f['sandbox_truth']}",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery_bench", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--results", type=int, default=500, help="StackOne results in the backlog")
    parser.add_argument("--flaky-results", type=int, default=200, help="0 skips the flaky phase")
    parser.add_argument("--kombo-orders", type=int, default=60, help="live Kombo orders created")
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--down-samples", type=int, default=20)
    parser.add_argument("--submit-concurrency", type=int, default=16)
    parser.add_argument(
        "--max-retry-delay",
        type=float,
        default=30.0,
        help="connections' max_retry_delay (30 is the default; 0: one HTTP try per attempt)",
    )
    parser.add_argument(
        "--profile-drain", type=Path, default=None, help="pyinstrument text profile of the drain"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after seconds")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--out", type=Path, default=None, help="results JSON path")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    out = args.out or RESULTS / f"delivery-{args.backend}.json"
    write_results(out, result, summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
