"""Errors that reach clients on purpose: ``PublicError`` and the one a failed
provider call becomes.

Here, below the schema, because resolvers raise them and the schema's own modules
(ordergraph/schema/errors.py re-exports both) sit above the resolvers: imports run
one way (``[tool.importlinter]`` in pyproject.toml).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from ordergraph.errors import ProviderError

__all__ = ["PublicError", "provider_failure"]


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
