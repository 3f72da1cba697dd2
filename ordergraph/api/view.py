"""``/graphql``: our GraphQL-over-HTTP handler, and Strawberry's view for WebSockets.

HTTP requests (GET, POST, GraphiQL in a browser) go to ``GraphQLHTTPHandler``, which
follows the GraphQL-over-HTTP spec and answers repeats from the response cache.
WebSocket upgrades go to Strawberry's view, which speaks graphql-transport-ws with the
same context (tenant, loaders).
"""

from __future__ import annotations

from typing import Any

import strawberry
from aiohttp import web

from ordergraph.api.http import GraphQLHTTPHandler
from ordergraph.api.response_cache import ResponseCache, schema_version
from ordergraph.auth import tenant_from_headers
from ordergraph.graphiql import LocalGraphiQLView, add_graphiql_routes
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema as default_schema
from ordergraph.server import SERVICES, Services

__all__ = ["GRAPHQL_HTTP", "OrdergraphGraphQLView", "add_graphql_routes"]

GRAPHQL_HTTP = web.AppKey("graphql_http", GraphQLHTTPHandler)
"""The application's HTTP handler (its response cache and stats), set by ``add_graphql_routes``."""


class OrdergraphGraphQLView(LocalGraphiQLView[Context, None]):
    """Builds a typed ``Context`` per request: the tenant from the API key and fresh
    loaders. GET in a browser shows GraphiQL with locally served assets."""

    def __init__(self, services: Services, schema: strawberry.Schema, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.services = services

    async def get_context(
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Context:
        return Context(
            services=self.services,
            tenant=tenant_from_headers(self.services.settings, request.headers),
            request=request,
            response=response,
        )


def add_graphql_routes(
    app: web.Application, *, schema: strawberry.Schema = default_schema
) -> OrdergraphGraphQLView:
    """Serve ``/graphql`` and GraphiQL's assets on ``app`` (whose ``SERVICES`` must be set)."""
    services = app[SERVICES]
    view = OrdergraphGraphQLView(services, schema)
    cache = (
        ResponseCache(
            services.cache,
            data_version=services.store.orders.data_version,
            schema_version=schema_version(schema),
        )
        if services.settings.server.response_cache
        else None
    )
    handler = GraphQLHTTPHandler(
        services, schema, render_ide=view.render_graphql_ide, response_cache=cache
    )

    async def graphql(request: web.Request) -> web.StreamResponse:
        if view.is_websocket_request(request):
            return await view(request)
        return await handler(request)

    app.router.add_route("*", "/graphql", graphql)
    app[GRAPHQL_HTTP] = handler
    add_graphiql_routes(app)
    return view
