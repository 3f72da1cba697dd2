"""The typed context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from graphql import GraphQLError

from ordergraph.resolvers.dataloaders import Loaders
from ordergraph.server import Services

__all__ = ["Context", "NotAuthenticatedError"]


class NotAuthenticatedError(GraphQLError):
    """No valid API key: the request acts for no tenant."""

    def __init__(self) -> None:
        super().__init__(
            "authentication required: send 'Authorization: Bearer <api key>'",
            extensions={"code": "UNAUTHENTICATED"},
        )


@dataclass
class Context:
    """What a resolver may use: the tenant, the shared services and this request's loaders.

    ``loaders`` is made per HTTP request, and per event for subscriptions (a WebSocket
    connection's context lives as long as the socket, loaders must not).
    """

    services: Services
    tenant: str | None
    request: web.Request | None = None
    response: web.StreamResponse | None = None
    connection_params: dict[str, Any] | None = None
    _loaders: Loaders | None = field(default=None, repr=False)

    def require_tenant(self) -> str:
        if self.tenant is None:
            raise NotAuthenticatedError
        return self.tenant

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
