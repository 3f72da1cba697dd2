"""graphql-transport-ws frames that are JSON but not a message object: a clean 4400.

Strawberry's handler indexes every frame as a mapping (``message["type"]``), so a
frame of ``null``, ``1`` or ``[]`` raised ``TypeError`` out of the handler: the socket
was dropped without a close code (1006) and aiohttp logged a traceback. The protocol
says an invalid message closes the socket with 4400; so does a ``subscribe`` without a
document, which Strawberry reported only as a masked "Unexpected error.".
"""

from __future__ import annotations

from typing import Any, cast

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from ordergraph.resolvers.context import Context

__all__ = ["CheckedTransportWSHandler"]


class CheckedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, refusing frames that are not objects."""

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict):
            await self.handle_invalid_message("a message must be a JSON object")
            return
        payload = message.get("payload")
        query = payload.get("query") if isinstance(payload, dict) else None
        # A blank document reached Strawberry's MissingQueryError, masked "Unexpected error."
        if message.get("type") == "subscribe" and not (isinstance(query, str) and query.strip()):
            await self.handle_invalid_message("a subscribe message needs a payload with a query")
            return
        await super().handle_message(cast("Message", message))
