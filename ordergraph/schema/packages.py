"""Assessment packages offered on a connection.

A ``Package``'s node key is ``<connection id>:<package remote id>``; its global id is
that key signed (``ordergraph.ids``).
"""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
from strawberry import relay

from ordergraph import models
from ordergraph.ids import NodeIdCodec
from ordergraph.models import PackageType
from ordergraph.resolvers import packages as package_resolvers
from ordergraph.resolvers.node_keys import codec_of, package_keys
from ordergraph.schema.direct_resolvers import direct
from ordergraph.schema.info import NODE_ID_DESCRIPTION, GraphInfo, context_of

__all__ = ["Package"]


@strawberry.type(description="An assessment package offered on a connection.")
class Package(relay.Node):
    # Plain fields, set once (see ``ordergraph.schema.orders``); the rest may need the
    # connection's package list and resolve.
    id: relay.GlobalID = strawberry.field(description=NODE_ID_DESCRIPTION)
    remote_id: str = strawberry.field(description="The package's id at the provider.")
    key: strawberry.Private[str]
    connection_id: strawberry.Private[str]
    ref: strawberry.Private[models.PackageRef | None]
    loaded: strawberry.Private[models.Package | None]

    @classmethod
    def from_ref(cls, connection_id: str, ref: models.PackageRef, ids: NodeIdCodec) -> Package:
        return cls._of(connection_id, ref.remote_id, ids, ref=ref)

    @classmethod
    def from_model(cls, connection_id: str, package: models.Package, ids: NodeIdCodec) -> Package:
        return cls._of(connection_id, package.remote_id, ids, loaded=package)

    @classmethod
    def _of(
        cls,
        connection_id: str,
        remote_id: str,
        ids: NodeIdCodec,
        *,
        ref: models.PackageRef | None = None,
        loaded: models.Package | None = None,
    ) -> Package:
        key = f"{connection_id}:{remote_id}"
        return cls(
            id=relay.GlobalID("Package", ids.encode("Package", key)),
            remote_id=remote_id,
            key=key,
            connection_id=connection_id,
            ref=ref,
            loaded=loaded,
        )

    @classmethod
    def resolve_id(cls, root: Package, *, info: GraphInfo) -> str:
        # The signed node id the node was built with, never the bare key.
        return root.id.node_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[Package | None]:
        context = context_of(info)
        keys = package_keys(context, list(node_ids))
        loaded = iter(
            await package_resolvers.packages_by_node_keys(
                context, [k for k in keys if k is not None]
            )
        )
        found = [next(loaded) if key is not None else None for key in keys]
        ids = codec_of(context)
        return [cls.from_model(*pair, ids) if pair else None for pair in found]

    @strawberry.field(
        description="Package name (from the provider's package list).",
        metadata=direct(lambda root, info: _named(root, info, "name")),
    )
    async def name(self, info: GraphInfo) -> str | None:
        return await _from_details(self, info, "name")

    @strawberry.field(
        description="Package description.",
        metadata=direct(lambda root, info: _named(root, info, "description")),
    )
    async def description(self, info: GraphInfo) -> str | None:
        return await _from_details(self, info, "description")

    @strawberry.field(description="Kind of package.")
    async def type(self, info: GraphInfo) -> PackageType | None:
        details = await _details(self, info)
        return details.type if details else None


def _named(root: Package, info: GraphInfo, attribute: str) -> object:
    """``name`` or ``description`` as the order holds it, else an awaitable of the
    package list's (the direct resolver: ``schema/direct_resolvers.py``)."""
    if root.ref is not None and (value := getattr(root.ref, attribute)):
        return value
    return _from_details(root, info, attribute)


async def _from_details(root: Package, info: GraphInfo, attribute: str) -> str | None:
    if root.ref is not None and (value := getattr(root.ref, attribute)):
        return str(value)
    details = await _details(root, info)
    return getattr(details, attribute) if details else None


async def _details(root: Package, info: GraphInfo) -> models.Package | None:
    if root.loaded is not None:
        return root.loaded
    assert root.ref is not None
    return await package_resolvers.package_details(
        context_of(info), root.connection_id, root.ref.remote_id
    )
