"""The typed context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from graphql import GraphQLError

from ordergraph.keys import Scope
from ordergraph.resolvers.connections import tenant_connection
from ordergraph.resolvers.dataloaders import Loaders
from ordergraph.services import Services
from ordergraph.sync.connections import LiveConnection

__all__ = ["Context", "MissingScopeError", "NotAuthenticatedError"]


class NotAuthenticatedError(GraphQLError):
    """No valid API key: the request acts for no tenant."""

    def __init__(self) -> None:
        super().__init__(
            "authentication required: send 'Authorization: Bearer <api key>'",
            extensions={"code": "UNAUTHENTICATED"},
        )


class MissingScopeError(GraphQLError):
    """The key is valid but lacks the scope this operation or field needs."""

    def __init__(self, scope: Scope, what: str) -> None:
        super().__init__(
            f"{what} needs the '{scope}' scope, which this API key does not have",
            extensions={"code": "FORBIDDEN", "requiredScope": str(scope)},
        )


@dataclass
class Context:
    """What a resolver may use: the tenant and its key's scopes, the shared services and
    this request's loaders.

    ``loaders`` is made per HTTP request, and per event for subscriptions (a WebSocket
    connection's context lives as long as the socket, loaders must not).
    """

    services: Services
    tenant: str | None
    # The scopes of the key the request presented (none without a key).
    scopes: frozenset[Scope] = frozenset()
    request: web.Request | None = None
    response: web.StreamResponse | None = None
    connection_params: dict[str, Any] | None = None
    _loaders: Loaders | None = field(default=None, repr=False)

    def require_tenant(self) -> str:
        if self.tenant is None:
            raise NotAuthenticatedError
        return self.tenant

    def require_scope(self, scope: Scope, what: str) -> None:
        """Refuse ``what`` (named in the error) unless the key holds ``scope``."""
        self.require_tenant()
        if scope not in self.scopes:
            raise MissingScopeError(scope, what)

    def connection(self, connection_id: str) -> LiveConnection | None:
        """The tenant's live connection ``connection_id``; None for an unknown id and for
        another tenant's connection alike."""
        return tenant_connection(self.services.connections, self.require_tenant(), connection_id)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = self.new_loaders()
        return self._loaders

    def new_loaders(self) -> Loaders:
        """Fresh loaders (no cached keys) for this tenant."""
        tenant = self.require_tenant()
        return Loaders.create(
            tenant=tenant,
            orders=self.services.store.orders,
            sync_state=self.services.store.sync_state,
            deliveries=self.services.store.deliveries,
            connections=self.services.connections,
            cache=self.services.cache,
        )
