"""``/graphql``: Strawberry's aiohttp view with our context and authentication."""

from __future__ import annotations

from typing import Any

import strawberry
from aiohttp import web

from ordergraph.auth import tenant_from_headers
from ordergraph.graphiql import LocalGraphiQLView, add_graphiql_routes
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema as default_schema
from ordergraph.server import SERVICES, Services

__all__ = ["OrdergraphGraphQLView", "add_graphql_routes"]


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
    view = OrdergraphGraphQLView(app[SERVICES], schema)
    app.router.add_route("*", "/graphql", view)
    add_graphiql_routes(app)
    return view
