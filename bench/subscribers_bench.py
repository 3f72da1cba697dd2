"""Subscriptions fan-out benchmark: N concurrent ``orderEvents`` subscribers.

    python -m bench.subscribers_bench --mode one   # one gateway, memory broker
    python -m bench.subscribers_bench --mode two   # two gateways, Redis broker

Loopback only. It starts the sandbox (``ordergraph sandbox``, a subprocess: the
gateways' Kombo connection points at it) and one or two ``ordergraph serve``
subprocesses on a scratch PostgreSQL database (dropped afterwards); ``two`` adds a
Redis broker and cache with a unique channel prefix. This process is only the load
client, so the gateways' RSS (``/proc/<pid>/status`` VmRSS) is theirs alone.

1. Connect N graphql-transport-ws sockets (raw aiohttp ``ws_connect`` spread over a
   few sessions; in ``two`` half on each gateway), each subscribed to
   ``orderEvents { cursor newStatus order { id remoteId } }``.
2. Warm-up: one webhook, wait until every subscriber has its event (so every
   subscription is live before measuring).
3. Deliver E signed Kombo ``assessment:order-received`` webhooks (bodies made by an
   in-memory copy of the sandbox's Kombo simulator with the same seed, so same
   integration id and secret) at ``--rate`` per second, to the first gateway only.
   Each webhook's 2xx arrival is "receipt committed"; each subscriber's receipt of
   that order's event gives one delay sample.

Reports delay p50/p99 (2xx to delivery), deliveries per second (N x E over the span
from the first webhook sent to the last delivery), missing/duplicate events, server
RSS before/after connecting, server CPU seconds, and PostgreSQL transactions per
event (``pg_stat_database`` of the scratch database: every subscriber's log read and
``order`` load is one). Writes ``bench/results/subscribers-<mode>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

from bench.support import ADMIN_URL, RESULTS, ms, percentile, write_results
from ordergraph.keys import hash_api_key
from ordergraph.sandbox.core import SandboxContext, WebhookSender
from ordergraph.sandbox.kombo import KomboSimulator

ORDERGRAPH = Path(sys.executable).with_name("ordergraph")
SEED = 42
API_KEY = "bench-subscribers-key"
CURSOR_SECRET = "bench-cursor-secret"  # noqa: S105 (loopback bench only)
QUERY = "subscription { orderEvents { cursor newStatus order { id remoteId } } }"


# --- helpers ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _nofile_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return " ".join(line.split()[3:5])
    return "?"


def _raise_nofile(needed: int) -> tuple[int, int]:
    """Raise this process's soft open-file limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class _Capture(WebhookSender):
    """A webhook sender that keeps (body, headers) instead of POSTing them."""

    def __init__(self) -> None:
        super().__init__()
        self.captured: list[tuple[bytes, dict[str, str]]] = []

    async def deliver(
        self,
        *,
        provider: str,
        account: str | None,
        url: str,
        kind: str,
        body: bytes,
        headers: Any,
    ) -> bool:
        self.captured.append((body, dict(headers)))
        return True


class Webhooks:
    """Signed Kombo webhook bodies, one new order each, as the sandbox would send."""

    def __init__(self) -> None:
        self.sender = _Capture()
        context = SandboxContext(seed=SEED, orders_per_account=1, webhooks=self.sender)
        context.webhook_targets["kombo"] = "http://unused"
        self.kombo = KomboSimulator(context)
        self.kombo.seed()
        self.account = next(iter(self.kombo.integrations))

    async def make(self) -> tuple[str, bytes, dict[str, str]]:
        """(remote order id, body, headers)."""
        (row,) = await self.kombo.create_orders(self.account, 1)
        body, headers = self.sender.captured.pop()
        return str(row["id"]), body, {"Content-Type": "application/json", **headers}


# --- processes -------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: asyncio.subprocess.Process
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


async def _spawn(name: str, args: list[str], env: dict[str, str], folder: Path) -> Proc:
    port = _free_port()
    log = folder / f"{name}.log"
    with log.open("wb") as handle:
        process = await asyncio.create_subprocess_exec(
            str(ORDERGRAPH), *args, "--port", str(port), stdout=handle, stderr=handle, env=env
        )
    return Proc(name, process, f"http://127.0.0.1:{port}", log)


async def _ready(proc: Proc, path: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.process.returncode is not None:
                break
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(proc.url + path) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit(f"{proc.name} did not become ready:\n{proc.log.read_text()[-3000:]}")


async def _stop(proc: Proc) -> None:
    if proc.process.returncode is None:
        proc.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.process.wait(), timeout=15)
        except TimeoutError:
            proc.process.kill()
            await proc.process.wait()


