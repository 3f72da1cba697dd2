"""Throughput benchmark: requests per second under ``wrk`` against real ``serve`` processes.

    python -m bench.throughput_bench
    python -m bench.throughput_bench --duration 10 --rounds 3 --label after

Loopback only. It starts the sandbox (one account per provider) in this process, a
scratch PostgreSQL database and a Redis key prefix, writes a config with one tenant and
one Kombo connection (60 orders in the simulator), migrates, and starts ``ordergraph
serve`` with one worker (and, when ``serve`` has ``--workers``, a second one with two
workers on another port). Every contestant is its own process, driven by ``wrk -t1 -c10``
with a small Lua script that POSTs the 50-order query (``--query dashboard``: the dashboard
query of ``bench/dashboard_bench.py``, package names and connections included, against a
floor built from the committed ``schema.graphql``):

- **full**: ``Cache-Control: no-cache``: a full execution each time;
- **hit**: the identical request: a whole-response cache hit;
- **304**: ``If-None-Match`` with the ETag of the hit (only when the gateway sends one);
- **hit/full, 2 workers**: the same against ``serve --workers 2``;
- **floor**: a plain aiohttp + graphql-core server answering the same 50 orders from
  memory (parse and validation cached): what GraphQL over HTTP costs at the least here;
- **stored body**: a bare aiohttp handler that reads the POST and answers the hit's own
  bytes: no GraphQL at all, the least any aiohttp server does per request here. Its
  p99/p50 is the tail the event loop and the machine make by themselves (the reference
  for the cache-hit path's tail);
- **stored body, N us spin** (``--stored-spin N``, repeatable): the same, spinning the CPU
  N microseconds per request first: the loop's own tail at a request rate like a hit's.

``--trace-loop`` runs the one-worker gateway and the stored-body servers under
``bench.loop_tracer`` and prints, after each of their runs, where its latency was made:
time in the process (first bytes read to answer written), loop iterations, idle waits
(the load generator stalled), preemption, handler times. The tracer costs a little: use
it to explain figures, not for figures of record.

Contestants alternate within each round (so load from other work on the machine hits
them alike); figures are medians over the rounds. Each run records ``/proc/loadavg``
before it: the honest noise indicator on a shared machine. Prints a table and writes
``bench/results/throughput-<label>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from multidict import CIMultiDict
from sqlalchemy.engine import make_url

from bench.dashboard_bench import DASHBOARD
from bench.support import ADMIN_URL, RESULTS, write_results
from ordergraph.keys import hash_api_key
from ordergraph.sandbox.app import create_sandbox_app
from ordergraph.sandbox.core import SandboxContext

ORDERGRAPH = Path(sys.executable).with_name("ordergraph")
API_KEY = "bench-throughput-key-7c1d9e"  # a key of the bench's own tenant
CURSOR_SECRET = "bench-throughput-cursor-secret"  # noqa: S105 (loopback bench only)
REDIS_URL = os.environ.get("ORDERGRAPH_BENCH_REDIS", "redis://127.0.0.1:6379")
FLOOR = "_floor"  # argv[1] of the floor server process
STORED = "_stored"  # argv[1] of the stored-body server process

QUERY = """{ orders(first: 50) { edges { node { id remoteId status package { id }
  candidate { emails firstName lastName } job { title hiringTeam { email } } } } } }"""


SCHEMA_SDL = Path(__file__).resolve().parent.parent / "schema.graphql"

# The shape of QUERY as a plain schema: what graphql-core needs at the least.
FLOOR_SDL = """
type Package { id: ID! }
type Candidate { emails: [String!]!, firstName: String, lastName: String }
type HiringTeamMember { email: String }
type Job { title: String, hiringTeam: [HiringTeamMember!]! }
type Order {
  id: ID!
  remoteId: String!
  status: String!
  package: Package
  candidate: Candidate
  job: Job
}
type OrderEdge { node: Order! }
type OrderConnection { edges: [OrderEdge!]! }
type Query { orders(first: Int): OrderConnection! }
"""

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
{extra}
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


# --- the floor: aiohttp + graphql-core over the same data from memory --------------------


def run_floor(port: int, data_file: Path, query_name: str) -> None:
    """Serve the query's answer by graphql-core's default resolution over plain dicts."""
    import graphql

    schema = graphql.build_schema(request_named(query_name).floor_sdl)
    root = json.loads(data_file.read_text())
    documents: dict[str, graphql.DocumentNode] = {}

    def document(text: str) -> graphql.DocumentNode | list[graphql.GraphQLError]:
        cached = documents.get(text)
        if cached is not None:
            return cached
        parsed = graphql.parse(text)
        errors = graphql.validate(schema, parsed)
        if errors:
            return errors
        documents[text] = parsed
        return parsed

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        parsed = document(body["query"])
        if isinstance(parsed, list):
            errors = [e.formatted for e in parsed]
            return web.Response(
                text=json.dumps({"errors": errors}), content_type="application/json"
            )
        result = graphql.execute(
            schema, parsed, root_value=root, variable_values=body.get("variables")
        )
        assert not isinstance(result, asyncio.Future)  # default resolvers: synchronous
        payload: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
        if result.errors:  # type: ignore[union-attr]
            payload["errors"] = [e.formatted for e in result.errors]  # type: ignore[union-attr]
        return web.Response(
            text=json.dumps(payload, separators=(",", ":")), content_type="application/json"
        )

    app = web.Application()
    app.router.add_post("/graphql", handle)
    import gc

    gc.collect()
    gc.freeze()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def run_stored(port: int, body_file: Path, spin_us: float = 0.0) -> None:
    """Answer every POST with the same stored bytes, as the cache-hit path ends up doing;
    with ``spin_us``, after spinning the CPU that long (a handler as costly as a hit, to
    tell the tail a request's cost makes from the one the loop and the machine make)."""
    body = body_file.read_bytes()
    spin = spin_us / 1e6

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if spin:
            until = time.perf_counter() + spin
            while time.perf_counter() < until:
                pass
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/graphql", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- wrk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """The request every contestant is sent, and the schema the floor answers it with."""

    name: str
    query: str
    variables: dict[str, Any] | None
    floor_sdl: str

    def body(self) -> dict[str, Any]:
        if self.variables is None:
            return {"query": self.query}
        return {"query": self.query, "variables": self.variables}


def request_named(name: str) -> Request:
    if name == "dashboard":
        # The committed SDL: the floor resolves every field by default over the answer.
        return Request(name, DASHBOARD, {"first": 50}, SCHEMA_SDL.read_text())
    return Request(name, QUERY, None, FLOOR_SDL)


@dataclass
class Contestant:
    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    expect_status: int = 200
    expect_cache: str | None = None
    traced_pid: int | None = None  # with --trace-loop: the process to trace (one only)
    runs: list[dict[str, Any]] = field(default_factory=list)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if match is None:
        msg = f"unreadable wrk latency {text!r}"
        raise ValueError(msg)
    return round(float(match.group(1)) * _UNITS[match.group(2)], 3)


def parse_wrk(output: str) -> dict[str, Any]:
    """req/s, p50, p99 and error counts from ``wrk --latency`` output."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"(\d+) requests in", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if rate is None or p50 is None or p99 is None or total is None:
        msg = f"unreadable wrk output:\n{output}"
        raise ValueError(msg)
    return {
        "requests_per_s": float(rate.group(1)),
        "p50_ms": _to_ms(p50.group(1)),
        "p99_ms": _to_ms(p99.group(1)),
        "requests": int(total.group(1)),
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
    }


async def run_wrk(
    contestant: Contestant, scripts: Path, duration: int, request: Request
) -> dict[str, Any]:
    extra = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in contestant.headers.items()
    )
    script = scripts / f"{contestant.name.replace(' ', '_').replace(',', '')}.lua"
    script.write_text(
        LUA.format(body=_lua_string(json.dumps(request.body())), key=API_KEY, extra=extra)
    )
    load = loadavg()
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", "-c10", f"-d{duration}s", "--latency", "-s", str(script),
        contestant.url + "/graphql",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    figures = parse_wrk(output.decode())
    figures["loadavg_before"] = load
    return figures


