"""GraphiQL from the package itself: no CDN, no npm, no source tree.

Strawberry's GraphiQL page loads React, GraphiQL and the explorer plugin from
unpkg.com, which a browser on an air-gapped network, a CI sandbox or behind a strict
proxy cannot reach. The very same files are vendored into ``assets/`` (by ``make
vendor-graphiql`` from the npm packages pinned in package.json; see ``manifest``) and
ship in the wheel; the page is Strawberry's, rewritten to load them from us (see
``page``) and served with a strict Content-Security-Policy (see ``serving``).

Wiring (the file routes are added once per application, next to the GraphQL view)::

    view = LocalGraphiQLView(schema=schema)  # graphiql=False turns the IDE off
    view.add_graphiql_routes(app)
    app.router.add_route("*", "/graphql", view)
"""

from __future__ import annotations

from ordergraph.graphiql.page import ASSETS_PREFIX
from ordergraph.graphiql.serving import (
    GRAPHIQL_WELCOME,
    SECURITY_HEADERS,
    GraphiQLWelcome,
    load_graphiql,
)
from ordergraph.graphiql.view import LocalGraphiQLView, runs_only_queries

__all__ = [
    "ASSETS_PREFIX",
    "GRAPHIQL_WELCOME",
    "SECURITY_HEADERS",
    "GraphiQLWelcome",
    "LocalGraphiQLView",
    "load_graphiql",
    "runs_only_queries",
]
