"""Whole-response cache: a repeated query is answered without executing anything.

A frontend polling the same query mostly asks while nothing changed. Every ingestion
that changes a tenant's orders bumps the tenant's *data version* (one row in the
store, held in memory by ``ordergraph.data_versions``), so the version is part of the
key: after an ingestion the tenant's old entries
are simply never asked for again (they expire by TTL), and other tenants' entries are
untouched. Invalidation is exact without deleting anything, and works the same when
several processes share a Redis cache.

The key hashes, besides the tenant and its data version: the scopes of the caller's
key (an answer holding a candidate's ``pii`` fields must never be replayed to a key
without that scope; keys with equal scopes share entries), the document text, the
operation name, canonical JSON of the variables and extensions, a schema version (a
deploy that changes the schema never serves an old shape), and the tenant's *response
epoch*, a random value that every mutation sent through the HTTP endpoint replaces.
The epoch covers what a mutation may change without an ingestion (a published package
list, say). A fresh random value, not a counter, so two processes invalidating at
once can never land on a value that an older entry was stored under.

What is never stored: anything but a query; a response with any error (a partial
failure must be retried, not replayed); responses selecting a field the data version
does not cover (``documents.UNCACHEABLE_FIELDS``: ``ProviderConnection.syncStatus``,
``Order.resultDelivery``).

Freshness bounds that remain, by design:

- Package names, descriptions and types come from each connection's package list,
  itself cached for ``CacheTTL.packages``; a response holding them can be as old as
  ``packages + responses`` TTL when the provider changes its list behind our back.
- A response's headers set by resolvers are not replayed on a hit (none set any).
- A write made by *another* process is seen when its broker wake-up arrives, and at
  the latest ``server.response_cache_confirm`` seconds later (the in-memory version
  is re-read from the store after that bound); a write made by this process, at once.

The hit path costs no store and no cache round trip: the data version and epoch come
from memory, and the encoded body from this process's own copy of recent entries
(``LocalEntries``; a key names immutable content, so a local copy of an entry is as
good as the shared one until its TTL). Only a local miss reads the shared cache.

Conditional requests: the ``ETag`` of a cacheable answer is derived from its key, so
equal ETags mean equal keys, which mean equal data; ``If-None-Match`` with it is
answered ``304`` without a body and without looking the entry up.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import strawberry

from ordergraph.api import jsontext
from ordergraph.api.request import GraphQLRequest
from ordergraph.broker import Broker
from ordergraph.cache import GatewayCache
from ordergraph.data_versions import DataStamp, DataVersions
from ordergraph.store import OrderStore

__all__ = [
    "CacheLookup",
    "LocalEntries",
    "ResponseCache",
    "etag_matches",
    "schema_version",
]

logger = logging.getLogger(__name__)

_KIND: Final = "responses"
_EPOCH_KIND: Final = "responses-epoch"
# Entries of recent answers this process keeps encoded (least recently used first out
# of either bound); a 50-order answer is ~20 KB.
LOCAL_ENTRIES: Final = 1024
LOCAL_BYTES: Final = 64 * 1024 * 1024
MAX_PENDING_WRITES: Final = 256
"""Shared-cache writes under way at most; past it an entry stays this process's own."""
FINISH_WRITES_WITHIN: Final = 5.0


