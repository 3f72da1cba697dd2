"""``node``/``nodes`` with an id whose type name is no type of ours: a clean INVALID_ID.

Strawberry's relay fields raise ``GlobalIDValueError`` when an id decodes to a type
name the schema does not have (``base64("Nope:1")``); unhandled, that is masked as an
"Unexpected error." and logged with a traceback, as if the server had failed.
"""

from __future__ import annotations

import inspect
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver, SyncExtensionResolver
from strawberry.relay.types import GlobalIDValueError

from ordergraph.schema.errors import PublicError

__all__ = ["UnknownNodeTypeIsInvalidId"]


def _invalid_id() -> PublicError:
    return PublicError("not the id of any object of this API", code="INVALID_ID")


class UnknownNodeTypeIsInvalidId(FieldExtension):
    """Turns Strawberry's unknown-type refusal into ``INVALID_ID``."""

    def resolve(
        self, next_: SyncExtensionResolver, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        try:
            return next_(source, info, **kwargs)
        except GlobalIDValueError:
            raise _invalid_id() from None

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        try:
            result = next_(source, info, **kwargs)
            return await result if inspect.isawaitable(result) else result
        except GlobalIDValueError:
            raise _invalid_id() from None
