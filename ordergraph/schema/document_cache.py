"""An LRU of what is computed from a document, bounded by entries and by memory.

``functools.lru_cache`` bounds entries only: 1,024 documents of 2 MB (or their parsed
trees, ~400 bytes per token) stayed in memory for good, in every cache that keyed on
them (RSS 191 -> 348 MB after 40 distinct 2 MB documents). Here each entry weighs
what it keeps alive (``document_weight``), the cache evicts the least recently used
until it is under ``max_bytes``, and an entry heavier than ``max_entry_bytes`` is
computed and returned but not kept (``ordergraph.weighted_lru``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Final, TypeVar

from graphql import DocumentNode

from ordergraph.weighted_lru import WeightedLRU

__all__ = ["TOKEN_BYTES", "DocumentCache", "document_weight"]

TOKEN_BYTES: Final = 400
"""What one token of a parsed document keeps in memory (its token, node and location
objects; measured: ~790 KB for a document of 2,000 tokens)."""

V = TypeVar("V")


def document_weight(query: str, document: DocumentNode | None = None) -> int:
    """Bytes a cache entry for ``query`` keeps: the text, and its tree when kept.

    A parsed document keeps its whole token list (every node's location links to it),
    so the tree weighs in tokens and their text, counted along that list.
    """
    weight = len(query)
    loc = document.loc if document is not None else None
    token = loc.start_token if loc is not None else None
    while token is not None:
        # A comment's or string's text is a copy of its part of the document.
        weight += TOKEN_BYTES + len(token.value or "")
        token = token.next
    return weight


class DocumentCache(WeightedLRU[Hashable, V]):
    """Values by key (a tuple whose first item is the document's text), least recently
    used first out."""

    def __init__(
        self,
        *,
        max_entries: int = 1024,
        max_bytes: int = 8 * 1024 * 1024,
        max_entry_bytes: int | None = None,
    ) -> None:
        super().__init__(
            max_entries=max_entries,
            max_bytes=max_bytes,
            max_entry_bytes=max_bytes // 16 if max_entry_bytes is None else max_entry_bytes,
        )
