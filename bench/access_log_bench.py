"""What one access-log line costs: the record ``request_id_middleware`` makes per request,
through ``configure_logging``'s handler and text formatter, into memory.

    python -m bench.access_log_bench

Two settings, alternated, best of ``--rounds`` runs of ``--lines`` lines each: as
``configure_logging`` leaves the logging module (no caller lookup, thread or process
per record), and with the standard library's defaults put back (the caller's file and
line found by walking the stack, the thread, the process). Prints µs per line and
writes ``bench/results/access-log.json``.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.support import RESULTS, write_results
from ordergraph.logs import TRUSTED, configure_logging

_STDLIB_SRCFILE = os.path.normcase(logging.addLevelName.__code__.co_filename)


def _defaults(on: bool) -> None:
    """The standard library's per-record gathering (on) or ``configure_logging``'s (off)."""
    logging._srcfile = _STDLIB_SRCFILE if on else None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = on


def _per_line(lines: int) -> float:
    logger = logging.getLogger("ordergraph.requests")
    started = time.perf_counter()
    for _ in range(lines):
        logger.log(
            logging.INFO,
            "%s %s %d",
            "POST",
            "/graphql",
            200,
            extra={
                "method": "POST",
                "route": "/graphql",
                "status": 200,
                "duration_ms": 1.2,
                TRUSTED: True,
            },
        )
    return (time.perf_counter() - started) / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_logging(stream=io.StringIO())
    runs: dict[str, list[float]] = {"configured": [], "stdlib defaults": []}
    for _ in range(args.rounds):
        for name, on in (("configured", False), ("stdlib defaults", True)):
            _defaults(on)
            runs[name].append(round(_per_line(args.lines), 2))
    _defaults(False)
    result: dict[str, Any] = {
        "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "loadavg": Path("/proc/loadavg").read_text().strip(),
        "lines_per_run": args.lines,
        "us_per_line": runs,
    }
    summary = "\n".join(
        f"{name:<16} best {min(values):6.2f} µs per line  (runs {values})"
        for name, values in runs.items()
    )
    write_results(RESULTS / "access-log.json", result, summary)


if __name__ == "__main__":
    main()
