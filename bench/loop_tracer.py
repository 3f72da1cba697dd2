"""Where a server's latency tail is made: its event loop's iterations, traced in place.

    python -m bench.loop_tracer ordergraph serve --config ordergraph.toml --workers 1
    python -m bench.loop_tracer bench.throughput_bench _stored 8080 body.json 60

Runs the command (``ordergraph``: the gateway's CLI; otherwise a module run as with
``-m``) with a tracer installed. ``SIGUSR1`` starts tracing; the next ``SIGUSR1`` stops
it and writes a summary to ``$LOOP_TRACE_DIR/<pid>.json`` (the current folder if unset).
``bench.throughput_bench --trace-loop`` does this around each wrk run.

What it records, per loop iteration: wall and CPU time (``time.thread_time``) and how
many callbacks were ready when it began; per request (aiohttp's ``_handle_request``):
its handler's wall time, the loop iterations it waited through, and its time in the
process, from its first bytes read (``data_received``) to its answer written; and every
garbage collection. The summary tells the sources of a closed-loop tail apart:

- **idle waits**: iterations that began with nothing ready and spent over 0.5 ms in
  ``select``: every request had been answered and the next had not arrived, i.e. the
  load generator (or the network between) stalled, not this process;
- **preempted**: wall time beyond CPU time in iterations that had work: the kernel ran
  something else while this process was runnable;
- **iteration CPU** and **handler** times: the process's own work, and how even it is;
- **time in the process** against the client's latency: what is made outside it.

Patches private asyncio and aiohttp methods and costs ~2% of a cache hit's request rate
while tracing (bench/README.md, seventh pass): a diagnostic, never a figure of record.
"""

from __future__ import annotations

import array
import asyncio.base_events
import gc
import json
import os
import runpy
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web_protocol

IDLE_WAIT_S = 0.0005  # an empty-handed select longer than this is an idle wait
PREEMPTED_MIN_S = 0.0001  # wall beyond CPU below this is timer noise, not preemption


