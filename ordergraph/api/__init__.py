"""The GraphQL endpoint: ``/graphql`` over HTTP (and WebSocket), on the server app."""

from __future__ import annotations

from ordergraph.api.view import GRAPHQL_HTTP, OrdergraphGraphQLView, add_graphql_routes

__all__ = ["GRAPHQL_HTTP", "OrdergraphGraphQLView", "add_graphql_routes"]