def _config(store_url: str, sandbox_url: str, account: str, mode: str, args: Any) -> str:
    cache = broker = 'url = "memory://"'
    if mode == "two":
        base = args.redis_url.rsplit("/", 1)[0]
        cache = f'url = "{base}/{args.redis_cache_db}"'
        broker = f'url = "{args.redis_url}"\nchannel_prefix = "{args.channel_prefix}"'
    return f"""
[server]
host = "127.0.0.1"

[store]
url = "{store_url}"
cursor_secret = "${{OG_CURSOR_SECRET}}"

[cache]
{cache}

[broker]
{broker}

[sync]
kombo_poll_interval = 3600

[subscriptions]
# Long: a prompt event can only come from a broker wake-up, not a periodic read.
poll_interval = {args.poll_interval}

[[tenants]]
name = "acme"

[[tenants.keys]]
hash = "${{OG_ACME_KEY_HASH}}"
scopes = ["read", "write"]

[[connections]]
id = "acme-kombo"
tenant = "acme"
provider = "kombo"
base_url = "{sandbox_url}/kombo/v1"
api_key = "${{OG_KOMBO_KEY}}"
account = "{account}"
webhook_secret = "${{OG_KOMBO_WEBHOOK_SECRET}}"
"""


# --- subscribers -----------------------------------------------------------------------


@dataclass
class Subscriber:
    index: int
    target: int  # which gateway
    received: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ws: aiohttp.ClientWebSocketResponse | None = None
    task: asyncio.Task[None] | None = None

    async def connect(self, session: aiohttp.ClientSession, url: str) -> None:
        ws = await session.ws_connect(
            url.replace("http://", "ws://") + "/graphql",
            protocols=["graphql-transport-ws"],
            autoping=True,
            heartbeat=None,
        )
        self.ws = ws
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {API_KEY}"}}
        )
        ack = await ws.receive_json(timeout=30)
        if ack.get("type") != "connection_ack":
            raise SystemExit(f"subscriber {self.index}: no ack: {ack}")
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": QUERY}})
        self.task = asyncio.create_task(self._listen(ws))

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            now = time.monotonic()
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            kind = message.get("type")
            if kind == "next" and "errors" not in message["payload"]:
                event = message["payload"]["data"]["orderEvents"]
                self.received.append((event["order"]["remoteId"], now))
            elif kind == "ping":
                await ws.send_json({"type": "pong"})
            elif kind != "pong":
                self.errors.append(str(message)[:300])
        if ws.close_code not in (None, 1000):
            self.errors.append(f"closed {ws.close_code}")

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


async def _until_all(subscribers: list[Subscriber], remote: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(any(r == remote for r, _ in s.received) for s in subscribers):
            return True
        await asyncio.sleep(0.05)
    return False


async def _pg_transactions(admin_url: str, database: str) -> int:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute("SELECT pg_stat_force_next_flush()")
        value = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
            database,
        )
        return int(value or 0)
    finally:
        await conn.close()


