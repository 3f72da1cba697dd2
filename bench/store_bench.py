"""Store benchmark: ingestion throughput and keyset page latency at depth.

    python -m bench.store_bench --backend sqlite --ingest 10000 --orders 100000 --page-size 100
    python -m bench.store_bench --backend postgresql --ingest 10000 --orders 100000 --page-size 100

Each run uses a new database (a temporary SQLite file, or a fresh PostgreSQL database
created through ``--admin-url`` and dropped afterwards), prints a summary and writes
``bench/results/store-<backend>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.support import ADMIN_URL, RESULTS, ms, percentile, write_results
from ordergraph.models import Candidate, Job, Order, OrderStatus, PackageRef, ProviderName
from ordergraph.store import EventSource, OrderStore, SortOrder, create_engine, migrate

TENANT = "bench"
CONNECTIONS = [
    ("bench-unified", ProviderName.UNIFIED),
    ("bench-kombo", ProviderName.KOMBO),
    ("bench-stackone", ProviderName.STACKONE),
]
START = datetime(2024, 1, 1, tzinfo=UTC)
STATUSES = list(OrderStatus)


def _order(rng: random.Random, n: int, provider: ProviderName) -> Order:
    first, last = rng.choice(["Ann", "Bob", "Chen", "Dana", "Eli"]), f"Person{n}"
    # Kombo reports no timestamps: the store records first-seen time for those.
    created = None if provider is ProviderName.KOMBO else START + timedelta(seconds=n * 30)
    return Order(
        provider=provider,
        remote_id=f"ord-{n:07d}",
        status=rng.choice(STATUSES),
        provider_status="raw",
        created_at=created,
        updated_at=created,
        candidate=Candidate(
            remote_id=f"cand-{n}",
            first_name=first,
            last_name=last,
            emails=(f"{first}.{last}@example.com".lower(),),
        ),
        job=Job(remote_id=f"job-{n % 500}", title="Backend Engineer", code=f"J{n % 500}"),
        package=PackageRef(remote_id=f"pkg-{n % 7}", name="Coding test"),
        test_url=f"https://vendor.example/t/{n}",
    )


def _batches(
    total: int, size: int, offset: int, rng: random.Random
) -> list[tuple[str, list[Order]]]:
    batches = []
    for start in range(offset, offset + total, size):
        connection_id, provider = CONNECTIONS[(start // size) % len(CONNECTIONS)]
        count = min(size, offset + total - start)
        batches.append((connection_id, [_order(rng, start + i, provider) for i in range(count)]))
    return batches


async def _ingest(
    store: OrderStore, batches: list[tuple[str, list[Order]]], base: int
) -> dict[str, Any]:
    latencies = []
    started = time.perf_counter()
    for index, (connection_id, orders) in enumerate(batches):
        # "now" stands in for arrival time so first-seen orders spread out like real ones.
        now = START + timedelta(seconds=(base + index * len(orders)) * 30)
        t0 = time.perf_counter()
        await store.ingest(TENANT, connection_id, orders, EventSource.WEBHOOK, now=now)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    count = sum(len(orders) for _, orders in batches)
    return {
        "orders": count,
        "batches": len(batches),
        "seconds": round(elapsed, 3),
        "orders_per_second": round(count / elapsed, 1),
        "batch_p50_ms": ms(percentile(latencies, 50)),
        "batch_p99_ms": ms(percentile(latencies, 99)),
    }


async def _walk(store: OrderStore, page_size: int, total: int, backward: bool) -> dict[str, Any]:
    latencies: list[float] = []
    seen = 0
    cursor: str | None = None
    ids: set[str] = set()
    while True:
        t0 = time.perf_counter()
        if backward:
            page = await store.page(TENANT, last=page_size, before=cursor, order=SortOrder.ASC)
        else:
            page = await store.page(TENANT, first=page_size, after=cursor, order=SortOrder.ASC)
        latencies.append(time.perf_counter() - t0)
        seen += len(page.edges)
        ids.update(edge.node.id for edge in page.edges)
        more = page.has_previous_page if backward else page.has_next_page
        if not more:
            break
        cursor = page.start_cursor if backward else page.end_cursor
    if seen != total or len(ids) != total:
        raise SystemExit(f"walk saw {seen} orders ({len(ids)} distinct), expected {total}")
    decile = max(1, len(latencies) // 10)
    by_depth = [
        ms(statistics.median(latencies[i : i + decile])) for i in range(0, decile * 10, decile)
    ]
    return {
        "pages": len(latencies),
        "orders_seen": seen,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(max(latencies)),
        "p50_ms_by_depth_decile": by_depth,
    }


async def _count_latency(store: OrderStore, samples: int = 10) -> float:
    latencies = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await store.count(TENANT)
        latencies.append(time.perf_counter() - t0)
    return ms(statistics.median(latencies))


async def _server_version(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            info = conn.dialect.server_version_info
    finally:
        await engine.dispose()
    return ".".join(str(part) for part in info or ())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.ingest > args.orders:
        raise SystemExit("--ingest cannot exceed --orders")
    rng = random.Random(args.seed)
    scratch: tempfile.TemporaryDirectory[str] | None = None
    database: str | None = None
    if args.backend == "sqlite":
        scratch = tempfile.TemporaryDirectory(prefix="og-bench-")
        url = f"sqlite:///{scratch.name}/bench.db"
    else:
        database = f"og_bench_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(args.admin_url)
        await admin.execute(f'CREATE DATABASE "{database}"')
        await admin.close()
        url = make_url(args.admin_url).set(database=database).render_as_string(hide_password=False)
    try:
        await migrate(url)
        engine = create_engine(url)
        store = OrderStore(engine, cursor_secret=secrets.token_hex(16))
        try:
            print(f"ingesting {args.ingest} orders in batches of {args.batch_size} ...", flush=True)
            timed = await _ingest(store, _batches(args.ingest, args.batch_size, 0, rng), 0)
            print(f"  {timed['orders_per_second']} orders/s", flush=True)
            replay = await _ingest(
                store, _batches(args.ingest, args.batch_size, 0, random.Random(args.seed)), 0
            )
            print(f"  unchanged re-ingest: {replay['orders_per_second']} orders/s", flush=True)
            rest = args.orders - args.ingest
            print(f"seeding {rest} more orders in batches of 1000 ...", flush=True)
            seeded = (
                await _ingest(store, _batches(rest, 1000, args.ingest, rng), args.ingest)
                if rest
                else None
            )
            print(f"walking {args.orders} orders, {args.page_size} per page ...", flush=True)
            forward = await _walk(store, args.page_size, args.orders, backward=False)
            backward = await _walk(store, args.page_size, args.orders, backward=True)
            count_ms = await _count_latency(store)
        finally:
            await engine.dispose()
        version = sqlite3.sqlite_version if args.backend == "sqlite" else await _server_version(url)
    finally:
        if scratch is not None:
            scratch.cleanup()
        if database is not None:
            admin = await asyncpg.connect(args.admin_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()
    return {
        "backend": args.backend,
        "backend_version": version,
        "command": "python -m bench.store_bench " + " ".join(sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ingest_new": timed,
        "ingest_unchanged": replay,
        "seed_bulk": seeded,
        "walk_forward": forward,
        "walk_backward": backward,
        "count_all_ms_p50": count_ms,
    }


def _summary(result: dict[str, Any]) -> str:
    new, same = result["ingest_new"], result["ingest_unchanged"]
    forward, backward = result["walk_forward"], result["walk_backward"]
    lines = [
        f"backend            {result['backend']} {result['backend_version']}",
        f"ingest (new)       {new['orders_per_second']:>10,.0f} orders/s "
        f"({new['orders']} in {new['batches']} batches; "
        f"batch p50 {new['batch_p50_ms']} ms, p99 {new['batch_p99_ms']} ms)",
        f"ingest (unchanged) {same['orders_per_second']:>10,.0f} orders/s",
        f"page forward       p50 {forward['p50_ms']} ms, p99 {forward['p99_ms']} ms "
        f"over {forward['pages']} pages",
        f"  p50 by depth decile (ms): {forward['p50_ms_by_depth_decile']}",
        f"page backward      p50 {backward['p50_ms']} ms, p99 {backward['p99_ms']} ms",
        f"  p50 by depth decile (ms): {backward['p50_ms_by_depth_decile']}",
        f"count(all)         p50 {result['count_all_ms_p50']} ms",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_bench", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--ingest", type=int, default=10_000, help="orders ingested, timed")
    parser.add_argument("--batch-size", type=int, default=100, help="orders per ingestion")
    parser.add_argument("--orders", type=int, default=100_000, help="orders stored for paging")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--admin-url",
        default=ADMIN_URL,
        help="PostgreSQL URL allowed to create and drop the scratch database",
    )
    parser.add_argument("--out", type=Path, default=None, help="results JSON path")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    out = args.out or RESULTS / f"store-{args.backend}.json"
    write_results(out, result, _summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