class LoopTracer:
    """Per-iteration and per-request timings between two ``toggle()`` calls."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.on = False
        self.began = array.array("d")
        self.wall = array.array("d")
        self.cpu = array.array("d")
        self.ready = array.array("l")
        self.handler = array.array("d")
        self.suspended = array.array("l")  # per request: loop iterations it waited through
        self.sojourn = array.array("d")  # per request: its bytes read to its answer written
        self.read_at: dict[Any, float] = {}  # per connection (handlers have __slots__)
        self.iteration = 0
        self.collections: list[tuple[int, float]] = []
        self._gc_started = 0.0

    def install(self) -> None:
        tracer = self
        run_once = asyncio.base_events.BaseEventLoop._run_once  # type: ignore[attr-defined]
        handle_request = web_protocol.RequestHandler._handle_request
        data_received = web_protocol.RequestHandler.data_received
        clock, cpu_clock = time.perf_counter, time.thread_time

        def traced_run_once(loop: Any) -> None:
            if not tracer.on:
                return run_once(loop)  # type: ignore[no-any-return]
            ready = len(loop._ready)
            began, cpu = clock(), cpu_clock()
            tracer.iteration += 1
            run_once(loop)
            tracer.began.append(began)
            tracer.wall.append(clock() - began)
            tracer.cpu.append(cpu_clock() - cpu)
            tracer.ready.append(ready)
            return None

        def traced_data_received(handler: Any, data: bytes) -> None:
            # One request at a time per connection (wrk does not pipeline): the first
            # bytes of a request are the first bytes since the last answer.
            if tracer.on and handler not in tracer.read_at:
                tracer.read_at[handler] = clock()
            data_received(handler, data)

        async def traced_handle_request(handler: Any, *args: Any) -> Any:
            if not tracer.on:
                return await handle_request(handler, *args)
            began, iteration = clock(), tracer.iteration
            result = await handle_request(handler, *args)
            ended = clock()
            tracer.handler.append(ended - began)
            tracer.suspended.append(tracer.iteration - iteration)
            read_at = tracer.read_at.pop(handler, None)
            if read_at is not None:
                tracer.sojourn.append(ended - read_at)
            return result

        asyncio.base_events.BaseEventLoop._run_once = traced_run_once  # type: ignore[attr-defined]
        web_protocol.RequestHandler._handle_request = traced_handle_request  # type: ignore[method-assign,assignment]
        web_protocol.RequestHandler.data_received = traced_data_received  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        signal.signal(signal.SIGUSR1, lambda *_: self.toggle())

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.collections.append((info["generation"], time.perf_counter() - self._gc_started))

    def toggle(self) -> None:
        if not self.on:
            for values in (
                self.began,
                self.wall,
                self.cpu,
                self.ready,
                self.handler,
                self.suspended,
                self.sojourn,
            ):
                del values[:]
            self.collections.clear()
            self.read_at.clear()
            self.on = True
            return
        self.on = False
        try:
            summary = self.summary()
        except Exception as error:  # a diagnostic: say what broke rather than go silent
            summary = {"error": repr(error)}
        path = self.out_dir / f"{os.getpid()}.json"
        path.write_text(json.dumps(summary))

    def summary(self) -> dict[str, Any]:
        # The signal may have landed between two appends of one iteration: keep whole
        # iterations. The first one after the toggle may have slept in select before it.
        whole = min(len(self.began), len(self.wall), len(self.cpu), len(self.ready))
        wall, cpu, ready = self.wall[1:whole], self.cpu[1:whole], self.ready[1:whole]
        del self.began[whole:]
        span = (self.began[-1] + self.wall[whole - 1] - self.began[0]) if self.began else 0.0
        idle = [w - c for w, c, r in zip(wall, cpu, ready, strict=True) if r == 0]
        idle_waits = sorted(x for x in idle if x > IDLE_WAIT_S)
        preempted = [w - c for w, c, r in zip(wall, cpu, ready, strict=True) if r > 0]
        return {
            "iterations": len(wall),
            "span_s": round(span, 3),
            "iteration_cpu_us": _percentiles(cpu, (50, 90, 99)),
            "ready_per_iteration": round(sum(ready) / len(ready), 1) if ready else 0,
            "idle_waits": len(idle_waits),
            "idle_wait_ms_total": round(sum(idle_waits) * 1e3, 1),
            "idle_wait_ms_median": round(idle_waits[len(idle_waits) // 2] * 1e3, 2)
            if idle_waits
            else 0.0,
            "preempted_ms_total": round(sum(x for x in preempted if x > PREEMPTED_MIN_S) * 1e3, 1),
            "requests": len(self.handler),
            "handler_us": _percentiles(self.handler, (50, 99, 99.9)),
            # Requests whose handling waited for later loop iterations (awaited something
            # that was not ready): each such wait lets every other request go first.
            "suspended_requests": sum(1 for n in self.suspended if n),
            "suspended_iterations": _counts(self.suspended),
            # From a request's first bytes read to its answer written: the latency this
            # process adds; what wrk sees beyond it is made outside (client, kernel).
            "sojourn_us": _percentiles(self.sojourn, (50, 90, 99, 99.9)),
            "collections": len(self.collections),
            "longest_collection_ms": round(
                max((d for _, d in self.collections), default=0) * 1e3, 2
            ),
        }


def _percentiles(values: Any, points: tuple[float, ...]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {
        f"p{p:g}": round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1e6)
        for p in points
    }


def _counts(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        if value:
            counts[str(value)] = counts.get(str(value), 0) + 1
    return dict(sorted(counts.items(), key=lambda item: int(item[0])))


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    LoopTracer(Path(os.environ.get("LOOP_TRACE_DIR", "."))).install()
    target, arguments = sys.argv[1], sys.argv[2:]
    if target == "ordergraph":
        from ordergraph.cli import main as ordergraph_main

        sys.argv = ["ordergraph", *arguments]
        raise SystemExit(ordergraph_main())
    sys.argv = [target, *arguments]
    runpy.run_module(target, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
