"""Whole-response cache: a repeated query is answered without executing anything.

A frontend polling the same query mostly asks while nothing changed. Every ingestion
that changes a tenant's orders bumps the tenant's *data version* (one row in the
store), so the version is part of the key: after an ingestion the tenant's old entries
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

The hit path costs one store read (the data version), one cache read for the epoch,
done together, and one cache read for the entry.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import strawberry

from ordergraph.api.request import GraphQLRequest
from ordergraph.cache import GatewayCache

__all__ = ["CacheStats", "ResponseCache", "schema_version"]

logger = logging.getLogger(__name__)

_KIND = "responses"
_EPOCH_KIND = "responses-epoch"


def schema_version(schema: strawberry.Schema) -> str:
    """A short hash of the schema's SDL: entries of another schema never match."""
    return hashlib.sha256(str(schema).encode()).hexdigest()[:16]


@dataclass
class CacheStats:
    """Counts since start (for metrics and tests)."""

    hits: int = 0
    misses: int = 0
    stored: int = 0


class ResponseCache:
    """Response bodies (JSON text) of error-free query operations, per tenant."""

    def __init__(
        self,
        cache: GatewayCache,
        *,
        data_version: Callable[[str], Awaitable[int]],
        schema_version: str,
        ttl: float | None = None,
    ) -> None:
        self.cache = cache
        self._data_version = data_version
        self.schema_version = schema_version
        self.ttl = cache.ttl.responses if ttl is None else ttl
        self.stats = CacheStats()

    def _epoch_key(self, tenant: str) -> str:
        return self.cache.key(tenant, _EPOCH_KIND)

    async def key(
        self, tenant: str, request: GraphQLRequest, *, scopes: Iterable[str]
    ) -> str | None:
        """The entry's key for this request now; None when it cannot be told (bypass).

        Reads the tenant's data version and response epoch (together). A store that
        does not answer costs the cache, not the request: execution reports it if it
        matters.
        """
        try:
            version, epoch = await asyncio.gather(
                self._data_version(tenant), self.cache.get(self._epoch_key(tenant))
            )
        except Exception:
            logger.warning("response cache: no data version for a tenant", exc_info=True)
            return None
        material = json.dumps(
            [
                self.schema_version,
                tenant,
                sorted(str(s) for s in scopes),
                version,
                epoch if isinstance(epoch, str) else "",
                request.query,
                request.operation_name,
                # {} and null mean the same request; one entry serves both.
                request.variables or None,
                request.extensions or None,
            ],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        )
        digest = hashlib.sha256(material.encode()).hexdigest()
        return self.cache.key(tenant, _KIND, digest)

    async def get(self, key: str) -> str | None:
        body = await self.cache.get(key)
        if isinstance(body, str):
            self.stats.hits += 1
            return body
        self.stats.misses += 1
        return None

    async def put(self, key: str, body: str) -> None:
        await self.cache.set(key, body, self.ttl)
        self.stats.stored += 1

    async def invalidate(self, tenant: str) -> None:
        """Make every entry of ``tenant`` unreachable (after a mutation).

        The epoch lives as long as the entries it guards: when it expires the key
        falls back to "no epoch", and every entry stored under that was written
        before the epoch was set, so it has expired as well.
        """
        await self.cache.set(self._epoch_key(tenant), uuid.uuid4().hex, self.ttl)