def schema_version(schema: strawberry.Schema) -> str:
    """A short hash of the schema's SDL: entries of another schema never match."""
    return hashlib.sha256(str(schema).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class CacheLookup:
    """Where this request's answer lives (``key``) and the ETag that names it, for the
    tenant's data as of ``stamp``."""

    key: str
    etag: str
    stamp: DataStamp


class LocalEntries:
    """This process's copies of recent entries: encoded bodies until their TTL, at most
    ``capacity`` of them (least recently used dropped first)."""

    def __init__(self, capacity: int = LOCAL_ENTRIES, max_bytes: int = LOCAL_BYTES) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        body, expires = entry
        if time.monotonic() >= expires:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return body

    def put(self, key: str, body: bytes, ttl: float) -> None:
        if len(body) > self.max_bytes // 8:
            return  # a huge answer would push out many small ones; the shared cache has it
        self._drop(key)
        self._entries[key] = (body, time.monotonic() + ttl)
        self.bytes += len(body)
        while len(self._entries) > self.capacity or self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= len(entry[0])

    def __len__(self) -> int:
        return len(self._entries)


class ResponseCache:
    """Encoded response bodies of error-free query operations, per tenant."""

    def __init__(
        self,
        cache: GatewayCache,
        *,
        orders: OrderStore,
        broker: Broker,
        schema_version: str,
        confirm_within: float = 1.0,
        ttl: float | None = None,
    ) -> None:
        self.cache = cache
        self.broker = broker
        self.schema_version = schema_version
        self.ttl = cache.ttl.responses if ttl is None else ttl
        self.local = LocalEntries()
        self._writes: set[asyncio.Future[None]] = set()
        self.versions = DataVersions(
            read_version=orders.data_version,
            read_epoch=self._read_epoch,
            confirm_within=confirm_within,
        )
        # Writes of this process reach the versions right after their commit; other
        # processes' through the broker's wake-ups.
        orders.add_version_observer(self.versions.observe)
        broker.watch_versions(self.versions)

    def _epoch_key(self, tenant: str) -> str:
        return self.cache.key(tenant, _EPOCH_KIND)

    async def _read_epoch(self, tenant: str) -> str:
        epoch = await self.cache.get(self._epoch_key(tenant))
        return epoch if isinstance(epoch, str) else ""

    async def lookup(
        self,
        tenant: str,
        request: GraphQLRequest,
        *,
        scopes: Iterable[str],
        earlier: CacheLookup | None = None,
    ) -> CacheLookup | None:
        """The entry's key and ETag for this request now; None when they cannot be told
        (bypass).

        The tenant's data version and epoch come from memory (``DataVersions``). A store
        that does not answer when they must be read again costs the cache, not the
        request: execution reports it if it matters. ``earlier``: what this method
        returned for the same tenant, request and scopes before; it is the answer again
        while the tenant's stamp has not changed (the key hashes nothing else that
        changes), so a repeated request does not hash its material again.
        """
        try:
            stamp = await self.versions.stamp(tenant)
        except Exception:
            logger.warning("response cache: no data version for a tenant", exc_info=True)
            return None
        if earlier is not None and (earlier.stamp is stamp or earlier.stamp == stamp):
            return earlier
        material = jsontext.dumps(
            [
                self.schema_version,
                tenant,
                sorted(str(s) for s in scopes),
                stamp.version,
                stamp.epoch,
                request.query,
                request.operation_name,
                # {} and null mean the same request; one entry serves both.
                request.variables or None,
                request.extensions or None,
            ],
            sort_keys=True,
        )
        digest = hashlib.sha256(material).hexdigest()
        return CacheLookup(self.cache.key(tenant, _KIND, digest), f'"{digest[:40]}"', stamp)

    async def get(self, key: str) -> bytes | None:
        """The encoded body stored under ``key``: this process's copy, else the shared
        cache's (then kept here too)."""
        body = self.local.get(key)
        if body is not None:
            if self.cache.observer is not None:
                self.cache.observer(_KIND, True)  # counted like a shared-cache hit
            return body
        shared = await self.cache.get(key)
        if isinstance(shared, str):
            body = shared.encode()
            self.local.put(key, body, self.ttl)
            return body
        return None

    async def put(self, key: str, body: bytes) -> None:
        """Keep ``body`` here at once, and in the shared cache in the background.

        The answer does not wait for the shared write (a Redis round trip, in which
        every other request of this process would overtake it): this process hits its
        own copy from now on, other processes once the write lands or, if the writes
        pile up past ``MAX_PENDING_WRITES`` (a slow Redis), never; they execute then. A
        key names immutable content, so a late write is never a stale one.
        """
        if self.local.get(key) is not None:
            # Held here since an earlier put, whose shared write (same TTL) still
            # holds the same content: a key names immutable content. A request with
            # ``Cache-Control: no-cache`` executes every time and would write it again.
            return
        self.local.put(key, body, self.ttl)
        if len(self._writes) >= MAX_PENDING_WRITES:
            return
        write = asyncio.ensure_future(self.cache.set(key, body.decode(), self.ttl))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def finish_writes(self) -> None:
        """Wait (up to ``FINISH_WRITES_WITHIN`` seconds) for the shared writes under
        way: at shutdown."""
        if self._writes:
            await asyncio.wait(set(self._writes), timeout=FINISH_WRITES_WITHIN)

    async def invalidate(self, tenant: str) -> None:
        """Make every entry of ``tenant`` unreachable (after a mutation).

        The epoch lives as long as the entries it guards: when it expires the key
        falls back to "no epoch", and every entry stored under that was written
        before the epoch was set, so it has expired as well. This process uses the
        new epoch at once; the others are told through the broker (and re-read it
        within the bound if that message is lost).
        """
        epoch = uuid.uuid4().hex
        await self.cache.set(self._epoch_key(tenant), epoch, self.ttl)
        self.versions.set_epoch(tenant, epoch)
        await self.broker.publish_refresh(tenant)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False
