"""What a request's bytes came to, kept per bytes: a repeated request is not read twice.

A polling frontend sends the same request again and again. Everything
``GraphQLHTTPHandler`` works out from it before executing or answering from the
response cache (the decoded parameters, the operation's facts, the scope check, every
limit) depends only on the bytes sent (a POST body, a GET query string), the caller's
tenant and scopes, and that tenant's connections (the cost limit weighs ids per
connection). So the outcome is kept under (method, tenant, scopes, bytes) and used
again while the tenant's connections are the ones it was checked against: the
connection registry hands out a new ``tenant_providers`` mapping after every change,
and an entry checked against another one is not used.

Only a request that passed every check is kept. A refused one is refused afresh each
time (its errors are not a hot path), and a request naming a persisted document is
resolved each time (an automatic persisted query lives in the cache and may expire).
What this skips on a cache hit, measured with py-spy under ``wrk`` (bench/README.md):
JSON decoding, the parameter checks, the limit checks and the response cache's key
derivation, about a third of the handler's own time.

Entries hold the bytes they were made from; both bounds are in bytes and entries, least
recently used first out, so a client sending endless distinct bodies only churns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ordergraph.api.documents import DocumentFacts
from ordergraph.api.request import GraphQLRequest
from ordergraph.api.response_cache import CacheLookup
from ordergraph.schema.cost import ConnectionCost
from ordergraph.weighted_lru import WeightedLRU

__all__ = ["PreparedKey", "PreparedRequest", "PreparedRequests"]

MAX_ENTRIES: Final = 1024
MAX_BYTES: Final = 8 * 1024 * 1024
MAX_ENTRY_BYTES: Final = 64 * 1024
"""An entry weighs twice its bytes and 1 KiB (the decoded text and objects beside the
bytes): a request over ~31 KiB is prepared every time (rare, and it would push out many)."""

PreparedKey = tuple[str, str, frozenset[str], bytes | str]
"""(method, tenant, scopes, the POST body or the GET query string as sent)."""


@dataclass(slots=True)
class PreparedRequest:
    """A request that passed every check, ready to answer or execute."""

    params: GraphQLRequest
    facts: DocumentFacts
    providers: Mapping[str, ConnectionCost]
    """The tenant's connections the limits were checked against."""
    lookup: CacheLookup | None = None
    """Where the response cache last put this request's answer (``ResponseCache.lookup``
    reuses it while the tenant's data stamp is the same)."""


class PreparedRequests:
    """Prepared requests by ``PreparedKey`` (see the module docstring)."""

    def __init__(
        self,
        *,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
    ) -> None:
        self._entries: WeightedLRU[PreparedKey, PreparedRequest] = WeightedLRU(
            max_entries=max_entries, max_bytes=max_bytes, max_entry_bytes=max_entry_bytes
        )

    def get(
        self, key: PreparedKey, providers: Mapping[str, ConnectionCost]
    ) -> PreparedRequest | None:
        """The request prepared under ``key``, if it was checked against ``providers``
        (the tenant's connections now)."""
        prepared = self._entries.get(key)
        if prepared is None or prepared.providers is not providers:
            return None
        return prepared

    def put(self, key: PreparedKey, prepared: PreparedRequest) -> None:
        # The bytes, and the decoded text and objects made from them (about as much).
        self._entries.put(key, prepared, 2 * len(key[3]) + 1024)

    def __len__(self) -> int:
        return len(self._entries)
