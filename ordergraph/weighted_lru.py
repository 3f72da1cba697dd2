"""A least-recently-used map bounded by entries and by memory: each entry weighs what it
keeps alive, the oldest go until both bounds hold, and an entry heavier than
``max_entry_bytes`` is not kept at all (its caller still gets its value).

``functools.lru_cache`` bounds entries only, which let a few huge values stay in memory
for good (``ordergraph.schema.document_cache`` says what that cost). Shared by the
caches of parsed GraphQL documents and of decoded order documents.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["WeightedLRU"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class WeightedLRU(Generic[K, V]):
    """Values by key, least recently used first out (see the module docstring)."""

    def __init__(self, *, max_entries: int, max_bytes: int, max_entry_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self.bytes = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        """The value kept for ``key`` (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[0]

    def put(self, key: K, value: V, weight: int) -> None:
        """Keep ``value`` under ``key`` unless it weighs over ``max_entry_bytes``;
        evict the least recently used until the bounds hold."""
        if weight > self.max_entry_bytes:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self.bytes -= previous[1]
        self._entries[key] = (value, weight)
        self.bytes += weight
        while self.bytes > self.max_bytes or len(self._entries) > self.max_entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted

    def get_or_compute(self, key: K, compute: Callable[[], V], weigh: Callable[[V], int]) -> V:
        kept = self.get(key)
        if kept is not None:
            return kept
        value = compute()
        self.put(key, value, weigh(value))
        return value

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