# --- the run ---------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace, store_url: str, database: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="og-subbench-"))
    webhooks = Webhooks()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ORDERGRAPH_")},
        "OG_CURSOR_SECRET": CURSOR_SECRET,
        "OG_ACME_KEY_HASH": hash_api_key(API_KEY),
        "OG_KOMBO_KEY": webhooks.kombo.api_key,
        "OG_KOMBO_WEBHOOK_SECRET": webhooks.kombo.webhook_secret,
        "PYTHONUNBUFFERED": "1",
    }
    procs: list[Proc] = []
    subscribers: list[Subscriber] = []
    sessions: list[aiohttp.ClientSession] = []
    try:
        sandbox = await _spawn(
            "sandbox", ["sandbox", "--seed", str(SEED), "--orders", "5"], env, folder
        )
        procs.append(sandbox)
        await _ready(sandbox, "/_sandbox/accounts")
        config = folder / "ordergraph.toml"
        config.write_text(_config(store_url, sandbox.url, webhooks.account, args.mode, args))
        gateways: list[Proc] = []
        for number in range(2 if args.mode == "two" else 1):
            extra = ["--migrate"] if number == 0 else []
            gateway = await _spawn(
                f"gateway{number}", ["serve", "--config", str(config), *extra], env, folder
            )
            procs.append(gateway)
            await _ready(gateway, "/readyz")
            gateways.append(gateway)
        await asyncio.sleep(2.0)  # start-up poll of the sandbox settles
        rss_idle = {g.name: _rss_kib(g.pid) for g in gateways}

        # 1. connect
        connector_limit = max(1, args.subscribers // args.sessions + 1)
        sessions = [
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connector_limit))
            for _ in range(args.sessions)
        ]
        subscribers = [Subscriber(i, i % len(gateways)) for i in range(args.subscribers)]
        gate = asyncio.Semaphore(50)

        async def connect(sub: Subscriber) -> None:
            async with gate:
                await sub.connect(sessions[sub.index % len(sessions)], gateways[sub.target].url)

        started = time.monotonic()
        await asyncio.gather(*(connect(s) for s in subscribers))
        connect_seconds = time.monotonic() - started

        # 2. warm-up: every subscription live
        async with aiohttp.ClientSession() as hooks:
            for attempt in range(3):
                remote, body, headers = await webhooks.make()
                async with hooks.post(
                    gateways[0].url + "/webhooks/kombo", data=body, headers=headers
                ) as response:
                    if response.status != 200:
                        raise SystemExit(f"warm-up webhook: {response.status}")
                if await _until_all(subscribers, remote, 30):
                    break
                if attempt == 2:
                    raise SystemExit("not every subscriber got the warm-up event")
            await asyncio.sleep(1.0)
            for sub in subscribers:
                sub.received.clear()
            rss_connected = {g.name: _rss_kib(g.pid) for g in gateways}
            cpu_before = {g.name: _cpu_seconds(g.pid) for g in gateways}
            xact_before = await _pg_transactions(args.admin_url, database)

            # 3. measured webhooks at --rate
            made = [await webhooks.make() for _ in range(args.events)]
            acked: dict[str, float] = {}
            sent: dict[str, float] = {}
            statuses: list[int] = []
            t0 = time.monotonic() + 0.2

            async def post(i: int, remote: str, body: bytes, headers: dict[str, str]) -> None:
                await asyncio.sleep(max(0.0, t0 + i / args.rate - time.monotonic()))
                sent[remote] = time.monotonic()
                async with hooks.post(
                    gateways[0].url + "/webhooks/kombo", data=body, headers=headers
                ) as response:
                    await response.read()
                    acked[remote] = time.monotonic()
                    statuses.append(response.status)

            await asyncio.gather(*(post(i, *m) for i, m in enumerate(made)))
            expected = {remote for remote, _, _ in made}
            deadline = time.monotonic() + args.drain
            while time.monotonic() < deadline:
                if all(len(s.received) >= len(expected) for s in subscribers):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # let any duplicate show up
            cpu_after = {g.name: _cpu_seconds(g.pid) for g in gateways}
            rss_after = {g.name: _rss_kib(g.pid) for g in gateways}
            await asyncio.sleep(1.0)
            xact_after = await _pg_transactions(args.admin_url, database)

        # 4. figures
        delays: list[float] = []
        per_gateway: dict[int, list[float]] = {}
        missing = duplicates = unexpected = out_of_order = 0
        last_delivery = 0.0
        order_index = {remote: i for i, (remote, _, _) in enumerate(made)}
        for sub in subscribers:
            seen: dict[str, int] = {}
            previous = -1
            for remote, at in sub.received:
                if remote not in expected:
                    unexpected += 1
                    continue
                seen[remote] = seen.get(remote, 0) + 1
                if seen[remote] > 1:
                    duplicates += 1
                    continue
                if order_index[remote] < previous:
                    out_of_order += 1
                previous = max(previous, order_index[remote])
                delay = at - acked[remote]
                delays.append(delay)
                per_gateway.setdefault(sub.target, []).append(delay)
                last_delivery = max(last_delivery, at)
            missing += len(expected - set(seen))
        first_sent = min(sent.values())
        span = last_delivery - first_sent
        ack_latency = [acked[r] - sent[r] for r in expected]
        errors = [e for s in subscribers for e in s.errors]

        def dist(values: list[float]) -> dict[str, Any]:
            if not values:
                return {"n": 0}
            return {
                "n": len(values),
                "p50_ms": ms(percentile(values, 50)),
                "p90_ms": ms(percentile(values, 90)),
                "p99_ms": ms(percentile(values, 99)),
                "mean_ms": ms(statistics.fmean(values)),
                "min_ms": ms(min(values)),
                "max_ms": ms(max(values)),
            }

        deliveries = len(delays)
        transactions = xact_after - xact_before
        return {
            "benchmark": "subscribers",
            "mode": args.mode,
            "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "parameters": {
                "subscribers": args.subscribers,
                "events": args.events,
                "rate_per_s": args.rate,
                "client_sessions": args.sessions,
                "gateways": len(gateways),
                "store": "postgresql",
                "broker": "redis" if args.mode == "two" else "memory",
                "subscription_poll_interval_s": args.poll_interval,
                "query": QUERY,
                "open_files_limit_bench": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
                "open_files_limit_servers": {g.name: _nofile_limit(g.pid) for g in gateways},
            },
            "connect_seconds": round(connect_seconds, 2),
            "webhook_status_counts": {str(s): statuses.count(s) for s in set(statuses)},
            "webhook_2xx_latency": dist(ack_latency),
            "delay_2xx_to_delivery": dist(delays),
            "delay_by_gateway": {gateways[k].name: dist(v) for k, v in sorted(per_gateway.items())},
            "deliveries": deliveries,
            "expected_deliveries": len(expected) * len(subscribers),
            "missing": missing,
            "duplicates": duplicates,
            "unexpected": unexpected,
            "out_of_send_order": out_of_order,
            "subscriber_errors": errors[:10],
            "subscriber_error_count": len(errors),
            "span_seconds": round(span, 3),
            "deliveries_per_second": round(deliveries / span, 1) if span > 0 else None,
            "webhooks_per_second_offered": args.rate,
            "rss_kib": {
                "idle": rss_idle,
                "connected": rss_connected,
                "after_events": rss_after,
                "per_subscriber_kib": {
                    g.name: round(
                        (rss_connected[g.name] - rss_idle[g.name])
                        / max(1, sum(1 for s in subscribers if s.target == n)),
                        1,
                    )
                    for n, g in enumerate(gateways)
                },
            },
            "server_cpu_seconds_during_events": {
                g.name: round(cpu_after[g.name] - cpu_before[g.name], 2) for g in gateways
            },
            "pg_transactions_during_events": transactions,
            "pg_transactions_per_event": round(transactions / max(1, len(expected)), 1),
            "pg_transactions_per_event_per_subscriber": round(
                transactions / max(1, len(expected) * len(subscribers)), 2
            ),
        }
    finally:
        await asyncio.gather(*(s.close() for s in subscribers), return_exceptions=True)
        for session in sessions:
            await session.close()
        for proc in reversed(procs):
            await _stop(proc)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    database = f"og_subbench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(args.admin_url)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    url = make_url(args.admin_url).set(database=database).render_as_string(hide_password=False)
    try:
        return await asyncio.wait_for(benchmark(args, url, database), timeout=args.timeout)
    finally:
        admin = await asyncpg.connect(args.admin_url)
        with contextlib.suppress(asyncpg.PostgresError):
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