async def run_wrk_traced(
    contestant: Contestant, scripts: Path, duration: int, request: Request, folder: Path
) -> dict[str, Any]:
    """``run_wrk``, with the contestant's loop traced around it when it has a traced
    process (``--trace-loop``): its summary under ``"loop"``."""
    if contestant.traced_pid is None:
        return await run_wrk(contestant, scripts, duration, request)
    summary = folder / "loop-trace" / f"{contestant.traced_pid}.json"
    summary.unlink(missing_ok=True)
    os.kill(contestant.traced_pid, signal.SIGUSR1)
    figures = await run_wrk(contestant, scripts, duration, request)
    os.kill(contestant.traced_pid, signal.SIGUSR1)
    for _ in range(50):
        if summary.exists():
            figures["loop"] = json.loads(summary.read_text())
            break
        await asyncio.sleep(0.1)
    return figures


def loop_line(loop: dict[str, Any]) -> str:
    if "error" in loop:
        return f"loop trace failed: {loop['error']}"
    cpu, handler, sojourn = loop["iteration_cpu_us"], loop["handler_us"], loop["sojourn_us"]
    return (
        f"in process p50 {sojourn.get('p50')} p99 {sojourn.get('p99')} us;"
        f" {loop['iterations']} iterations (cpu p50 {cpu.get('p50')} p99 {cpu.get('p99')} us,"
        f" {loop['ready_per_iteration']} ready), idle waits {loop['idle_waits']}"
        f" ({loop['idle_wait_ms_total']} ms), preempted {loop['preempted_ms_total']} ms,"
        f" handler p50 {handler.get('p50')} p99 {handler.get('p99')} us"
        f" ({loop['suspended_requests']} of {loop['requests']} suspended),"
        f" {loop['collections']} collections"
    )


