"""The GraphQL schema: Strawberry types only; behaviour lives in ``ordergraph.resolvers``.

Types by domain: ``orders``, ``candidates``, ``jobs``, ``packages``, ``connections``
(provider connections), ``events``, ``results``; every Relay connection is built by
``connection.build_connection``. Roots: ``query``, ``mutation``, ``subscription``.
"""

from __future__ import annotations

from strawberry.extensions import MaskErrors

from ordergraph.schema.access import OperationScopes
from ordergraph.schema.acyclic import AcyclicExecutor
from ordergraph.schema.candidates import Candidate
from ordergraph.schema.connections import ProviderConnection
from ordergraph.schema.errors import is_public
from ordergraph.schema.getters import direct_getters
from ordergraph.schema.jobs import Job
from ordergraph.schema.limits import LIMIT_EXTENSIONS
from ordergraph.schema.metrics import OperationMetrics
from ordergraph.schema.mutation import Mutation
from ordergraph.schema.orders import Order
from ordergraph.schema.packages import Package
from ordergraph.schema.query import Query
from ordergraph.schema.reporting import OrdergraphSchema
from ordergraph.schema.store_budget import OperationStoreBudget
from ordergraph.schema.subscription import Subscription

__all__ = ["build_schema", "schema"]


def build_schema() -> OrdergraphSchema:
    """The schema with the abuse limits (``ordergraph.schema.limits``), parser and
    validation caches, error masking and operation metrics. Tracing, when enabled, is
    added by ``ordergraph.tracing.traced`` to a copy of this schema.

    Extensions are passed as classes or factories, not instances: Strawberry makes a
    fresh one per operation, and a shared instance would carry state across requests.
    Their order matters: the token limit before the parse, the limit rules before
    the validation cache (whose key they are part of), the cost after validation. The
    limits are read per operation from the server's settings, so this is built once
    per process (Strawberry's ``relay.node`` fields cannot go into a second schema).
    """
    built = OrdergraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Order, Candidate, Job, Package, ProviderConnection],
        extensions=[
            # Limits, parser and validation caches (ordergraph.schema.limits).
            *LIMIT_EXTENSIONS,
            # Before execution: an operation the key's scopes do not cover never runs.
            OperationScopes,
            lambda: MaskErrors(
                should_mask_error=lambda error: not is_public(error),
                error_message="Unexpected error.",
            ),
            OperationMetrics,
            OperationStoreBudget,
        ],
        # No reference cycle per execution: a request's memory is freed when it ends.
        execution_context_class=AcyclicExecutor,
    )
    # Plain reads skip the extension machinery; ``plain_reads`` makes their checks.
    built.enable_plain_reads()
    direct_getters(built)
    return built


schema = build_schema()
