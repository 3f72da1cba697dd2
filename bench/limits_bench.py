"""How long the pre-execution checks take, by document shape: the doubling fragment bomb
at growing depths, a long fragment chain, and the dashboard query.

Each figure is one cold check (no cache): parse, limit rules, cost plan, and the HTTP
layer's document facts, as ``RequestLimits.check`` and ``DocumentAnalyzer.facts`` run
them. Before this harness's change, 19 levels of the bomb took ~5 s and 25 never ended.

    .venv/bin/python -m bench.limits_bench
"""

from __future__ import annotations

import statistics
import time

from ordergraph.api.documents import DocumentAnalyzer
from ordergraph.schema import schema
from ordergraph.schema.limits import RequestLimits
from ordergraph.settings import LimitSettings
from tests.fuzz.fragment_shapes import bomb

DASHBOARD = (
    (__import__("pathlib").Path(__file__).parent / "dashboard_bench.py")
    .read_text()
    .split('DASHBOARD = """', 1)[1]
    .split('"""', 1)[0]
)


def chain(length: int) -> str:
    head = "query { orders { edges { node { ...F%d } } } } fragment F0 on Order { id } "
    links = (f"fragment F{n} on Order {{ ...F{n - 1} }}" for n in range(1, length + 1))
    return head.replace("%d", str(length)) + " ".join(links)


def check_ms(document: str, repeats: int = 20) -> tuple[float, list[str]]:
    """Median milliseconds of a cold check, and the codes it answered."""
    timings: list[float] = []
    codes: list[str] = []
    settings = LimitSettings(max_tokens=20_000)
    for _ in range(repeats):
        limits = RequestLimits(settings)
        analyzer = DocumentAnalyzer(schema, max_tokens=settings.max_tokens)
        started = time.perf_counter()
        errors = limits.check(schema._schema, document, None, {}, providers={})
        analyzer.facts(document, None)
        timings.append((time.perf_counter() - started) * 1000)
        codes = [str((e.extensions or {}).get("code", e.message)) for e in errors]
    return statistics.median(timings), codes


def main() -> None:
    cases = [(f"bomb {n} levels", bomb(n)) for n in (10, 19, 25, 40, 59)]
    cases += [("chain of 250 fragments", chain(250)), ("dashboard query", DASHBOARD)]
    print(f"{'document':<26}{'bytes':>8}{'median ms':>12}  answer")
    for name, document in cases:
        median, codes = check_ms(document)
        print(f"{name:<26}{len(document):>8}{median:>12.2f}  {', '.join(codes) or 'ok'}")


if __name__ == "__main__":
    main()
