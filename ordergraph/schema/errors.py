"""Errors that reach clients on purpose, with codes they can branch on.

Everything else is masked by ``MaskErrors`` (no stack trace, no internal path, no
secret). A provider failure becomes a ``PublicError`` on the fields it costs, with
``extensions {code, connectionId, provider, retryAfter}``.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from ordergraph.errors import ProviderError

__all__ = ["PublicError", "is_public", "provider_failure"]


class PublicError(GraphQLError):
    """An error whose message and extensions are safe to show a client."""

    def __init__(self, message: str, *, code: str, **extensions: Any) -> None:
        super().__init__(
            message,
            extensions={"code": code, **{k: v for k, v in extensions.items() if v is not None}},
        )


def provider_failure(exc: ProviderError) -> PublicError:
    """What a client sees when a provider call behind a field failed.

    ``ProviderError`` messages name the provider, connection, method and path but
    never a header or key, so they are safe to show.
    """
    return PublicError(
        f"{exc.provider} could not answer for connection {exc.connection_id}: {exc.message}",
        code=exc.code,
        connectionId=exc.connection_id,
        provider=exc.provider,
        retryAfter=exc.retry_after,
    )


def is_public(error: GraphQLError) -> bool:
    """True for errors we raised deliberately or graphql-core's own (syntax, validation)."""
    original = error.original_error
    if original is None:
        return True
    if isinstance(original, PublicError):
        return True
    return isinstance(original, GraphQLError) and original.original_error is None
