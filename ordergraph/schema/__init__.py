"""The GraphQL schema: Strawberry types only; behaviour lives in ``ordergraph.resolvers``."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache

from ordergraph.schema.access import OperationScopes
from ordergraph.schema.errors import is_public
from ordergraph.schema.mutation import Mutation
from ordergraph.schema.query import Query
from ordergraph.schema.subscription import Subscription
from ordergraph.schema.types import Candidate, Job, Order, Package, ProviderConnection

__all__ = ["build_schema", "schema"]


def build_schema() -> strawberry.Schema:
    """The schema with parser and validation caches and error masking.

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
            # Before execution: an operation the key's scopes do not cover never runs.
            OperationScopes,
            lambda: MaskErrors(
                should_mask_error=lambda error: not is_public(error),
                error_message="Unexpected error.",
            ),
        ],
    )


schema = build_schema()
