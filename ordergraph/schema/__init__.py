"""The GraphQL schema: Strawberry types only; behaviour lives in ``ordergraph.resolvers``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension, ValidationCache

from ordergraph.schema.errors import is_public
from ordergraph.schema.metrics import OperationMetrics
from ordergraph.schema.mutation import Mutation
from ordergraph.schema.query import Query
from ordergraph.schema.subscription import Subscription
from ordergraph.schema.types import Candidate, Job, Order, Package, ProviderConnection

__all__ = ["build_schema", "schema"]


def build_schema(
    *, extra_extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = ()
) -> strawberry.Schema:
    """The schema with parser and validation caches, error masking and operation
    metrics; ``extra_extensions`` (tracing, when enabled) run after those.

    Extensions are passed as classes or factories, not instances: Strawberry makes a
    fresh one per operation, and a shared instance would carry state across requests.
    """
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Order, Candidate, Job, Package, ProviderConnection],
        extensions=[
            lambda: ParserCache(maxsize=1024),
            lambda: ValidationCache(maxsize=1024),
            lambda: MaskErrors(
                should_mask_error=lambda error: not is_public(error),
                error_message="Unexpected error.",
            ),
            OperationMetrics,
            *extra_extensions,
        ],
    )


schema = build_schema()
