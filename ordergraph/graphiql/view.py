"""``LocalGraphiQLView``: Strawberry's aiohttp view with our GraphiQL page.

A link to the page may carry a query (``?q=``, the shared-query parameter of the
page). A mutation or subscription in it is dropped, by a redirect to the same URL
without ``q``, so nobody runs an operation that changes data by following a link and
pressing "run". (``?query=`` is not the page: it is a GraphQL GET request, where the
gateway refuses mutations and acts only for the ``Authorization`` header, which a
link cannot set.)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.aiohttp.views import GraphQLView
from strawberry.http.typevars import Context, RootValue

from ordergraph.graphiql.serving import (
    GRAPHIQL_WELCOME,
    SECURITY_HEADERS,
    GraphiQLFiles,
    GraphiQLWelcome,
    load_graphiql,
)

__all__ = ["LocalGraphiQLView", "runs_only_queries"]

_SHARED_QUERY_PARAMETER = "q"
# Longer shared queries are dropped unread rather than parsed: a link is not a file.
_MAX_SHARED_QUERY = 100_000


def runs_only_queries(document: str) -> bool:
    """False when ``document`` holds a mutation or subscription (or is too long to
    read); a document that does not parse is a draft and may stay."""
    if len(document) > _MAX_SHARED_QUERY:
        return False
    try:
        # Bounded by the length check above, so no token limit (which would make a
        # long mutation look like an unparsable draft).
        parsed = parse(document, no_location=True)
    except GraphQLError:
        return True
    return all(
        d.operation is OperationType.QUERY
        for d in parsed.definitions
        if isinstance(d, OperationDefinitionNode)
    )


class LocalGraphiQLView(GraphQLView[Context, RootValue]):
    """Strawberry's aiohttp view whose GraphiQL page and files come from the package.

    Takes Strawberry's arguments, plus ``graphiql`` (False turns the IDE off) and
    ``subscription_path`` (where the page opens its WebSocket, resolved against the
    page's URL; default the page's own URL). The page is built when the view is; when
    it cannot be (see ``load_graphiql``) the IDE is off and a warning says why. Other
    IDEs (``graphql_ide="apollo-sandbox"``, ...) are left to Strawberry. Add the file
    routes with ``add_graphiql_routes``.
    """

    def __init__(
        self,
        *args: Any,
        graphiql: bool = True,
        subscription_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.subscription_path = subscription_path
        self.graphiql_files: GraphiQLFiles | None = None
        if self.graphql_ide == "graphiql":
            self.graphiql_files = load_graphiql() if graphiql else None
            if self.graphiql_files is None:
                self.graphql_ide = None

    def add_graphiql_routes(self, app: web.Application) -> None:
        """Serve the page's files on ``app`` (nothing when GraphiQL is off)."""
        if self.graphiql_files is not None:
            app.router.add_routes(self.graphiql_files.routes)

    async def render_graphql_ide(self, request: web.Request) -> web.Response:
        """Serve our page instead of Strawberry's (Strawberry's hook)."""
        if self.graphiql_files is None:
            return await super().render_graphql_ide(request)
        shared = request.query.get(_SHARED_QUERY_PARAMETER)
        if shared is not None and not runs_only_queries(shared):
            kept = request.rel_url.query.copy()
            kept.popall(_SHARED_QUERY_PARAMETER)
            location = request.rel_url.with_query(kept)
            # Returned, not raised: the gateway's handler answers 500 to any exception.
            return web.Response(status=303, headers={**SECURITY_HEADERS, "Location": str(location)})
        welcome = request.app.get(GRAPHIQL_WELCOME) or GraphiQLWelcome()
        return self.graphiql_files.respond(welcome, subscription_path=self.subscription_path)
