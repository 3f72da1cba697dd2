"""``/graphql``: our GraphQL-over-HTTP handler, and Strawberry's view for WebSockets.

HTTP requests (GET, POST, GraphiQL in a browser) go to ``GraphQLHTTPHandler``, which
follows the GraphQL-over-HTTP spec and answers repeats from the response cache.
WebSocket upgrades go to Strawberry's view, which speaks graphql-transport-ws (the
legacy graphql-ws only when ``subscriptions.legacy_graphql_ws`` is set). A socket acts
for the tenant of the API key in ``connection_init`` (``{"authorization": "Bearer
<key>"}``), with that key's scopes, because browsers cannot set headers on a
WebSocket; an unknown key or none is refused with 4403. An operation the key's scopes
do not cover fails ``FORBIDDEN`` (``ordergraph.schema.access``).
Cross-origin handshakes must come from ``server.cors_origins`` (the CORS allow-list),
the server pings every ``keep_alive_interval`` seconds and drops peers that stop
answering, and a socket runs at most ``max_per_connection`` operations. A tenant holds
at most ``max_connections_per_tenant`` authenticated sockets in this process: one more
is closed with 4429 and a reason saying so, before it is acknowledged. Every socket
is registered in the application's ``OPEN_SOCKETS``, so a shutdown sends it a close
frame (1001) instead of dropping it.
"""

from __future__ import annotations

import socket
import weakref
from collections import defaultdict
from datetime import timedelta
from typing import Any, Final

import strawberry
from aiohttp import hdrs, web
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from ordergraph.access_log import REQUEST_ID_HEADER
from ordergraph.api.http import GraphQLHTTPHandler
from ordergraph.api.persisted import PersistedDocuments
from ordergraph.api.response_cache import ResponseCache, schema_version
from ordergraph.api.ws_messages import CheckedTransportWSHandler
from ordergraph.auth import Principal, bearer_token, principal_for_key, principal_from_headers
from ordergraph.graphiql import LocalGraphiQLView
from ordergraph.logs import REQUEST_ID
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema as default_schema
from ordergraph.services import OPEN_SOCKETS, SERVICES, Services

__all__ = ["GRAPHQL_HTTP", "OrdergraphGraphQLView", "add_graphql_routes"]

_AIOHTTP_WRITER_LIMIT = 2**18
"""aiohttp's default: bytes written to a WebSocket before it waits for the socket to drain."""

TOO_MANY_SOCKETS: Final = 4429
"""Close code of a socket over its tenant's ``max_connections_per_tenant``."""

GRAPHQL_HTTP = web.AppKey("graphql_http", GraphQLHTTPHandler)
"""The application's HTTP handler (its response cache and stats), set by ``add_graphql_routes``."""


