"""From the node ids a client sends to the keys of the entities they name.

A signed id (``ordergraph.ids``) gives its key outright. An unsigned (legacy) id, from
before signing, resolves only while ``[ids] accept_legacy`` is on and only for an
entity the index held before this store began signing (``NodeIds.signed_since``): a
client that stored an id keeps it working, but nobody can write the id of an order,
candidate or job first seen since. Packages and connections have no first-seen time
(they are not indexed, and a key may list them all), so their legacy ids resolve while
``accept_legacy`` is on. Any id that fails is None here, answered as an unknown id
(``null`` from ``node``/``nodes``, ``NOT_FOUND`` from mutations): a forged id and an id
of nothing look the same, so probing learns nothing.

The ids of one request are resolved with plain ``asyncio.gather``: a legacy id's check
is a dataloader load, and a bound would split the loader's batch into several queries
(ordergraph/concurrency.py); the number of ids is already bounded by the request limits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from strawberry import relay

from ordergraph.ids import DecodedNodeId, NodeIdCodec
from ordergraph.resolvers.context import Context
from ordergraph.store import StoredOrder

__all__ = [
    "candidate_keys",
    "codec_of",
    "connection_key",
    "job_keys",
    "key_of",
    "order_keys",
    "package_keys",
]


def codec_of(context: Context) -> NodeIdCodec:
    """The codec node ids are made with (the store's secret)."""
    return context.services.store.ids.codec


def _decoded(context: Context, type_name: str, node_id: str) -> DecodedNodeId | None:
    decoded = codec_of(context).decode(type_name, node_id)
    if decoded is None or (decoded.legacy and not context.services.settings.ids.accept_legacy):
        return None
    return decoded


async def _held_before(context: Context, stored: StoredOrder | None) -> bool:
    if stored is None:
        return False
    since = await context.services.store.ids.signed_since()
    return since is not None and stored.first_seen_at < since


async def _legacy_order_key(context: Context, key: str) -> str | None:
    stored = await context.loaders.order_by_id.load(key)
    return key if await _held_before(context, stored) else None


async def order_keys(context: Context, node_ids: Sequence[str]) -> list[str | None]:
    """The order key of each Order node id; None for one that does not resolve."""

    async def one(node_id: str) -> str | None:
        decoded = _decoded(context, "Order", node_id)
        if decoded is None or not decoded.legacy:
            return decoded.key if decoded else None
        return await _legacy_order_key(context, decoded.key)

    return list(await asyncio.gather(*map(one, node_ids)))


async def candidate_keys(context: Context, node_ids: Sequence[str]) -> list[str | None]:
    """The key (``e:<email>`` or ``o:<order>``) of each Candidate node id, or None."""
    ids = context.services.store.ids

    async def one(node_id: str) -> str | None:
        decoded = _decoded(context, "Candidate", node_id)
        if decoded is None or not decoded.legacy:
            return decoded.key if decoded else None
        kind, _, value = decoded.key.partition(":")
        if kind == "e" and value:
            held = await ids.candidate_held_before(context.require_tenant(), value)
            return decoded.key if held else None
        if kind == "o" and value:
            return decoded.key if await _legacy_order_key(context, value) else None
        return None

    return list(await asyncio.gather(*map(one, node_ids)))


async def job_keys(context: Context, node_ids: Sequence[str]) -> list[str | None]:
    """The key (``j:<conn>:<job>`` or ``o:<order>``) of each Job node id, or None."""
    ids = context.services.store.ids

    async def one(node_id: str) -> str | None:
        decoded = _decoded(context, "Job", node_id)
        if decoded is None or not decoded.legacy:
            return decoded.key if decoded else None
        kind, _, value = decoded.key.partition(":")
        if kind == "j":
            connection_id, _, job = value.partition(":")
            if connection_id and job:
                held = await ids.job_held_before(context.require_tenant(), connection_id, job)
                return decoded.key if held else None
            return None
        if kind == "o" and value:
            return decoded.key if await _legacy_order_key(context, value) else None
        return None

    return list(await asyncio.gather(*map(one, node_ids)))


def package_keys(context: Context, node_ids: Sequence[str]) -> list[str | None]:
    """The key (``<conn>:<package>``) of each Package node id, or None."""
    found = (_decoded(context, "Package", node_id) for node_id in node_ids)
    return [decoded.key if decoded else None for decoded in found]


def connection_key(context: Context, node_id: str) -> str | None:
    """The connection id behind a ProviderConnection node id, or None."""
    decoded = _decoded(context, "ProviderConnection", node_id)
    return decoded.key if decoded else None


async def key_of(context: Context, global_id: relay.GlobalID, type_name: str) -> str | None:
    """The key of an argument's id that must name a ``type_name``; None when it names
    another type or does not resolve."""
    if global_id.type_name != type_name:
        return None
    node_id = global_id.node_id
    if type_name == "Order":
        return (await order_keys(context, [node_id]))[0]
    if type_name == "Candidate":
        return (await candidate_keys(context, [node_id]))[0]
    if type_name == "Job":
        return (await job_keys(context, [node_id]))[0]
    if type_name == "Package":
        return package_keys(context, [node_id])[0]
    return connection_key(context, node_id)
