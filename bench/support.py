"""What every benchmark here shares: percentiles, units and writing results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["ADMIN_URL", "RESULTS", "ms", "percentile", "write_results"]

RESULTS = Path(__file__).parent / "results"
# A PostgreSQL URL allowed to create and drop the scratch databases the benches use.
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a measured sample)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def write_results(out: Path, result: dict[str, Any], summary: str) -> None:
    """Write ``result`` as JSON to ``out`` and print the summary and where it went."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(summary)
    print(f"results written to {out}")
