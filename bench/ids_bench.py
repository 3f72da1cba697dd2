"""Node id signing cost: what building a page's ids adds, and what checking one costs.

    python -m bench.ids_bench

Every node is built once with its id (ordergraph/schema/orders.py): a dashboard order
carries five ids (Order, Candidate, Job, Package, ProviderConnection), so a page of 50
orders signs 250. Prints microseconds per id and per 50-order page.
"""

from __future__ import annotations

import argparse
import timeit

from ordergraph.ids import NodeIdCodec

KEYS = {
    "Order": "acme-unified:ord_0123456789",
    "Candidate": "e:ada.lovelace@example.org",
    "Job": "j:acme-unified:job_u_001",
    "Package": "acme-unified:pkg_001",
    "ProviderConnection": "acme-unified",
}


def _best_us(statement: str, namespace: dict[str, object], number: int) -> float:
    runs = timeit.repeat(statement, globals=namespace, number=number, repeat=5)
    return min(runs) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20_000)
    args = parser.parse_args()
    codec = NodeIdCodec("bench-secret")
    print(f"{'type':<20} {'encode us':>10} {'decode us':>10}")
    page_us = 0.0
    for type_name, key in KEYS.items():
        node_id = codec.encode(type_name, key)
        space: dict[str, object] = {"c": codec, "t": type_name, "k": key, "n": node_id}
        encode = _best_us("c.encode(t, k)", space, args.number)
        decode = _best_us("c.decode(t, n)", space, args.number)
        page_us += encode * 50
        print(f"{type_name:<20} {encode:>10.2f} {decode:>10.2f}")
    print(f"ids of a 50-order dashboard page (250 ids): {page_us / 1000:.2f} ms")


if __name__ == "__main__":
    main()