def summary(result: dict[str, Any]) -> str:
    d = result["delay_2xx_to_delivery"]
    lines = [
        f"mode={result['mode']} subscribers={result['parameters']['subscribers']} "
        f"events={result['parameters']['events']} rate={result['parameters']['rate_per_s']}/s",
        f"delay 2xx->delivery p50 {d.get('p50_ms')} ms  p99 {d.get('p99_ms')} ms  "
        f"max {d.get('max_ms')} ms",
        f"deliveries {result['deliveries']}/{result['expected_deliveries']}  "
        f"missing {result['missing']}  duplicates {result['duplicates']}  "
        f"out of send order {result['out_of_send_order']}  "
        f"errors {result['subscriber_error_count']}",
        f"deliveries/s {result['deliveries_per_second']} over {result['span_seconds']} s",
        f"RSS KiB {result['rss_kib']}",
        f"server CPU s {result['server_cpu_seconds_during_events']}  "
        f"pg transactions/event {result['pg_transactions_per_event']}",
    ]
    for name, dist in result["delay_by_gateway"].items():
        lines.append(f"  {name}: p50 {dist.get('p50_ms')} ms p99 {dist.get('p99_ms')} ms")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.subscribers_bench", description=__doc__)
    parser.add_argument("--mode", choices=["one", "two"], default="one")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--rate", type=float, default=5.0, help="webhooks per second")
    parser.add_argument("--sessions", type=int, default=8, help="aiohttp client sessions")
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for events")
    parser.add_argument("--timeout", type=float, default=170.0, help="give up after seconds")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--out", type=Path, default=None, help="results JSON path")
    args = parser.parse_args(argv)
    args.channel_prefix = f"og-subbench-{uuid.uuid4().hex[:8]}"
    args.redis_cache_db = 9
    limits = _raise_nofile(args.subscribers * 2 + 256)
    result = asyncio.run(run(args))
    result["parameters"]["open_files_limit_raised_to"] = list(limits)
    out = args.out or RESULTS / f"subscribers-{args.mode}.json"
    write_results(out, result, summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
