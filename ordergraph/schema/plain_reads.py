"""Plain reads executed below Strawberry's ``Schema.execute``, with the same checks.

A plain read is a query document that parses, passes the limit rules and validates,
run by a key holding ``read``, within the cost and id limits for its variables and
tenant, on the schema as ``build_schema`` made it (not a traced copy). For those,
Strawberry's ``Schema.execute`` costs ~1 ms of a 50-order page on top of the
execution itself: ten extension objects per operation, their generator hooks in four
phases, an execution context, a middleware manager. Here the checks the extensions
make are made directly, then graphql-core's ``execute`` runs on the schema's
``GraphQLSchema`` with Strawberry's execution context class (so resolvers see the same
``Info``). Extension by extension:

- ``TokenLimiter``, ``LimitedParserCache``: the same parse (the token budget of the
  request's limits), from the same cache;
- ``LimitRules``, ``LimitedValidationCache``: the limit rules, then every rule
  Strawberry validates with, from the same cache;
- ``CostLimiter``: ``RequestLimits.cost_errors`` with the request's variables and tenant;
- ``OperationScopes``: the key holds ``read`` (the operation is a query);
- ``OperationStoreBudget``: ``statement_budget`` around the execution;
- ``process_errors`` and ``CodedMaskErrors``: the result's errors summarised and coded,
  then masked by the schema's own masking extension;
- ``OperationMetrics``: one count per operation and outcome.

Anything else (a parse or validation error, a limit, a missing scope, a mutation, an
unknown operation name, another extension added) is left to ``Schema.execute``, which
reports it as before: the fast path is only ever taken where both would answer alike.
``tests/api/test_plain_reads.py`` holds the two paths to the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationType,
    get_operation_ast,
    specified_rules,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import execute as graphql_execute
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType as StrawberryOperation
from strawberry.utils.await_maybe import await_maybe

from ordergraph.keys import Scope
from ordergraph.resolvers.context import Context
from ordergraph.schema.acyclic import AcyclicExecutor
from ordergraph.schema.completed import CompletedSelectionsExecutor
from ordergraph.schema.direct_resolvers import direct_resolvers
from ordergraph.schema.errors import CodedMaskErrors
from ordergraph.schema.limits import (
    LimitedParserCache,
    LimitedValidationCache,
    RequestLimits,
    limits_for,
    tenant_providers,
)
from ordergraph.schema.metrics import metrics_of
from ordergraph.store.budget import statement_budget

if TYPE_CHECKING:
    from ordergraph.schema.reporting import OrdergraphSchema

__all__ = ["PlainReads"]


@dataclass(frozen=True, slots=True)
class _Plain:
    """A document that parsed, validated and names one query."""

    document: DocumentNode
    operation_name: str | None


class PlainReads:
    """The fast path of one schema (its checks, and the schema's error masker)."""

    def __init__(self, schema: OrdergraphSchema, extensions: Sequence[Any]) -> None:
        self.schema = schema
        # The extensions the checks above stand for; a copy with others (tracing)
        # has another list and takes Strawberry's path.
        self.extensions = extensions
        self._masker: CodedMaskErrors | None = None
        # Strawberry's resolvers of fields with a direct one swapped for it.
        self.direct = direct_resolvers(schema)
        self.taken = 0

    def prepare(
        self,
        executing: OrdergraphSchema,
        query: str | None,
        operation_name: str | None,
        context: Any,
        variables: dict[str, Any] | None,
        allowed: Iterable[StrawberryOperation] | None,
    ) -> tuple[_Plain, Context] | None:
        """The document to run here, or None: ``Schema.execute`` must run it."""
        if (
            not query
            # ``executing`` is a copy with other extensions (the attribute came along)
            or executing.extensions is not self.extensions
            or not isinstance(context, Context)
            or context.tenant is None
            or Scope.READ not in context.scopes
            or (allowed is not None and StrawberryOperation.QUERY not in allowed)
        ):
            return None
        limits = limits_for(context)
        if limits.size_error(query) is not None:
            return None
        plain = self._plain(query, operation_name, limits)
        if plain is None:
            return None
        plan = limits.plan(self.schema._schema, query, operation_name)
        providers = tenant_providers(context.services.connections, context.tenant)
        if limits.cost_errors(plan, variables, providers=providers):
            return None
        return plain, context

    def _plain(
        self, query: str, operation_name: str | None, limits: RequestLimits
    ) -> _Plain | None:
        """The document if it parses and validates and names one query: what the
        parser and validation extensions decide, from their own caches."""
        try:
            # Strawberry's parse options with the token limit (TokenLimiter).
            document = LimitedParserCache.parsed(query, {"max_tokens": limits.settings.max_tokens})
        except (GraphQLError, RecursionError):
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        # The rules Strawberry validates with: its defaults, then the limit rules added
        # (LimitRules), the same key in the same cache.
        rules = (*specified_rules, *limits.rules)
        if LimitedValidationCache.validated(self.schema._schema, query, document, rules, limits):
            return None
        # Strawberry names the operation by the request, else the document's first one.
        name = operation_name or (operation.name.value if operation.name else None)
        return _Plain(document, name)

    async def execute(
        self,
        plain: _Plain,
        context: Context,
        variables: dict[str, Any] | None,
        root_value: Any,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        self.taken += 1
        outcome = "request_error"
        try:
            result = await self._run(plain, context, variables, root_value, operation_extensions)
            outcome = _outcome(result)
            return result
        except Exception:
            outcome = "request_error"
            raise
        except BaseException:
            outcome = "cancelled"  # what OperationMetrics counts for a query cut short
            raise
        finally:
            metrics = metrics_of(context)
            if metrics is not None:
                metrics.graphql_operation(plain.operation_name, "query", outcome)

    async def _run(
        self,
        plain: _Plain,
        context: Context,
        variables: dict[str, Any] | None,
        root_value: Any,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        schema = self.schema
        limit = limits_for(context).settings.max_store_statements
        try:
            with statement_budget(limit):
                result: GraphQLExecutionResult = await await_maybe(
                    graphql_execute(
                        schema._schema,
                        plain.document,
                        root_value=root_value,
                        context_value=context,
                        variable_values=variables,
                        operation_name=plain.operation_name,
                        middleware=self.direct,
                        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                        **_executor_kwargs(schema, variables),
                        operation_extensions=operation_extensions,
                    )
                )
        except Exception as exc:  # as Strawberry: a request error, not a raise
            error = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            return self._finished(PreExecutionError(data=None, errors=[error]), plain)
        return self._finished(ExecutionResult(data=result.data, errors=result.errors), plain)

    def _finished(self, result: ExecutionResult, plain: _Plain) -> ExecutionResult:
        if result.errors:
            # Logged and coded as the originals, then masked (process_errors, MaskErrors).
            self.schema.summarise(result.errors, plain.operation_name)
            result.errors = self.masker()._process_errors(result.errors)
        # No extension of this schema reports results: Strawberry's empty mapping.
        result.extensions = {}
        return result

    def masker(self) -> CodedMaskErrors:
        if self._masker is None:
            found = [e for e in self.schema.get_extensions() if isinstance(e, CodedMaskErrors)]
            self._masker = found[0]
        return self._masker


def _executor_kwargs(schema: OrdergraphSchema, variables: dict[str, Any] | None) -> dict[str, Any]:
    """The executor: Strawberry's with completed selections kept on shared nodes
    (``schema/completed.py``), keyed by the request's variables; a schema given another
    executor class keeps it."""
    if schema.execution_context_class is not AcyclicExecutor:
        return execution_context_class_kwargs(schema.execution_context_class)
    try:
        key = orjson.dumps(variables or None, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # not JSON (never from HTTP): execute without the memo
        return execution_context_class_kwargs(schema.execution_context_class)
    return {"executor_class": CompletedSelectionsExecutor, "variables_key": key}


def _outcome(result: ExecutionResult) -> str:
    """``OperationMetrics``' outcome of a finished query (``outcome_of``)."""
    errors = result.errors or []
    if not errors:
        return "ok"
    if result.data is None and all(not error.path for error in errors):
        return "request_error"
    return "field_error"
