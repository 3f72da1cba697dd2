"""The edges earlier pages built, by the row they were built from.

A page of fifty orders turned each row into a ``StoredOrder`` (its document looked up by
hash in ``known_documents``, its ``created_at_source`` made an enum) and then into an
``Edge`` (its cursor looked up in the codec's cache by a new ``OrderKey``): ~15% of the
samples of full 50-order requests under wrk (py-spy), for the same rows page after page.

An edge is a pure function of the row's columns (``order_pages.PAGE_COLUMNS``: the
document is named by ``content_hash``, which within one store names one document; see
``known_documents``), the listing's direction and the store's cursor codec. So the row's
values and the direction are the key, and one lookup replaces the work. The codec is the
owning store's (one per ``OrderStore``); the tenant is one of the row's values, so an
edge can only ever be found again by a read of its own tenant's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ordergraph.store.records import Edge, SortOrder
from ordergraph.weighted_lru import WeightedLRU

__all__ = ["PageEdges", "RowKey", "row_key"]

_MAX_ENTRIES: Final = 4096

RowKey = tuple[object, ...]
"""The listing's direction, then the row's values in ``PAGE_COLUMNS`` order."""


def row_key(order: SortOrder, row: Sequence[object]) -> RowKey:
    return (order, *row)


class PageEdges(WeightedLRU[RowKey, Edge]):
    """Edges by (direction, row values), for one store: an LRU of ``max_entries``."""

    def __init__(self, *, max_entries: int = _MAX_ENTRIES) -> None:
        # Counted by entries only: an edge's document is ``known_documents``' to bound.
        super().__init__(max_entries=max_entries, max_bytes=max_entries, max_entry_bytes=1)

    def keep(self, key: RowKey, edge: Edge) -> None:
        self.put(key, edge, 1)
