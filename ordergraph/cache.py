"""aiocache wiring: one cache (in memory, or Redis when several processes run).

Keys always start with the tenant, so no entry can answer another tenant. TTLs are
per kind of data; ingestion and mutations invalidate what they change. Values are
JSON (never pickle: whoever can write to a shared Redis must not be able to run code
in the gateway).

Redis: redis-py's default async pool raises once more than its size of commands are
in flight (100 by default), so the client gets a *blocking* pool that makes the
101st command wait for a connection instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiocache import Cache
from aiocache.serializers import JsonSerializer

__all__ = ["CacheTTL", "GatewayCache", "create_cache"]

logger = logging.getLogger(__name__)

REDIS_POOL_SIZE = 50
# Seconds a command waits for a free pooled connection before failing.
REDIS_POOL_WAIT = 5.0


@dataclass(frozen=True)
class CacheTTL:
    """Seconds each kind of entry lives."""

    packages: float = 300.0
    responses: float = 300.0


class GatewayCache:
    """The cache with tenant-scoped keys and failures that never fail a request."""

    def __init__(self, backend: Any, *, namespace: str = "og", ttl: CacheTTL | None = None) -> None:
        self.backend = backend
        self.namespace = namespace
        self.ttl = ttl or CacheTTL()
        # Told (kind of entry, hit) on every lookup: the metrics' cache counters.
        self.observer: Callable[[str, bool], None] | None = None

    def key(self, tenant: str, kind: str, *parts: str) -> str:
        return ":".join((self.namespace, tenant, kind, *parts))

    async def get(self, key: str) -> Any:
        try:
            value = await self.backend.get(key)
        except Exception:  # a cache outage costs speed, not answers
            logger.warning("cache read failed", exc_info=True)
            value = None
        if self.observer is not None:
            # Keys are namespace:tenant:kind:... (tenant names hold no colon).
            parts = key.split(":", 3)
            if len(parts) >= 3:
                self.observer(parts[2], value is not None)
        return value

    async def ping(self) -> None:
        """Raise unless the backend answers (readiness); in memory it always does."""
        client = getattr(self.backend, "client", None)
        if client is not None:  # aiocache's RedisCache: its redis-py client
            await client.ping()

    async def set(self, key: str, value: Any, ttl: float) -> None:
        try:
            await self.backend.set(key, value, ttl=ttl)
        except Exception:
            logger.warning("cache write failed", exc_info=True)

    async def delete(self, key: str) -> None:
        try:
            await self.backend.delete(key)
        except Exception:
            logger.warning("cache delete failed", exc_info=True)

    async def close(self) -> None:
        try:
            await self.backend.close()
        except Exception:
            logger.warning("cache close failed", exc_info=True)


def create_cache(url: str, *, namespace: str = "og", ttl: CacheTTL | None = None) -> GatewayCache:
    """A cache for ``memory://`` or ``redis://host:port/db``."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return GatewayCache(
            Cache(Cache.MEMORY, serializer=JsonSerializer()), namespace=namespace, ttl=ttl
        )
    if parts.scheme in ("redis", "rediss"):
        from aiocache import RedisCache
        from redis.asyncio import BlockingConnectionPool

        database = int(parts.path.lstrip("/") or 0)
        backend = RedisCache(
            endpoint=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=database,
            password=parts.password,
            ssl=parts.scheme == "rediss",
            pool_max_size=REDIS_POOL_SIZE,
            connection_pool_class=BlockingConnectionPool,
            connection_pool_kwargs={"timeout": REDIS_POOL_WAIT},
            serializer=JsonSerializer(),
        )
        return GatewayCache(backend, namespace=namespace, ttl=ttl)
    msg = f"unsupported cache URL scheme {parts.scheme!r}"
    raise ValueError(msg)
