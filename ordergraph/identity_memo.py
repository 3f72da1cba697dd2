"""Values worked out from an immutable object, kept for as long as that very object is
asked about again.

For objects that are replaced rather than changed (the connection registry's tuple of a
tenant's connections, the settings' list of tenants), identity is a free and exact key:
a new object means something changed, the same object means nothing did. Keyed by
``id``, each entry also holds its object, so the id cannot be reused for another one
while the entry is here. At most ``max_entries``, the oldest made first out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["IdentityMemo"]

V = TypeVar("V")


class IdentityMemo(Generic[V]):
    """``make()``'s value per source object (see the module docstring)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[int, tuple[object, V]] = {}

    def get(self, source: object, make: Callable[[], V]) -> V:
        """The value kept for ``source``, made (and kept) the first time it is asked."""
        known = self._entries.get(id(source))
        if known is not None and known[0] is source:
            return known[1]
        value = make()
        self._entries[id(source)] = (source, value)
        if len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]
        return value

    def __len__(self) -> int:
        return len(self._entries)
