"""``nodes(ids:)``: each id answered on its own.

One bad id must not cost the others: an id that decodes to no type of ours is null at
its index with an ``INVALID_ID`` error at its path, one that names nothing this tenant
can see (missing, or another tenant's) is null with ``NOT_FOUND``. The ids are resolved
concurrently, so each type's loaders still batch them (one store query per batch).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Annotated, cast

import strawberry
from strawberry import relay
from strawberry.relay.types import GlobalIDValueError

from ordergraph.schema.errors import PublicError
from ordergraph.schema.info import GraphInfo

__all__ = ["resolve_nodes_each"]


async def _node(info: GraphInfo, raw: str) -> relay.Node:
    try:
        global_id = relay.GlobalID.from_id(raw)
        node_type = global_id.resolve_type(info)
    except GlobalIDValueError:
        raise PublicError("not the id of any object of this API", code="INVALID_ID") from None
    found = node_type.resolve_nodes(info=info, node_ids=[global_id.node_id])
    [node] = list(await found if inspect.isawaitable(found) else found)
    if node is None:
        raise PublicError("no object with this id", code="NOT_FOUND")
    return node


def resolve_nodes_each(
    info: GraphInfo,
    ids: Annotated[list[strawberry.ID], strawberry.argument(description="The IDs of the objects.")],
) -> list[relay.Node | None]:
    # A list of awaitables, typed as the list they complete to: graphql-core completes
    # each item on its own, so an item's error is reported at ``nodes.<index>`` and
    # nulls only that item.
    pending: list[Awaitable[relay.Node]] = [_node(info, raw) for raw in ids]
    return cast("list[relay.Node | None]", pending)
