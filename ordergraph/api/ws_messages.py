"""graphql-transport-ws frames that are JSON but not a message object: a clean 4400.

Strawberry's handler indexes every frame as a mapping (``message["type"]``), so a
frame of ``null``, ``1`` or ``[]`` raised ``TypeError`` out of the handler: the socket
was dropped without a close code (1006) and aiohttp logged a traceback. The protocol
says an invalid message closes the socket with 4400; so does a ``subscribe`` without a
document, which Strawberry reported only as a masked "Unexpected error.".

A ``subscribe`` document is also checked against ``limits.max_document_bytes`` here,
before anything parses it (an ``error`` message with ``DOCUMENT_TOO_LARGE``; the socket
stays up), and the parse that looks for the ``operationName`` is bounded by the same
size and token limits as execution's: it used to be unbounded (a 1.9M-token document
held the event loop ~20 s).

A ``subscribe`` may name a persisted document (``extensions.persistedQuery`` or a
``documentId``) instead of sending one, as over HTTP (``api.persisted``); the document
found takes the place of ``query`` before any of these checks, and a reference that
cannot be resolved is an ``error`` message with its code (the socket stays up). In
trusted-documents mode a sent document outside the manifest is refused the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from graphql import GraphQLError, OperationDefinitionNode
from strawberry import Schema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage, Message

from ordergraph.api.persisted import PersistedDocuments, Registration
from ordergraph.api.request import DOCUMENT_ID_PARAMETERS, RequestRejectedError, from_params
from ordergraph.resolvers.context import Context
from ordergraph.schema.limits import RequestLimits, request_limits, tenant_providers
from ordergraph.settings import LimitSettings

__all__ = ["CheckedTransportWSHandler"]


def _unknown_operation(query: str, name: object, limits: RequestLimits) -> str | None:
    """Why ``name`` names no operation of ``query`` (None when it does, or when the
    document does not parse within the limits: execution reports that itself)."""
    if name is None:
        return None
    if not isinstance(name, str):
        return "operationName must be a string"
    document = limits.parse(query)
    if isinstance(document, GraphQLError):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    names = {d.name.value for d in operations if d.name}
    # Strawberry raised on an unknown name, which was masked as "Unexpected error.".
    return None if name in names else f"the document has no operation named {name!r}"


class CheckedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, refusing frames that are not objects
    and documents over the size limit."""

    def _limits(self) -> RequestLimits:
        services = getattr(self.view, "services", None)
        return request_limits(services.settings.limits if services else LimitSettings())

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict):
            await self.handle_invalid_message("a message must be a JSON object")
            return
        if "id" in message and not isinstance(message["id"], str):
            # The protocol's ids are strings; a list one raised TypeError (unhashable).
            await self.handle_invalid_message("a message id must be a string")
            return
        payload = message.get("payload")
        registration: Registration | None = None
        if message.get("type") == "subscribe" and isinstance(payload, dict):
            resolved = await self._resolve_persisted(message.get("id"), payload)
            if resolved is False:
                return  # refused with an error message
            registration = resolved if isinstance(resolved, Registration) else None
        query = payload.get("query") if isinstance(payload, dict) else None
        # A blank document reached Strawberry's MissingQueryError, masked "Unexpected error."
        if message.get("type") == "subscribe" and not (isinstance(query, str) and query.strip()):
            await self.handle_invalid_message("a subscribe message needs a payload with a query")
            return
        if isinstance(payload, dict) and payload.get("operationName") == "":
            # As over HTTP (api/request.py): an empty name means none. Strawberry looked
            # for an operation named "" and answered a masked "Unexpected error.".
            payload["operationName"] = None
        subscribe = message.get("type") == "subscribe"
        if subscribe and isinstance(payload, dict) and isinstance(message.get("id"), str):
            limits = self._limits()
            too_large = limits.size_error(str(query))
            if too_large is not None:
                await self._send_error(message["id"], too_large.formatted)
                return
            unknown = _unknown_operation(str(query), payload.get("operationName"), limits)
            if unknown is not None:
                coded = {"message": unknown, "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"}}
                await self._send_error(message["id"], coded)
                return
            if registration is not None and self._within_limits(registration, payload, limits):
                persisted = self._persisted()
                if persisted is not None:
                    await persisted.register(registration)
        await super().handle_message(cast("Message", message))

    def _within_limits(
        self, registration: Registration, payload: Any, limits: RequestLimits
    ) -> bool:
        """Whether a document to register parses and passes every limit, as over HTTP
        (execution checks it again and reports what it breaks)."""
        if isinstance(limits.parse(registration.query), GraphQLError):
            return False
        services = getattr(self.view, "services", None)
        if services is None or not isinstance(self.schema, Schema):
            return False
        name = payload.get("operationName")
        variables = payload.get("variables")
        over = limits.check(
            self.schema._schema,
            registration.query,
            name if isinstance(name, str) else None,
            variables if isinstance(variables, dict) else None,
            providers=tenant_providers(services.connections, registration.tenant),
        )
        return not over

    def _persisted(self) -> PersistedDocuments | None:
        persisted = getattr(self.view, "persisted", None)
        return persisted if isinstance(persisted, PersistedDocuments) else None

    async def _resolve_persisted(
        self, operation_id: object, payload: dict[str, Any]
    ) -> Registration | bool:
        """Put the persisted document a subscribe names into its payload (in place).

        False: refused (an error message was sent); a Registration: keep the document
        once it passed the checks; True: nothing to do. Before the socket is
        acknowledged (no tenant yet) nothing is resolved: Strawberry refuses the
        subscribe then anyway.
        """
        persisted = self._persisted()
        tenant = getattr(self.context, "tenant", None)
        if persisted is None or tenant is None or not isinstance(operation_id, str):
            return True
        extensions = payload.get("extensions")
        names = (isinstance(extensions, dict) and "persistedQuery" in extensions) or any(
            payload.get(name) is not None for name in DOCUMENT_ID_PARAMETERS
        )
        query = payload.get("query")
        sent = isinstance(query, str) and bool(query.strip())
        if not names and not (persisted.settings.only and sent):
            return True  # a plain subscribe: the checks below, as before
        try:
            received = from_params(payload)
            resolved = await persisted.resolve(tenant, received)
        except RequestRejectedError as rejected:
            error = {
                "message": rejected.message,
                "extensions": {"code": rejected.code, **rejected.extensions},
            }
            await self._send_error(operation_id, error)
            return False
        if received.names_persisted:
            payload["query"] = resolved.request.query
            payload["extensions"] = resolved.request.extensions
        return resolved.registration or True

    async def _send_error(self, operation_id: str, error: Mapping[str, Any]) -> None:
        message = {"id": operation_id, "type": "error", "payload": [dict(error)]}
        await self.send_message(cast("ErrorMessage", message))
