"""Hostile webhook bodies: how long each takes to refuse, and how long it stalls the loop.

    .venv/bin/python -m bench.webhook_bodies_bench [--repeat 10] [--size-mb 2]

Starts the real webhook intake (``create_app`` over a migrated SQLite store in a
temporary folder, no background jobs) on loopback and posts each body ``--repeat``
times. For each kind it reports the answer, the client-side latency (p50 / max), and
the longest the event loop went without running a 1 ms ticker while that body was
handled (p50 / max): the time every other request on the process waited.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.support import RESULTS, ms, percentile, write_results
from ordergraph.broker import MemoryBroker
from ordergraph.keys import hash_api_key
from ordergraph.sandbox.kombo import sign as kombo_sign
from ordergraph.sandbox.unified import webhook_signature
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import Store, create_engine, ensure_schema
from ordergraph.sync.connections import ConnectionRegistry

# Made-up secrets of a throwaway gateway.
UNIFIED_SECRET = "bench-unified-secret"  # noqa: S105
KOMBO_SECRET = "bench-kombo-secret"  # noqa: S105
CURSOR_SECRET = "bench-cursor-secret"  # noqa: S105
UNIFIED_ACCOUNT = "conn_bench"
KOMBO_ACCOUNT = "greenhouse:bench"


def _order(i: int) -> dict[str, Any]:
    return {
        "id": f"ord_{i}",
        "workspace_id": "ws",
        "connection_id": UNIFIED_ACCOUNT,
        "status": "OPEN",
        "package_id": "pkg_001",
        "profile_first_name": "Ada",
        "profile_emails": ["ada@example.com"],
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-01T10:00:00Z",
    }


def _unified(size: int, sig: str | None) -> bytes:
    one = len(json.dumps(_order(0))) + 2
    data = [_order(i) for i in range(size // one)]
    payload: dict[str, Any] = {"data": data, "nonce": "n", "type": "VIRTUAL"}
    payload["webhook"] = {
        "connection_id": UNIFIED_ACCOUNT,
        "object_type": "assessment_order",
        "event": "updated",
    }
    if sig is not None:
        payload["sig"] = webhook_signature(sig, data, "n")
    return json.dumps(payload).encode()


def bodies(size: int) -> dict[str, tuple[str, bytes, dict[str, str]]]:
    deep = b"[" * 100_000
    deep_closed = b"[" * (size // 2) + b"]" * (size // 2)
    signed_deep = {"X-Kombo-Signature": kombo_sign(KOMBO_SECRET, deep)}
    return {
        "unified: unsigned, valid JSON": (
            "/webhooks/unified/acme-unified",
            _unified(size, None),
            {},
        ),
        "unified: wrongly signed, valid JSON": (
            "/webhooks/unified/acme-unified",
            _unified(size, "not-the-secret"),
            {},
        ),
        "unified: 100,000 x '['": ("/webhooks/unified/acme-unified", deep, {}),
        "unified: size/2 '[' + size/2 ']'": ("/webhooks/unified/acme-unified", deep_closed, {}),
        "kombo: unsigned, valid JSON": ("/webhooks/kombo", _unified(size, None), {}),
        "kombo: 100,000 x '[', signed": ("/webhooks/kombo", deep, signed_deep),
    }


async def _gateway(folder: Path, max_body: int) -> tuple[web.AppRunner, str, Services]:
    store_url = f"sqlite:///{folder / 'bench.db'}"
    settings = load_settings(
        environ={},
        overrides={
            "server": {"host": "127.0.0.1", "port": 8080, "max_body_bytes": max_body},
            "store": {"url": store_url, "cursor_secret": CURSOR_SECRET},
            "tenants": [
                {"name": "acme", "keys": [{"hash": hash_api_key("k"), "scopes": ["read"]}]}
            ],
            "connections": [
                {
                    "id": "acme-unified",
                    "tenant": "acme",
                    "provider": "unified",
                    "base_url": "http://127.0.0.1:9/unified",
                    "api_key": "unused",
                    "account": UNIFIED_ACCOUNT,
                    "webhook_secret": UNIFIED_SECRET,
                    "manage_webhook": False,
                },
                {
                    "id": "acme-kombo",
                    "tenant": "acme",
                    "provider": "kombo",
                    "base_url": "http://127.0.0.1:9/kombo/v1",
                    "api_key": "unused",
                    "account": KOMBO_ACCOUNT,
                    "webhook_secret": KOMBO_SECRET,
                },
            ],
        },
    )
    await ensure_schema(store_url, auto_migrate=True)
    store = Store.from_engine(create_engine(store_url), cursor_secret=CURSOR_SECRET)
    services = Services(
        settings=settings,
        store=store,
        broker=MemoryBroker(),
        connections=ConnectionRegistry.from_settings(settings.connections),
    )
    runner = web.AppRunner(create_app(services, background=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", services


async def _measure(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, float, float]:
    """(status, latency, longest loop stall) of one post."""
    stall = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall = max(stall, now - last - 0.001)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    started = time.perf_counter()
    async with session.post(
        url, data=io.BytesIO(body), headers={"Content-Type": "application/json", **headers}
    ) as response:
        await response.read()
        status = response.status
    latency = time.perf_counter() - started
    done.set()
    await tick
    return status, latency, stall


async def run(args: argparse.Namespace) -> dict[str, Any]:
    # One WARNING per refused body is the intake's contract; here it is only noise.
    logging.getLogger("ordergraph.sync.webhooks").setLevel(logging.ERROR)
    size = int(args.size_mb * 1024 * 1024)
    with tempfile.TemporaryDirectory() as folder:
        runner, base, services = await _gateway(Path(folder), size + 1024 * 1024)
        results: dict[str, Any] = {}
        try:
            async with aiohttp.ClientSession() as session:
                for name, (path, body, headers) in bodies(size).items():
                    samples = [
                        await _measure(session, base + path, body, headers)
                        for _ in range(args.repeat)
                    ]
                    latencies = [s[1] for s in samples]
                    stalls = [s[2] for s in samples]
                    results[name] = {
                        "bytes": len(body),
                        "statuses": sorted({s[0] for s in samples}),
                        "latency_ms": {
                            "p50": ms(percentile(latencies, 50)),
                            "max": ms(max(latencies)),
                        },
                        "loop_stall_ms": {
                            "p50": ms(percentile(stalls, 50)),
                            "max": ms(max(stalls)),
                        },
                    }
        finally:
            await runner.cleanup()
            await services.close()
    return {"repeat": args.repeat, "size_mb": args.size_mb, "bodies": results}


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"{'body':40s} {'bytes':>9s} {'status':>7s} {'latency p50/max':>18s} {'stall p50/max':>16s}"
    ]
    for name, row in result["bodies"].items():
        latency, stall = row["latency_ms"], row["loop_stall_ms"]
        lines.append(
            f"{name:40s} {row['bytes']:9d} {','.join(map(str, row['statuses'])):>7s} "
            f"{latency['p50']:8.1f}/{latency['max']:7.1f} ms "
            f"{stall['p50']:6.1f}/{stall['max']:6.1f} ms"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--size-mb", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "webhook-bodies.json")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    write_results(args.out, result, summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
