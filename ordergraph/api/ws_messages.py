"""graphql-transport-ws frames that are JSON but not a message object: a clean 4400.

Strawberry's handler indexes every frame as a mapping (``message["type"]``), so a
frame of ``null``, ``1`` or ``[]`` raised ``TypeError`` out of the handler: the socket
was dropped without a close code (1006) and aiohttp logged a traceback. The protocol
says an invalid message closes the socket with 4400; so does a ``subscribe`` without a
document, which Strawberry reported only as a masked "Unexpected error.".
"""

from __future__ import annotations

from typing import Any, cast

from graphql import GraphQLError, OperationDefinitionNode, parse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage, Message

from ordergraph.resolvers.context import Context

__all__ = ["CheckedTransportWSHandler"]


def _unknown_operation(query: str, name: object) -> str | None:
    """Why ``name`` names no operation of ``query`` (None when it does, or when the
    document does not parse: Strawberry reports syntax errors well itself)."""
    if name is None:
        return None
    if not isinstance(name, str):
        return "operationName must be a string"
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    names = {d.name.value for d in operations if d.name}
    # Strawberry raised on an unknown name, which was masked as "Unexpected error.".
    return None if name in names else f"the document has no operation named {name!r}"


class CheckedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, refusing frames that are not objects."""

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict):
            await self.handle_invalid_message("a message must be a JSON object")
            return
        if "id" in message and not isinstance(message["id"], str):
            # The protocol's ids are strings; a list one raised TypeError (unhashable).
            await self.handle_invalid_message("a message id must be a string")
            return
        payload = message.get("payload")
        query = payload.get("query") if isinstance(payload, dict) else None
        # A blank document reached Strawberry's MissingQueryError, masked "Unexpected error."
        if message.get("type") == "subscribe" and not (isinstance(query, str) and query.strip()):
            await self.handle_invalid_message("a subscribe message needs a payload with a query")
            return
        if isinstance(payload, dict) and payload.get("operationName") == "":
            # As over HTTP (api/request.py): an empty name means none. Strawberry looked
            # for an operation named "" and answered a masked "Unexpected error.".
            payload["operationName"] = None
        if isinstance(payload, dict) and isinstance(message.get("id"), str):
            unknown = _unknown_operation(str(query), payload.get("operationName"))
            if unknown is not None:
                coded = {"message": unknown, "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"}}
                error = {"id": message["id"], "type": "error", "payload": [coded]}
                await self.send_message(cast("ErrorMessage", error))
                return
        await super().handle_message(cast("Message", message))