class OrdergraphGraphQLView(LocalGraphiQLView[Context, None]):
    """Builds a typed ``Context`` per request: the tenant from the API key and fresh
    loaders. GET in a browser shows GraphiQL with locally served assets."""

    graphql_transport_ws_handler_class = CheckedTransportWSHandler

    def __init__(self, services: Services, schema: strawberry.Schema, **kwargs: Any) -> None:
        settings = services.settings.subscriptions
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        if settings.legacy_graphql_ws:
            protocols.append(GRAPHQL_WS_PROTOCOL)
        options: dict[str, Any] = {
            "subscription_protocols": tuple(protocols),
            "keep_alive": True,
            "keep_alive_interval": settings.keep_alive_interval,
            "max_subscriptions_per_connection": settings.max_per_connection,
            "connection_init_wait_timeout": timedelta(seconds=10),
            # "*" (the demo's "any origin") is understood by Strawberry as such.
            "allowed_origins": tuple(services.settings.server.cors_origins),
            "graphiql": services.settings.server.graphiql,
        }
        super().__init__(schema, **(options | kwargs))
        self.services = services
        # The HTTP handler's persisted documents, shared by WebSocket subscribes.
        self.persisted: PersistedDocuments | None = None
        # Each tenant's acknowledged sockets (closed ones are skipped when counting,
        # collected ones drop out).
        self.tenant_sockets: defaultdict[str, weakref.WeakSet[web.WebSocketResponse]] = defaultdict(
            weakref.WeakSet
        )

    async def get_context(
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Context:
        context = Context(services=self.services, tenant=None, request=request, response=response)
        _act_as(context, principal_from_headers(self.services.settings, request.headers))
        return context

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        # graphql-transport-ws has no server-initiated keep-alive in Strawberry (only
        # the legacy protocol's "ka"); WebSocket pings keep proxies from idling the
        # socket out and drop peers that vanished without a close.
        settings = self.services.settings.subscriptions
        limit = settings.send_buffer_bytes
        ws = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [],
            heartbeat=settings.keep_alive_interval,
            writer_limit=limit or _AIOHTTP_WRITER_LIMIT,
        )
        request_id = REQUEST_ID.get()
        if request_id is not None:  # the handshake answer is sent here, not by middleware
            ws.headers[REQUEST_ID_HEADER] = request_id
        await ws.prepare(request)
        sockets = request.app.get(OPEN_SOCKETS)
        if sockets is not None:  # an application made by create_app always has it
            sockets.add(ws)
        if limit:
            _limit_send_buffers(request, limit)
        return ws

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the socket from ``connection_init``; refuse a key we do not know
        (close 4403), as HTTP answers 401 to one.

        A non-browser client may instead have sent ``Authorization`` on the handshake;
        a key in the payload, when given, decides. With no key at all the socket is
        refused too (close 4403): a WebSocket acts for one tenant or not at all.
        """
        params = context.connection_params or {}
        authorization = params.get("authorization", params.get("Authorization"))
        if authorization is not None:
            key = bearer_token(authorization) if isinstance(authorization, str) else None
            _act_as(context, principal_for_key(self.services.settings, key))
            if context.tenant is None:
                raise ConnectionRejectionError({"message": "unknown API key"})
        if context.tenant is None:
            raise ConnectionRejectionError(
                {"message": 'authentication required: send {"authorization": "Bearer <api key>"}'}
            )
        await self._admit(context.tenant, context.response)
        return await super().on_ws_connect(context)

    async def _admit(self, tenant: str, ws: web.StreamResponse | None) -> None:
        """Count ``ws`` against ``tenant``'s cap, or close it with 4429 and refuse it."""
        if not isinstance(ws, web.WebSocketResponse):
            return
        cap = self.services.settings.subscriptions.max_connections_per_tenant
        sockets = self.tenant_sockets[tenant]
        # No await between counting and adding: two handshakes cannot both take the
        # last place.
        if sum(1 for open_ws in sockets if not open_ws.closed) < cap:
            sockets.add(ws)
            return
        reason = f"too many open WebSockets for this tenant (at most {cap}); close one first"
        await ws.close(code=TOO_MANY_SOCKETS, message=reason.encode())
        raise ConnectionRejectionError({"message": reason})


def _act_as(context: Context, principal: Principal | None) -> None:
    """The socket acts for ``principal``'s tenant with its scopes (for nobody: None)."""
    context.tenant = principal.tenant if principal is not None else None
    context.scopes = principal.scopes if principal is not None else frozenset()


def _limit_send_buffers(request: web.Request, limit: int) -> None:
    """Cap what a subscriber that does not read can make us hold for it, so a slow
    consumer stalls its own sends (and trips the backlog limit) instead of growing
    buffers: the transport's write buffer and the kernel's send buffer."""
    transport = request.transport
    if transport is None:
        return
    transport.set_write_buffer_limits(high=limit)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, limit)


def add_graphql_routes(
    app: web.Application, *, schema: strawberry.Schema = default_schema
) -> OrdergraphGraphQLView:
    """Serve ``/graphql`` and GraphiQL's files (unless ``server.graphiql`` is off) on ``app``
    (whose ``SERVICES`` must be set).

    The schema's limits are the app's settings (``limits``), read per request.
    """
    services = app[SERVICES]
    view = OrdergraphGraphQLView(services, schema)
    cache = (
        ResponseCache(
            services.cache,
            orders=services.store.orders,
            broker=services.broker,
            schema_version=schema_version(schema),
            confirm_within=services.settings.server.response_cache_confirm,
        )
        if services.settings.server.response_cache
        else None
    )
    # GraphiQL off (or unusable): a browser's GET is answered like any other client's.
    render_ide = view.render_graphql_ide if view.graphql_ide is not None else None
    handler = GraphQLHTTPHandler(services, schema, render_ide=render_ide, response_cache=cache)

    async def graphql(request: web.Request) -> web.StreamResponse:
        # Strawberry's check builds a WebSocketResponse and runs its handshake checks for
        # every request (~6% of a cache hit); without ``Upgrade: websocket`` that
        # handshake fails anyway (aiohttp's first check), so plain HTTP skips it.
        upgrade = request.headers.get(hdrs.UPGRADE, "").lower().strip() == "websocket"
        if upgrade and view.is_websocket_request(request):
            return await view(request)
        return await handler(request)

    if cache is not None:
        response_cache = cache

        async def finish_cache_writes(_: web.Application) -> None:
            # At shutdown, before the services (and the cache's connections) close.
            await response_cache.versions.finish_reads()
            await response_cache.finish_writes()

        app.on_shutdown.append(finish_cache_writes)
    view.persisted = handler.persisted
    app.router.add_route("*", "/graphql", graphql)
    app[GRAPHQL_HTTP] = handler
    view.add_graphiql_routes(app)
    return view
