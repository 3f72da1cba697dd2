"""Provider connections: one customer account at one provider, and its sync state.

A ``ProviderConnection``'s node key is the connection id.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from ordergraph import models
from ordergraph.ids import NodeIdCodec
from ordergraph.models import ProviderName
from ordergraph.providers.base import Capability
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.node_keys import codec_of, connection_key
from ordergraph.schema.completed import keep_completed
from ordergraph.schema.enums import ConnectionOrigin, ConnectionState
from ordergraph.schema.info import NODE_ID_DESCRIPTION, GraphInfo, context_of
from ordergraph.sync.connections import LiveConnection

__all__ = ["ProviderConnection", "SyncStatus"]


@strawberry.type(description="How a connection's synchronisation stands.")
class SyncStatus:
    last_synced_at: datetime | None = strawberry.field(
        description="When the last poll or registration succeeded."
    )
    last_error: str | None = strawberry.field(description="The last failure, if any.")
    webhook_registered: bool = strawberry.field(
        description="True when ordergraph registered its webhook with the provider."
    )


class _LiveConnectionNodes:
    """The ``ProviderConnection`` node of each live connection, built once.

    Every order of a page asks for its connection: building it anew signed its node id
    (an HMAC) and listed its capabilities 50 times a page for one connection, and the
    page completed 50 equal selections. A ``LiveConnection`` is frozen and replaced
    whenever the connection changes (``ordergraph.sync.lifecycle``), so the node is a
    pure function of it and the id codec: kept by both (held alive, compared by
    identity, so an identity cannot be reused while it is a key), and it keeps its
    completed selections (``schema/completed.py``; its sync ``status`` still resolves
    every time).
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[
            tuple[int, int], tuple[LiveConnection, NodeIdCodec, ProviderConnection]
        ] = OrderedDict()

    def node(
        self,
        live: LiveConnection,
        ids: NodeIdCodec,
        build: Callable[[LiveConnection, NodeIdCodec], ProviderConnection],
    ) -> ProviderConnection:
        key = (id(live), id(ids))
        entry = self._entries.get(key)
        if entry is not None and entry[0] is live and entry[1] is ids:
            self._entries.move_to_end(key)
            return entry[2]
        node = build(live, ids)
        keep_completed(node)
        self._entries[key] = (live, ids, node)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return node


_LIVE_NODES = _LiveConnectionNodes()


@strawberry.type(description="One customer account at one provider.")
class ProviderConnection(relay.Node):
    # Plain fields, set once (see ``ordergraph.schema.orders``); the rest resolve.
    id: relay.GlobalID = strawberry.field(description=NODE_ID_DESCRIPTION)
    provider: ProviderName = strawberry.field(description="The provider.")
    account: str | None = strawberry.field(
        description="The provider-side account id (Unified connection, StackOne account, "
        "Kombo integration)."
    )
    name: str | None = strawberry.field(description="A name for people, if one was given.")
    state: ConnectionState = strawberry.field(
        description="ACTIVE (synced), PAUSED (kept, not synced) or REMOVED (an order's "
        "connection that was removed without purging its orders)."
    )
    origin: ConnectionOrigin | None = strawberry.field(
        description="Where the connection came from (null once it is removed)."
    )
    key: strawberry.Private[str]
    capability_set: strawberry.Private[frozenset[Capability]]

    @classmethod
    def _of(
        cls,
        ids: NodeIdCodec,
        connection_id: str,
        provider: ProviderName,
        account: str | None,
        capabilities: frozenset[Capability],
        *,
        name: str | None = None,
        state: ConnectionState = ConnectionState.REMOVED,
        origin: ConnectionOrigin | None = None,
    ) -> ProviderConnection:
        return cls(
            id=relay.GlobalID(
                "ProviderConnection", ids.encode("ProviderConnection", connection_id)
            ),
            provider=provider,
            account=account,
            name=name,
            state=state,
            origin=origin,
            key=connection_id,
            capability_set=capabilities,
        )

    @classmethod
    def resolve_id(cls, root: ProviderConnection, *, info: GraphInfo) -> str:
        # The signed node id the node was built with, never the bare key.
        return root.id.node_id

    @classmethod
    def _of_live(cls, live: LiveConnection, ids: NodeIdCodec) -> ProviderConnection:
        return cls._of(
            ids,
            live.id,
            live.provider_name,
            live.settings.account,
            # What this connection can do (a StackOne connection's API version
            # decides whether it reads orders back), not its provider in general.
            frozenset(c for c in live.provider.capabilities if live.provider.supports(c)),
            name=live.name,
            state=live.state,
            origin=live.origin,
        )

    @classmethod
    def for_id(
        cls, context: Context, connection_id: str, order: models.Order | None = None
    ) -> ProviderConnection:
        live = context.services.connections.get(connection_id)
        if live is not None:
            return _LIVE_NODES.node(live, codec_of(context), cls._of_live)
        # A removed connection whose orders were kept: they remain readable (its
        # state REMOVED), and name their provider. Callers without an order ask only
        # for live connections.
        if order is None:
            msg = f"connection {connection_id!r} is not configured"
            raise LookupError(msg)
        return cls._of(codec_of(context), connection_id, order.provider, None, frozenset())

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: GraphInfo, node_ids: Iterable[str], required: bool = False
    ) -> list[ProviderConnection | None]:
        context = context_of(info)
        keys = [connection_key(context, node_id) for node_id in node_ids]
        return [
            cls.for_id(context, key)
            if key is not None and context.connection(key) is not None
            else None
            for key in keys
        ]

    @strawberry.field(description="What the provider lets ordergraph do on this connection.")
    def capabilities(self) -> list[Capability]:
        return sorted(self.capability_set, key=lambda c: c.value)

    @strawberry.field(description="Synchronisation state (polling, webhook registration).")
    async def sync_status(self, info: GraphInfo) -> SyncStatus:
        state = await context_of(info).loaders.sync_state_by_connection.load(self.key)
        details: dict[str, Any] = dict(state.details) if state else {}
        return SyncStatus(
            last_synced_at=state.last_synced_at if state else None,
            last_error=state.last_error if state else None,
            webhook_registered=bool(details.get("webhook_ids")),
        )
