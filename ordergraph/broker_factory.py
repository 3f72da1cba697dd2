"""Picks the broker a URL names.

Apart from ordergraph/broker.py (the ``Broker`` interface and ``MemoryBroker``) so
that ordergraph/broker_redis.py, which implements that interface, and the choice
between the two do not import each other.
"""

from __future__ import annotations

from ordergraph.broker import Broker, MemoryBroker
from ordergraph.broker_redis import RedisBroker

__all__ = ["create_broker"]


def create_broker(url: str, *, channel_prefix: str = "ordergraph") -> Broker:
    """A broker for ``memory://`` (one process) or ``redis://host:port/db`` (several;
    wake-ups go out on ``<channel_prefix>:<tenant>``)."""
    if url == "memory://" or url.startswith("memory:"):
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBroker(url, channel_prefix=channel_prefix)
    msg = f"unsupported broker URL scheme in {url.split(':', 1)[0]!r}"
    raise ValueError(msg)
