"""Dashboard query benchmark: the gateway over HTTP against graphql-core's floor.

    python -m bench.dashboard_bench --backend sqlite
    python -m bench.dashboard_bench --backend postgresql --provider-latency-ms 20

One process, loopback only. It starts the sandbox (three simulators, two accounts per
provider) and a gateway (tenants ``acme`` and ``globex``, one connection per provider
each: six connections) on their own ports, fills the order index the real way (Kombo
poll, Unified webhook backfill and live webhooks, StackOne ``createOrder``), then asks
the dashboard query as ``acme`` (the 50 newest orders of its connections with
candidate, job and hiring team, package name and result score):

- **cold**: the gateway's cache emptied (package lists and whole responses), as after
  a restart; the index stays;
- **warm**: package lists cached, whole-response cache bypassed (``Cache-Control:
  no-cache``): a full execution each time;
- **repeat**: the identical request again (a whole-response cache hit when the
  response cache is in);
- **floor**: graphql-core's ``graphql()`` over 50 plain dicts of the same shape and
  values (default resolvers, no I/O), plus Strawberry over the same data and the
  ordergraph schema executed in-process (no HTTP).

Upstream calls are the simulators' request counters (what ``GET /_sandbox/stats``
shows). Prints a table and writes ``bench/results/dashboard-<backend>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import enum
import gc
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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import graphql
import strawberry
from aiohttp import web
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bench.support import ADMIN_URL, RESULTS, ms, percentile, write_results
from ordergraph.api import add_graphql_routes
from ordergraph.keys import Scope, hash_api_key
from ordergraph.logs import configure_logging, secrets_of
from ordergraph.models import Candidate, HiringTeamMember, Job, NewOrder, PackageRef
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.mutations import create_order_for_connection
from ordergraph.sandbox.app import create_sandbox_app
from ordergraph.sandbox.core import SandboxContext
from ordergraph.sandbox.data import OrderFactory
from ordergraph.schema import schema as ordergraph_schema
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import OrderFilter
from ordergraph.sync.connections import LiveConnection
from ordergraph.sync.poller import OrderPoller
from ordergraph.sync.webhook_registration import ensure_webhook

KEYS = {"acme": "bench-key-acme", "globex": "bench-key-globex"}
TENANT = "acme"
PROVIDERS = ("unified", "stackone", "kombo")
CACHE_HEADER = "X-Ordergraph-Cache"
LOAD_CLIENT = "_load-client"  # argv[1] of the load client process

DASHBOARD = """
query Dashboard($first: Int!) {
  orders(first: $first, orderBy: {field: CREATED_AT, direction: DESC}) {
    edges {
      cursor
      node {
        id
        provider
        status
        createdAt
        connection { id }
        candidate { name emails }
        job { title hiringTeam { email } }
        package { name }
        result { score }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# The same shape as a plain schema: what graphql-core needs at the least.
FLOOR_SDL = """
enum ProviderName { UNIFIED STACKONE KOMBO }
enum OrderStatus { OPEN IN_PROGRESS COMPLETED CANCELLED REJECTED FAILED EXPIRED }
input OrderOrder { field: OrderSortField = CREATED_AT, direction: OrderSortDirection = ASC }
enum OrderSortField { CREATED_AT }
enum OrderSortDirection { ASC DESC }
type ProviderConnection { id: ID! }
type Candidate { name: String, emails: [String!]! }
type HiringTeamMember { email: String }
type Job { title: String, hiringTeam: [HiringTeamMember!]! }
type Package { name: String }
type AssessmentResult { score: Float }
type Order {
  id: ID!
  provider: ProviderName!
  status: OrderStatus!
  createdAt: String!
  connection: ProviderConnection!
  candidate: Candidate
  job: Job
  package: Package
  result: AssessmentResult
}
type OrderEdge { cursor: String!, node: Order! }
type PageInfo { hasNextPage: Boolean!, endCursor: String }
type OrderConnection { edges: [OrderEdge!]!, pageInfo: PageInfo! }
type Query { orders(first: Int, orderBy: OrderOrder): OrderConnection! }
"""


# --- small helpers ---------------------------------------------------------------------


def _latency(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50_ms": ms(percentile(samples, 50)),
        "p99_ms": ms(percentile(samples, 99)),
        "mean_ms": ms(statistics.fmean(samples)),
        "min_ms": ms(min(samples)),
        "max_ms": ms(max(samples)),
        "per_second_sequential": round(1 / statistics.fmean(samples), 1),
    }


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on a free loopback port; its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit("the index did not fill in time")
        await asyncio.sleep(0.05)


class GcClock:
    """Time this process spends in the garbage collector (it explains many p99s)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full_collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        if info.get("generation") == 2:
            self.full_collections += 1

    async def during(self, work: Awaitable[Any]) -> tuple[Any, dict[str, Any]]:
        seconds, full = self.seconds, self.full_collections
        result = await work
        return result, {
            "gc_ms": ms(self.seconds - seconds),
            "gc_full_collections": self.full_collections - full,
        }


class CpuShare:
    """How busy the machine was with *other* work during the run (Linux ``/proc/stat``):
    the honest noise indicator on a shared machine."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float]:
        """(busy CPU seconds of the machine, of this process and its children, wall)."""
        busy = 0.0
        with contextlib.suppress(OSError):
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
            idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
            busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
        times = os.times()
        own = times.user + times.system + times.children_user + times.children_system
        return busy, own, time.monotonic()

    def summary(self) -> dict[str, Any]:
        busy, own, wall = (b - a for a, b in zip(self.start, self._read(), strict=True))
        cpus = os.cpu_count() or 1
        return {
            "wall_seconds": round(wall, 1),
            "this_run_cpu_share": round(own / (wall * cpus), 2),
            "other_work_cpu_share": round(max(0.0, busy - own) / (wall * cpus), 2),
        }


# --- the running system ----------------------------------------------------------------


@dataclass
class System:
    """The sandbox and the gateway, running in this process."""

    sandbox_url: str
    sandbox: SandboxContext
    gateway_url: str
    services: Services
    session: aiohttp.ClientSession
    runners: list[web.AppRunner] = field(default_factory=list)
    sql_statements: int = 0

    def count_sql(self) -> None:
        """Count the SQL queries the gateway's store sends (N+1 would show here)."""

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if not statement.lstrip().upper().startswith("BEGIN"):  # SQLite's explicit BEGIN
                self.sql_statements += 1

        event.listen(self.services.store.engine.sync_engine, "before_cursor_execute", seen)

    def upstream_total(self) -> int:
        return int(self.sandbox.stats.as_json()["total"])

    def upstream_routes(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for provider, routes in self.sandbox.stats.counts.items():
            for route, n in routes.items():
                counts[f"{provider} {route}"] += n
        return counts

    async def control(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.session.request(
            method, f"{self.sandbox_url}/_sandbox/{path}", json=payload
        ) as response:
            body = await response.json()
            if response.status >= 300:
                raise SystemExit(f"sandbox {method} {path}: {response.status} {body}")
            return body

    async def dashboard(self, headers: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
        """One dashboard query as ``acme``: the body and the response cache header."""
        async with self.session.post(
            self.gateway_url + "/graphql",
            json={"query": DASHBOARD, "variables": {"first": 50}},
            headers={"Authorization": f"Bearer {KEYS[TENANT]}", **(headers or {})},
        ) as response:
            body: dict[str, Any] = await response.json(content_type=None)
            if response.status != 200 or body.get("errors") or not body.get("data"):
                raise SystemExit(f"dashboard query failed: {response.status} {body}")
            return body, response.headers.get(CACHE_HEADER, "absent")

    async def clear_gateway_cache(self) -> None:
        """Forget package lists and whole responses (a restarted gateway's memory cache)."""
        await self.services.cache.backend.clear()


async def _connections(system_url: str, session: aiohttp.ClientSession) -> list[dict[str, Any]]:
    """Six connections: one per provider per tenant, on the sandbox's two accounts each."""
    async with session.get(system_url + "/_sandbox/accounts") as response:
        listed = (await response.json())["accounts"]
    bases = {
        "unified": "/unified",
        "stackone": "/stackone",
        "kombo": "/kombo/v1",
    }
    connections: list[dict[str, Any]] = []
    for provider in PROVIDERS:
        accounts = [a for a in listed if a["provider"] == provider]
        for tenant, account in zip(KEYS, accounts, strict=False):
            secret = str(account["headers"]["Authorization"]).split(" ", 1)[1]
            if provider == "stackone":  # Basic <base64(api key:)>
                secret = base64.b64decode(secret).decode().split(":", 1)[0]
            connections.append(
                {
                    "id": f"{tenant}-{provider}",
                    "tenant": tenant,
                    "provider": provider,
                    "base_url": system_url + bases[provider],
                    "api_key": secret,
                    "account": account["account"],
                    "webhook_secret": account["webhook_secret"] or None,
                    "max_retry_delay": 0.2,
                    "poll_interval": 3600,
                }
            )
    return connections


async def start_system(args: argparse.Namespace, store_url: str) -> System:
    sandbox = SandboxContext(
        seed=args.seed, orders_per_account=args.orders_per_account, accounts_per_provider=2
    )
    sandbox_runner, sandbox_url = await _start(create_sandbox_app(sandbox))
    session = aiohttp.ClientSession()
    try:
        settings = load_settings(
            environ={},
            overrides={
                "server": {"host": "127.0.0.1", "port": 8080},
                "store": {"url": store_url, "cursor_secret": uuid.uuid4().hex},
                "tenants": [
                    {"name": name, "keys": [{"hash": hash_api_key(key), "scopes": ["read"]}]}
                    for name, key in KEYS.items()
                ],
                "connections": await _connections(sandbox_url, session),
            },
        )
        if args.logs == "json":
            # As ``serve`` configures it (JSON, INFO, secrets masked: one line per
            # request), into a scratch file rather than the terminal.
            configure_logging(
                level="INFO",
                fmt="json",
                secrets=secrets_of(settings),
                stream=tempfile.TemporaryFile("w"),  # noqa: SIM115 (closed at stop)
            )
        services = await Services.open(settings, auto_migrate=True)
    except BaseException:
        await session.close()
        await sandbox_runner.cleanup()
        raise
    app = create_app(services, background=False)
    add_graphql_routes(app)
    gateway_runner, gateway_url = await _start(app)
    return System(
        sandbox_url=sandbox_url,
        sandbox=sandbox,
        gateway_url=gateway_url,
        services=services,
        session=session,
        runners=[gateway_runner, sandbox_runner],
    )


async def stop_system(system: System) -> None:
    await system.session.close()
    for runner in system.runners:  # gateway first: the sandbox may still deliver to it
        await runner.cleanup()
    await system.services.close()
    for handler in logging.getLogger().handlers:
        handler.close()


# --- filling the index the real way ----------------------------------------------------


def _live(system: System, tenant: str, provider: str) -> LiveConnection:
    connection = system.services.connections.get(f"{tenant}-{provider}")
    assert connection is not None
    return connection


def _poller(system: System, connection: LiveConnection) -> OrderPoller:
    store = system.services.store
    return OrderPoller(
        connection, system.services.ingestor, store.orders, store.sync_state, interval=3600
    )


def _new_order(factory: OrderFactory, package_ids: dict[str, str]) -> NewOrder:
    """What an ATS sends through StackOne: the package by the id ordergraph lists for it
    (StackOne's ``id``, see ``packages(connectionId)``), candidate, job and team."""
    seed = factory.next_order()

    def member(m: Any) -> HiringTeamMember:
        return HiringTeamMember(
            remote_id=m.remote_id,
            first_name=m.first_name,
            last_name=m.last_name,
            email=m.email,
            roles=m.roles,
        )

    return NewOrder(
        package=PackageRef(remote_id=package_ids[seed.package.name]),
        candidate=Candidate(
            remote_id=seed.candidate.remote_id,
            first_name=seed.candidate.first_name,
            last_name=seed.candidate.last_name,
            emails=(seed.candidate.email,),
            profile_url=seed.candidate.profile_url,
        ),
        job=Job(
            remote_id=seed.job.remote_id,
            title=seed.job.title,
            code=seed.job.code,
            hiring_team=tuple(member(m) for m in seed.job.hiring_team),
        ),
        requester=member(seed.requester),
    )


async def _count(system: System, tenant: str, connection_id: str) -> int:
    where = OrderFilter(connection_ids=[connection_id])
    return await system.services.store.orders.count(tenant, where)


async def fill_index(system: System, args: argparse.Namespace) -> dict[str, Any]:
    """Backfill every connection, then some live activity so the newest orders mix."""
    started = time.perf_counter()
    factories = {
        tenant: OrderFactory(seed=args.seed, account=f"bench-{tenant}", id_prefix="x")
        for tenant in KEYS
    }
    limit = asyncio.Semaphore(8)
    package_ids: dict[str, dict[str, str]] = {}
    for tenant in KEYS:
        listed = await _live(system, tenant, "stackone").provider.list_packages()
        package_ids[tenant] = {str(p.name): p.remote_id for p in listed}
    calls_before = system.upstream_total()

    async def create(connection: LiveConnection, tenant: str) -> None:
        async with limit:
            await create_order_for_connection(
                system.services, connection, _new_order(factories[tenant], package_ids[tenant])
            )

    for tenant in KEYS:
        # Kombo: the poller's first full walk.
        await _poller(system, _live(system, tenant, "kombo")).poll_once()
        # Unified: register the webhook with include_all; INITIAL-PARTIAL pages arrive.
        unified = _live(system, tenant, "unified")
        await ensure_webhook(unified, system.services.store.sync_state, system.gateway_url)
        # StackOne: orders created through the provider (createOrder), then indexed.
        stackone = _live(system, tenant, "stackone")
        await asyncio.gather(*(create(stackone, tenant) for _ in range(args.orders_per_account)))
    for tenant in KEYS:
        unified = _live(system, tenant, "unified")
        truth = await system.control(
            "GET", f"orders?provider=unified&account={unified.settings.account}"
        )
        expected = len(truth["orders"])

        async def backfilled(tenant: str = tenant, expected: int = expected) -> bool:
            return await _count(system, tenant, f"{tenant}-unified") >= expected

        await _eventually(backfilled)
    # Live activity: one new order per connection per round, so the 50 newest orders
    # of a tenant come from all its connections.
    for _ in range(args.live_rounds):
        for tenant in KEYS:
            for provider in ("unified", "kombo"):
                account = _live(system, tenant, provider).settings.account
                await system.control(
                    "POST", "orders", {"provider": provider, "account": account, "count": 1}
                )
            await _poller(system, _live(system, tenant, "kombo")).poll_once()
            await create(_live(system, tenant, "stackone"), tenant)
    counts = {
        f"{tenant}-{provider}": await _count(system, tenant, f"{tenant}-{provider}")
        for tenant in KEYS
        for provider in PROVIDERS
    }
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "orders_by_connection": counts,
        "orders_total": sum(counts.values()),
        "upstream_calls_to_fill": system.upstream_total() - calls_before,
    }


# --- measurements over HTTP ------------------------------------------------------------


@dataclass
class Phase:
    """Latencies, upstream calls and cache headers of one kind of request."""

    latencies: list[float] = field(default_factory=list)
    upstream: list[int] = field(default_factory=list)
    sql: list[int] = field(default_factory=list)
    headers: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        def spread(values: list[int]) -> dict[str, float]:
            return {
                "mean": round(statistics.fmean(values), 2),
                "min": min(values),
                "max": max(values),
            }

        return {
            **_latency(self.latencies),
            "upstream_calls_per_query": spread(self.upstream),
            "sql_queries_per_query": spread(self.sql),
            "cache_header": dict(self.headers),
        }


async def _timed(system: System, phase: Phase, headers: dict[str, str] | None = None) -> Any:
    before, sql_before = system.upstream_total(), system.sql_statements
    t0 = time.perf_counter()
    body, header = await system.dashboard(headers)
    phase.latencies.append(time.perf_counter() - t0)
    phase.upstream.append(system.upstream_total() - before)
    phase.sql.append(system.sql_statements - sql_before)
    phase.headers[header] += 1
    return body


async def measure_cold(system: System, iterations: int) -> tuple[dict[str, Any], dict[str, float]]:
    phase = Phase()
    routes: Counter[str] = Counter()
    for _ in range(iterations):
        await system.clear_gateway_cache()
        before = system.upstream_routes()
        await _timed(system, phase)
        routes += system.upstream_routes() - before
    per_query = {route: round(n / iterations, 2) for route, n in sorted(routes.items())}
    return phase.summary(), per_query


async def measure_sequential(
    system: System, iterations: int, headers: dict[str, str] | None
) -> dict[str, Any]:
    phase = Phase()
    for _ in range(iterations):
        await _timed(system, phase, headers)
    return phase.summary()


async def _load(
    url: str, key: str, concurrency: int, seconds: float, no_cache: bool
) -> dict[str, Any]:
    """The load client: ``concurrency`` requests in flight on one session for ``seconds``."""
    headers = {"Authorization": f"Bearer {key}"}
    if no_cache:
        headers["Cache-Control"] = "no-cache"
    payload = {"query": DASHBOARD, "variables": {"first": 50}}
    latencies: list[float] = []
    seen: Counter[str] = Counter()
    failures = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal failures
            t0 = time.perf_counter()
            async with session.post(url, json=payload, headers=headers) as response:
                body = await response.read()
                ok = response.status == 200 and b'"errors"' not in body
                seen[response.headers.get(CACHE_HEADER, "absent")] += 1
            latencies.append(time.perf_counter() - t0)
            failures += not ok

        for _ in range(concurrency):  # open the connections, warm up
            await one()
        latencies.clear()
        seen.clear()
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < deadline:
                await one()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "failures": failures,
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "cache_header": dict(seen),
    }


async def measure_throughput(
    system: System, concurrency: int, seconds: float, *, no_cache: bool
) -> dict[str, Any]:
    """Requests per second from a load client in its own process (the other core), so
    the client's work does not share the gateway's event loop."""
    before = system.upstream_total()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.dashboard_bench",
        LOAD_CLIENT,
        json.dumps(
            {
                "url": system.gateway_url + "/graphql",
                "key": KEYS[TENANT],
                "concurrency": concurrency,
                "seconds": seconds,
                "no_cache": no_cache,
            }
        ),
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the load client failed ({process.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    if result["failures"]:
        raise SystemExit(f"the load client saw {result['failures']} failed requests")
    result["upstream_calls"] = system.upstream_total() - before
    return result


# --- the floor: the same query over in-memory objects ----------------------------------


def _floor_root(data: dict[str, Any]) -> dict[str, Any]:
    """The gateway's answer as plain dicts (what default resolvers read)."""
    connection = data["orders"]

    def orders(_info: Any, **_args: Any) -> dict[str, Any]:
        return connection

    return {"orders": orders}


@strawberry.type(name="ProviderConnection")
class _SConnectionRef:
    id: strawberry.ID


@strawberry.type(name="Candidate")
class _SCandidate:
    name: str | None
    emails: list[str]


@strawberry.type(name="HiringTeamMember")
class _SMember:
    email: str | None


@strawberry.type(name="Job")
class _SJob:
    title: str | None
    hiring_team: list[_SMember]


@strawberry.type(name="Package")
class _SPackage:
    name: str | None


@strawberry.type(name="AssessmentResult")
class _SResult:
    score: float | None


@strawberry.enum(name="ProviderName")
class _SProviderName(enum.Enum):
    UNIFIED = "UNIFIED"
    STACKONE = "STACKONE"
    KOMBO = "KOMBO"


@strawberry.enum(name="OrderStatus")
class _SOrderStatus(enum.Enum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


@strawberry.type(name="Order")
class _SOrder:
    id: strawberry.ID
    provider: _SProviderName
    status: _SOrderStatus
    created_at: str
    connection: _SConnectionRef
    candidate: _SCandidate | None
    job: _SJob | None
    package: _SPackage | None
    result: _SResult | None


@strawberry.type(name="OrderEdge")
class _SEdge:
    cursor: str
    node: _SOrder


@strawberry.type(name="PageInfo")
class _SPageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(name="OrderConnection")
class _SConnection:
    edges: list[_SEdge]
    page_info: _SPageInfo


@strawberry.enum(name="OrderSortField")
class _SSortField(enum.Enum):
    CREATED_AT = "CREATED_AT"


@strawberry.enum(name="OrderSortDirection")
class _SSortDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(name="OrderOrder")
class _SOrderOrder:
    field: _SSortField = _SSortField.CREATED_AT
    direction: _SSortDirection = _SSortDirection.ASC


def _strawberry_objects(data: dict[str, Any]) -> _SConnection:
    def order(node: dict[str, Any]) -> _SOrder:
        candidate, job = node["candidate"], node["job"]
        return _SOrder(
            id=node["id"],
            provider=_SProviderName(node["provider"]),
            status=_SOrderStatus(node["status"]),
            created_at=node["createdAt"],
            connection=_SConnectionRef(id=node["connection"]["id"]),
            candidate=_SCandidate(name=candidate["name"], emails=candidate["emails"])
            if candidate
            else None,
            job=_SJob(
                title=job["title"],
                hiring_team=[_SMember(email=m["email"]) for m in job["hiringTeam"]],
            )
            if job
            else None,
            package=_SPackage(name=node["package"]["name"]) if node["package"] else None,
            result=_SResult(score=node["result"]["score"]) if node["result"] else None,
        )

    page = data["orders"]
    return _SConnection(
        edges=[_SEdge(cursor=e["cursor"], node=order(e["node"])) for e in page["edges"]],
        page_info=_SPageInfo(
            has_next_page=page["pageInfo"]["hasNextPage"],
            end_cursor=page["pageInfo"]["endCursor"],
        ),
    )


def _strawberry_floor_schema(data: dict[str, Any]) -> strawberry.Schema:
    objects = _strawberry_objects(data)

    @strawberry.type
    class Query:
        @strawberry.field
        def orders(
            self, first: int | None = None, order_by: _SOrderOrder | None = None
        ) -> _SConnection:
            return objects

    return strawberry.Schema(query=Query)


async def _repeat(run: Callable[[], Awaitable[Any]], iterations: int) -> list[float]:
    for _ in range(min(20, iterations)):  # warm up
        await run()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - t0)
    return samples


async def measure_floor(
    system: System, data: dict[str, Any], iterations: int
) -> dict[str, dict[str, Any]]:
    variables = {"first": 50}
    core_schema = graphql.build_schema(FLOOR_SDL)
    root = _floor_root(data)

    async def core_graphql() -> None:
        result = await graphql.graphql(
            core_schema, DASHBOARD, root_value=root, variable_values=variables
        )
        if result.errors or result.data != data:
            raise SystemExit(f"floor answer differs: {result.errors}")

    document = graphql.parse(DASHBOARD)
    if graphql.validate(core_schema, document):
        raise SystemExit("floor schema does not validate the dashboard query")

    async def core_execute() -> None:
        result = graphql.execute(core_schema, document, root_value=root, variable_values=variables)
        if graphql.pyutils.is_awaitable(result):
            result = await result  # type: ignore[misc]
        if not isinstance(result, graphql.ExecutionResult) or result.errors:
            raise SystemExit("floor execution failed")

    straw = _strawberry_floor_schema(data)

    async def strawberry_execute() -> None:
        result = await straw.execute(DASHBOARD, variable_values=variables)
        if result.errors or result.data != data:
            raise SystemExit(f"strawberry floor answer differs: {result.errors}")

    async def ordergraph_execute() -> None:
        context = Context(services=system.services, tenant=TENANT, scopes=frozenset({Scope.READ}))
        result = await ordergraph_schema.execute(
            DASHBOARD, variable_values=variables, context_value=context
        )
        if result.errors:
            raise SystemExit(f"in-process execution failed: {result.errors}")

    before = system.upstream_total()
    measured = {
        "graphql_core_graphql": _latency(await _repeat(core_graphql, iterations)),
        "graphql_core_execute_only": _latency(await _repeat(core_execute, iterations)),
        "strawberry_in_memory": _latency(await _repeat(strawberry_execute, iterations)),
        "ordergraph_schema_in_process": _latency(await _repeat(ordergraph_execute, iterations)),
    }
    measured["ordergraph_schema_in_process"]["upstream_calls"] = system.upstream_total() - before
    return measured


# --- the run ---------------------------------------------------------------------------


def _node_key(global_id: str) -> str:
    """``acme-kombo`` from a Relay global id (base64 of ``Type:key``)."""
    return base64.b64decode(global_id).decode().partition(":")[2]


def _shape(body: dict[str, Any]) -> dict[str, Any]:
    edges = body["data"]["orders"]["edges"]
    nodes = [e["node"] for e in edges]
    return {
        "orders": len(nodes),
        "by_connection": dict(Counter(_node_key(n["connection"]["id"]) for n in nodes)),
        "with_result_score": sum(1 for n in nodes if (n["result"] or {}).get("score") is not None),
        "with_package_name": sum(1 for n in nodes if (n["package"] or {}).get("name")),
        "hiring_team_emails": sum(len(n["job"]["hiringTeam"]) for n in nodes if n["job"]),
        "response_bytes": len(json.dumps(body, separators=(",", ":"))),
    }


async def _server_version(system: System, backend: str) -> str:
    if backend == "sqlite":
        return sqlite3.sqlite_version
    async with system.services.store.engine.connect() as conn:
        info = conn.dialect.server_version_info
    return ".".join(str(part) for part in info or ())


async def benchmark(args: argparse.Namespace, store_url: str) -> dict[str, Any]:
    system = await start_system(args, store_url)
    clock = GcClock()
    gc.callbacks.append(clock)
    cpu = CpuShare()
    try:
        print("filling the index (Kombo poll, Unified webhooks, StackOne createOrder) ...")
        filled = await fill_index(system, args)
        print(f"  {filled['orders_total']} orders in {filled['seconds']} s")
        system.count_sql()
        if args.gc_freeze:  # what a server could do once started: GC skips these objects
            gc.collect()
            gc.freeze()
        if args.provider_latency_ms:
            await system.control("POST", "faults", {"*": {"latency_ms": args.provider_latency_ms}})
        no_cache = {"Cache-Control": "no-cache"}

        print(f"cold: {args.cold_iterations} queries, gateway cache emptied before each ...")
        (cold, cold_routes), gc_cold = await clock.during(
            measure_cold(system, args.cold_iterations)
        )
        body, _ = await system.dashboard(no_cache)
        shape = _shape(body)

        print(f"warm: {args.iterations} queries with Cache-Control: no-cache ...")
        await measure_sequential(system, 10, no_cache)  # warm-up
        warm, gc_warm = await clock.during(measure_sequential(system, args.iterations, no_cache))
        warm_tp, gc_warm_tp = await clock.during(
            measure_throughput(system, args.concurrency, args.duration, no_cache=True)
        )

        print(f"repeat: {args.iterations} identical queries ...")
        await system.dashboard()  # store the entry, if there is a response cache
        repeat, gc_repeat = await clock.during(measure_sequential(system, args.iterations, None))
        repeat_tp, gc_repeat_tp = await clock.during(
            measure_throughput(system, args.concurrency, args.duration, no_cache=False)
        )
        for figures, spent in (
            (cold, gc_cold),
            (warm, gc_warm),
            (warm_tp, gc_warm_tp),
            (repeat, gc_repeat),
            (repeat_tp, gc_repeat_tp),
        ):
            figures.update(spent)
        available = "hit" in repeat["cache_header"]
        response_cache = (
            "available"
            if available
            else (
                "not available"
                if set(repeat["cache_header"]) == {"absent"}
                else "present but not hit: " + json.dumps(repeat["cache_header"])
            )
        )

        print(f"floor: {args.iterations} executions over in-memory objects ...")
        floor = await measure_floor(system, body["data"], args.iterations)
        version = await _server_version(system, args.backend)
        gc.collect()
        t0 = time.perf_counter()
        gc.collect()
        machine_load = cpu.summary()
        heap = {
            "tracked_objects": len(gc.get_objects()),
            "frozen_objects": gc.get_freeze_count(),
            "full_collection_ms": ms(time.perf_counter() - t0),
            "note": "the in-process sandbox adds about 8,000 of the tracked objects",
        }
    finally:
        gc.callbacks.remove(clock)
        gc.unfreeze()
        await stop_system(system)
    return {
        "backend": args.backend,
        "backend_version": version,
        "command": "python -m bench.dashboard_bench " + " ".join(sys.argv[1:]),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "graphql_core": graphql.__version__,
            "strawberry": _strawberry_version(),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "cpu_during_run": machine_load,
        },
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "orders_per_account": args.orders_per_account,
            "accounts_per_provider": 2,
            "live_rounds": args.live_rounds,
            "provider_latency_ms": args.provider_latency_ms,
            "iterations": args.iterations,
            "cold_iterations": args.cold_iterations,
            "concurrency": args.concurrency,
            "throughput_seconds": args.duration,
            "gc_freeze": args.gc_freeze,
            "logs": args.logs,
        },
        "query": DASHBOARD.strip(),
        "index": filled,
        "answer": shape,
        "response_cache": response_cache,
        "cold": {**cold, "upstream_calls_by_route": cold_routes},
        "warm": warm,
        "warm_throughput": warm_tp,
        "repeat": repeat,
        "repeat_throughput": repeat_tp,
        "floor": floor,
        "gc": heap,
    }


def _strawberry_version() -> str:
    from importlib.metadata import version

    return version("strawberry-graphql")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    scratch: tempfile.TemporaryDirectory[str] | None = None
    database: str | None = None
    if args.backend == "sqlite":
        scratch = tempfile.TemporaryDirectory(prefix="og-dashboard-")
        url = f"sqlite:///{scratch.name}/bench.db"
    else:
        database = f"og_bench_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(args.admin_url)
        await admin.execute(f'CREATE DATABASE "{database}"')
        await admin.close()
        url = make_url(args.admin_url).set(database=database).render_as_string(hide_password=False)
    try:
        return await asyncio.wait_for(benchmark(args, url), timeout=args.timeout)
    finally:
        if scratch is not None:
            scratch.cleanup()
        if database is not None:
            admin = await asyncpg.connect(args.admin_url)
            with contextlib.suppress(asyncpg.PostgresError):
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()


def _row(name: str, figures: dict[str, Any], calls: str) -> str:
    return (
        f"{name:<34} {figures['p50_ms']:>9.2f} {figures['p99_ms']:>9.2f} "
        f"{figures['per_second_sequential']:>9,.0f}  {calls}"
    )


def summary(result: dict[str, Any]) -> str:
    cold, warm, repeat, floor = result["cold"], result["warm"], result["repeat"], result["floor"]

    def calls(phase: dict[str, Any]) -> str:
        def spread(per: dict[str, Any]) -> str:
            text = f"{per['mean']:g}"
            return text + (f" ({per['min']}-{per['max']})" if per["min"] != per["max"] else "")

        return (
            f"{spread(phase['upstream_calls_per_query']):>6} upstream, "
            f"{spread(phase['sql_queries_per_query'])} SQL"
        )

    answer = result["answer"]
    lines = [
        f"backend {result['backend']} {result['backend_version']}, "
        f"{result['machine']['nproc']} CPUs, Python {result['machine']['python']}, "
        f"provider latency {result['settings']['provider_latency_ms']} ms; "
        f"CPU share of other work during the run "
        f"{result['machine']['cpu_during_run']['other_work_cpu_share']:.0%}",
        f"index: {result['index']['orders_total']} orders; answer: {answer['orders']} orders "
        f"{answer['by_connection']}, {answer['response_bytes']:,} bytes",
        f"response cache: {result['response_cache']}",
        "",
        f"{'dashboard query (50 orders)':<34} {'p50 ms':>9} {'p99 ms':>9} {'seq/s':>9}  "
        "calls per query",
        _row("HTTP cold (cache emptied)", cold, calls(cold)),
        _row("HTTP warm (no-cache)", warm, calls(warm)),
        _row("HTTP repeat (identical)", repeat, calls(repeat)),
        _row("in-process ordergraph schema", floor["ordergraph_schema_in_process"], "-"),
        _row("Strawberry, in-memory objects", floor["strawberry_in_memory"], "0"),
        _row("graphql-core graphql(), dicts", floor["graphql_core_graphql"], "0 (floor)"),
        _row("graphql-core execute() only", floor["graphql_core_execute_only"], "0"),
        "",
    ]
    for name in ("warm_throughput", "repeat_throughput"):
        tp = result[name]
        lines.append(
            f"{name:<18} {tp['requests_per_second']:>8,.1f} req/s at concurrency "
            f"{tp['concurrency']} (p50 {tp['p50_ms']} ms, p99 {tp['p99_ms']} ms, "
            f"{tp['upstream_calls']} upstream calls, cache header {tp['cache_header']})"
        )
    base = floor["graphql_core_graphql"]["p50_ms"]
    lines.append(
        f"overhead over the floor (p50): warm {warm['p50_ms'] / base:.1f}x, "
        f"repeat {repeat['p50_ms'] / base:.1f}x, cold {cold['p50_ms'] / base:.1f}x"
    )
    lines.append(f"cold upstream calls by route: {cold['upstream_calls_by_route']}")
    heap = result["gc"]
    lines.append(
        f"GC: a full collection takes {heap['full_collection_ms']} ms over "
        f"{heap['tracked_objects']:,} tracked objects ({heap['frozen_objects']:,} frozen); "
        + ", ".join(
            f"{name} {result[name]['gc_ms']:.0f} ms in {result[name]['gc_full_collections']} full"
            for name in ("cold", "warm", "warm_throughput", "repeat", "repeat_throughput")
        )
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [LOAD_CLIENT]:
        options = json.loads(argv[1])
        print(json.dumps(asyncio.run(_load(**options))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_bench", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--orders-per-account", type=int, default=200)
    parser.add_argument("--live-rounds", type=int, default=25, help="new orders per connection")
    parser.add_argument("--iterations", type=int, default=200, help="warm/repeat/floor runs")
    parser.add_argument("--cold-iterations", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per throughput run")
    parser.add_argument("--provider-latency-ms", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after start-up (an experiment: full collections skip start-up objects)",
    )
    parser.add_argument(
        "--logs",
        choices=["json", "off"],
        default="json",
        help="json: the gateway logs as serve does (to a scratch file); off: no handler "
        "(how the figures before the hardening were taken)",
    )
    parser.add_argument("--timeout", type=float, default=240.0, help="give up after seconds")
    parser.add_argument(
        "--admin-url",
        default=ADMIN_URL,
        help="PostgreSQL URL allowed to create and drop the scratch database",
    )
    parser.add_argument("--out", type=Path, default=None, help="results JSON path")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    out = args.out or RESULTS / f"dashboard-{args.backend}.json"
    write_results(out, result, summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