# --- the gateway ------------------------------------------------------------------------


CONFIG = """
[server]
host = "127.0.0.1"

[store]
url = "{store_url}"
cursor_secret = "{cursor_secret}"

[cache]
url = "{cache_url}"

[broker]
url = "{broker_url}"
channel_prefix = "{prefix}"

[logging]
level = "INFO"

[[tenants]]
name = "acme"

[[tenants.keys]]
hash = "{key_hash}"
scopes = ["read", "pii"]

[[connections]]
id = "acme-kombo"
tenant = "acme"
provider = "kombo"
base_url = "{kombo_url}"
api_key = "{kombo_key}"
account = "{kombo_account}"
webhook_secret = "{webhook_secret}"
poll_interval = 3600
"""


@dataclass
class Gateway:
    process: asyncio.subprocess.Process
    url: str
    log: Path

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode or 0


async def run_command(*argv: str) -> tuple[int, str]:
    """Run a command to its end; (exit code, stdout and stderr)."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


async def serve_has_workers() -> bool:
    """Whether this checkout's ``serve`` has ``--workers`` (main's before it did not)."""
    _, help_text = await run_command(str(ORDERGRAPH), "serve", "--help")
    return "--workers" in help_text


def traced(command: list[str], trace: bool) -> list[str]:
    """``command`` run under ``bench.loop_tracer`` when ``trace``."""
    if not trace:
        return command
    if command[0] == str(ORDERGRAPH):
        return [sys.executable, "-m", "bench.loop_tracer", "ordergraph", *command[1:]]
    assert command[:2] == [sys.executable, "-m"]
    return [sys.executable, "-m", "bench.loop_tracer", *command[2:]]


async def start_gateway(
    config: Path, folder: Path, name: str, workers: int | None, *, trace: bool = False
) -> Gateway:
    port = free_port()
    log = folder / f"{name}.log"
    flags = ["--workers", str(workers)] if workers is not None else []
    command = [str(ORDERGRAPH), "serve", "--config", str(config), "--port", str(port), *flags]
    with log.open("wb") as handle:
        process = await asyncio.create_subprocess_exec(
            *traced(command, trace), stdout=handle, stderr=handle
        )
    gateway = Gateway(process, f"http://127.0.0.1:{port}", log)
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get(gateway.url + "/readyz") as response:
                    if response.status == 200:
                        return gateway
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    raise SystemExit(f"{name} did not become ready:\n{log.read_text(errors='replace')}")


async def ask(
    session: aiohttp.ClientSession,
    url: str,
    request: Request,
    headers: dict[str, str] | None = None,
) -> tuple[int, CIMultiDict[str], bytes]:
    async with session.post(
        url + "/graphql",
        json=request.body(),
        headers={"Authorization": f"Bearer {API_KEY}", **(headers or {})},
    ) as response:
        return response.status, CIMultiDict(response.headers), await response.read()


async def wait_for_orders(
    session: aiohttp.ClientSession, url: str, request: Request
) -> dict[str, Any]:
    for _ in range(600):
        status, _, body = await ask(session, url, request, {"Cache-Control": "no-cache"})
        if status == 200:
            data = json.loads(body)
            edges = (data.get("data") or {}).get("orders", {}).get("edges", [])
            if len(edges) >= 50 and not data.get("errors"):
                result: dict[str, Any] = data["data"]
                return result
        await asyncio.sleep(0.1)
    raise SystemExit("the Kombo connection did not fill the index with 50 orders in time")


async def check(session: aiohttp.ClientSession, contestant: Contestant, request: Request) -> None:
    """One request before the load: the contestant answers what it claims to."""
    status, headers, _ = await ask(session, contestant.url, request, contestant.headers)
    if status != contestant.expect_status:
        raise SystemExit(f"{contestant.name}: HTTP {status}, expected {contestant.expect_status}")
    if contestant.expect_cache is not None:
        seen = headers.get("X-Ordergraph-Cache")
        if seen != contestant.expect_cache:
            raise SystemExit(
                f"{contestant.name}: cache {seen!r}, expected {contestant.expect_cache!r}"
            )


async def start_reference(
    servers: list[asyncio.subprocess.Process], mode: str, *arguments: str, trace: bool = False
) -> str:
    """Start this module as a reference server (``FLOOR``, ``STORED``); its URL once it
    answers."""
    port = free_port()
    command = [sys.executable, "-m", "bench.throughput_bench", mode, str(port), *arguments]
    process = await asyncio.create_subprocess_exec(*traced(command, trace))
    servers.append(process)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.post(url + "/graphql", json={"query": "{ __typename }"}):
                    return url
            await asyncio.sleep(0.1)
    raise SystemExit(f"the {mode} server did not start")


async def stop_reference(server: asyncio.subprocess.Process) -> None:
    if server.returncode is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(server.wait(), timeout=10)
    except TimeoutError:
        server.kill()
        await server.wait()


# --- the run ----------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace, store_url: str, folder: Path) -> dict[str, Any]:
    request = request_named(args.query)
    sandbox = SandboxContext(seed=args.seed, orders_per_account=60, accounts_per_provider=1)
    sandbox_runner = web.AppRunner(create_sandbox_app(sandbox), access_log=None)
    await sandbox_runner.setup()
    sandbox_port = free_port()
    await web.TCPSite(sandbox_runner, "127.0.0.1", sandbox_port).start()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    prefix = f"og-bench-{uuid.uuid4().hex[:8]}"
    cache_db = random.randint(1, 15)
    gateways: list[Gateway] = []
    servers: list[asyncio.subprocess.Process] = []  # the floor and the stored body
    if args.trace_loop:
        # Where bench.loop_tracer writes, inherited by the traced processes.
        (folder / "loop-trace").mkdir()
        os.environ["LOOP_TRACE_DIR"] = str(folder / "loop-trace")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(sandbox_url + "/_sandbox/accounts") as response:
                accounts = (await response.json())["accounts"]
            kombo = next(a for a in accounts if a["provider"] == "kombo")
            config = folder / "ordergraph.toml"
            config.write_text(
                CONFIG.format(
                    store_url=store_url,
                    cursor_secret=CURSOR_SECRET,
                    cache_url=f"{REDIS_URL}/{cache_db}",
                    broker_url=f"{REDIS_URL}/0",
                    prefix=prefix,
                    key_hash=hash_api_key(API_KEY),
                    kombo_url=f"{sandbox_url}/kombo/v1",
                    kombo_key=kombo["headers"]["Authorization"].split(" ", 1)[1],
                    kombo_account=kombo["account"],
                    webhook_secret=kombo["webhook_secret"],
                )
            )
            code, output = await run_command(str(ORDERGRAPH), "migrate", "--config", str(config))
            if code != 0:
                raise SystemExit(f"migrate failed:\n{output}")
            workers_flag = await serve_has_workers()
            one = await start_gateway(
                config, folder, "serve-1", 1 if workers_flag else None, trace=args.trace_loop
            )
            gateways.append(one)
            data = await wait_for_orders(session, one.url, request)
            two: Gateway | None = None
            if workers_flag:
                two = await start_gateway(config, folder, "serve-2", 2)
                gateways.append(two)
            data_file = folder / "floor-data.json"
            data_file.write_text(json.dumps(data))
            floor_url = await start_reference(servers, FLOOR, str(data_file), request.name)
            status, _, body = await ask(session, floor_url, request)
            if status != 200 or json.loads(body)["data"] != data:
                raise SystemExit("the floor answers other data than the gateway")

            _, headers, hit_body = await ask(session, one.url, request)  # stores the entry
            etag = headers.get("ETag")
            body_file = folder / "stored-body.json"
            body_file.write_bytes(hit_body)
            stored_url = await start_reference(
                servers, STORED, str(body_file), trace=args.trace_loop
            )
            one_pid = one.process.pid if args.trace_loop else None
            contestants = [
                Contestant(
                    "full, 1 worker",
                    one.url,
                    {"Cache-Control": "no-cache"},
                    200,
                    "bypass",
                    traced_pid=one_pid,
                ),
                Contestant("hit, 1 worker", one.url, {}, 200, "hit", traced_pid=one_pid),
            ]
            if etag is not None:
                contestants.append(
                    Contestant(
                        "304, 1 worker", one.url, {"If-None-Match": etag}, 304, traced_pid=one_pid
                    )
                )
            if two is not None:
                contestants += [
                    Contestant(
                        "full, 2 workers", two.url, {"Cache-Control": "no-cache"}, 200, "bypass"
                    ),
                    Contestant("hit, 2 workers", two.url, {}, 200, "hit"),
                ]
            contestants.append(Contestant("floor (graphql-core)", floor_url))
            contestants.append(
                Contestant(
                    "stored body (aiohttp)",
                    stored_url,
                    traced_pid=servers[-1].pid if args.trace_loop else None,
                )
            )
            for spin in args.stored_spin:
                url = await start_reference(
                    servers, STORED, str(body_file), str(spin), trace=args.trace_loop
                )
                contestants.append(
                    Contestant(
                        f"stored body, {spin:g} us spin",
                        url,
                        traced_pid=servers[-1].pid if args.trace_loop else None,
                    )
                )
            for contestant in contestants:
                await check(session, contestant, request)
                await check(session, contestant, request)  # each worker of two has had one
        scripts = folder / "lua"
        scripts.mkdir()
        for round_number in range(1, args.rounds + 1):
            for contestant in contestants:
                figures = await run_wrk_traced(contestant, scripts, args.duration, request, folder)
                contestant.runs.append(figures)
                print(
                    f"round {round_number} {contestant.name:<22}"
                    f" {figures['requests_per_s']:>9.1f} req/s"
                    f"  p50 {figures['p50_ms']:>8.2f} ms  p99 {figures['p99_ms']:>8.2f} ms"
                    f"  load {figures['loadavg_before']}",
                    flush=True,
                )
                if "loop" in figures:
                    print("  " + loop_line(figures["loop"]), flush=True)
                if figures["non_2xx_3xx"] or figures["socket_errors"]:
                    print(
                        f"  !! {figures['non_2xx_3xx']} bad statuses,"
                        f" socket errors: {figures['socket_errors']}"
                    )
    finally:
        for gateway in gateways:
            code = await gateway.stop()
            if code != 0:
                print(
                    f"{gateway.log.name}: exit {code}\n"
                    + gateway.log.read_text(errors="replace")[-3000:]
                )
        for server in servers:
            await stop_reference(server)
        await sandbox_runner.cleanup()
        with contextlib.suppress(Exception):
            from redis.asyncio import Redis

            for db in (0, cache_db):
                client = Redis.from_url(f"{REDIS_URL}/{db}")
                keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
                if keys:
                    await client.delete(*keys)
                await client.aclose()

    summary: dict[str, Any] = {}
    for contestant in contestants:
        runs = contestant.runs
        summary[contestant.name] = {
            "requests_per_s": round(statistics.median(r["requests_per_s"] for r in runs), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 3),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 3),
            "runs": runs,
        }
    return {
        "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "commit": (await run_command("git", "rev-parse", "--short", "HEAD"))[1].strip(),
        "wrk": {
            "threads": 1,
            "connections": 10,
            "duration_s": args.duration,
            "rounds": args.rounds,
        },
        "loop_traced": args.trace_loop,
        "query": request.query,
        "variables": request.variables,
        "contestants": summary,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{'contestant':<24} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9}"
        f"  (medians of {result['wrk']['rounds']} rounds)"
    ]
    for name, figures in result["contestants"].items():
        lines.append(
            f"{name:<24} {figures['requests_per_s']:>9.1f}"
            f" {figures['p50_ms']:>9.2f} {figures['p99_ms']:>9.2f}"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    database = f"og_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(args.admin_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    store_url = (
        make_url(args.admin_url).set(database=database).render_as_string(hide_password=False)
    )
    try:
        with tempfile.TemporaryDirectory(prefix="og-throughput-") as folder:
            return await benchmark(args, store_url, Path(folder))
    finally:
        admin = await asyncpg.connect(args.admin_url)
        with contextlib.suppress(asyncpg.PostgresError):
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == FLOOR:
        run_floor(int(argv[1]), Path(argv[2]), argv[3])
        return 0
    if argv and argv[0] == STORED:
        run_stored(int(argv[1]), Path(argv[2]), float(argv[3]) if len(argv) > 3 else 0.0)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--label", default="after", help="results go to throughput-<label>.json")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--query",
        choices=["orders50", "dashboard"],
        default="orders50",
        help="the issue's 50-order query, or the dashboard query of bench/dashboard_bench.py",
    )
    parser.add_argument(
        "--trace-loop",
        action="store_true",
        help="run the one-worker gateway and the stored-body servers under bench.loop_tracer "
        "and print each run's loop summary (idle waits, preemption, iteration and handler "
        "times): where the tail is made; costs a little, so not for figures of record",
    )
    parser.add_argument(
        "--stored-spin",
        type=float,
        action="append",
        default=[],
        metavar="US",
        help="also a stored-body server that spins the CPU this many microseconds per "
        "request (repeatable): the loop's own tail at a hit's cost",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: this benchmark drives every server with wrk "
            "(`apt-get install -y wrk`, or build it from https://github.com/wg/wrk)",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    result = asyncio.run(main_async(args))
    result["wall_s"] = round(time.monotonic() - started, 1)
    out = args.out or RESULTS / f"throughput-{args.label}.json"
    write_results(out, result, table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
