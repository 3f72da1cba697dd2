"""Abuse limits: depth, tokens, aliases, upstream-call cost, ids per list, introspection.

Each limit refuses a whole operation before it runs: no store read and no provider
call, a GraphQL request error (no ``data``) with ``extensions.code``:

================================  =========================  ===========================
limit (``[limits]``)              code                       enforced by
================================  =========================  ===========================
``max_tokens``                    ``TOO_MANY_TOKENS``        Strawberry's
                                                             ``MaxTokensLimiter`` (the
                                                             parser stops at the limit)
``max_depth``                     ``QUERY_TOO_DEEP``         Strawberry's
                                                             ``QueryDepthLimiter`` rule
``max_aliases``                   ``TOO_MANY_ALIASES``       Strawberry's
                                                             ``MaxAliasesLimiter`` rule
``introspection = false``         ``INTROSPECTION_DISABLED``  graphql-core's
                                                             ``NoSchemaIntrospection``
``max_cost``                      ``QUERY_TOO_COSTLY``       ``CostLimiter`` (below),
                                                             ``ordergraph.schema.cost``
``max_node_ids``                  ``TOO_MANY_IDS``           ``CostLimiter``
================================  =========================  ===========================

Over WebSocket a refusal is an ``error`` message for the operation, except the token
limit's: Strawberry answers any document that does not parse by closing the socket
(4400, the message as the reason), and a document over ``max_tokens`` is never parsed.

The limits are the settings of the server that runs the operation: each extension
reads them from the GraphQL context (``context.services.settings.limits``; defaults
without one), so one schema serves apps with different settings. (It has to:
Strawberry's ``relay.node`` fields can be built into one schema only, so there is one
schema per process.) ``request_limits`` keeps one ``RequestLimits`` per settings value;
the HTTP transport checks a request with ``RequestLimits.check`` before it even looks
in the response cache (the lookup reads the store's data version), and execution, over
HTTP and WebSocket alike, runs the same rules through the extensions below.

Why the rule classes are built once per settings value and not by
``QueryDepthLimiter(...)`` per request: ``ValidationCache`` keys its cache on the rule
classes, and each ``QueryDepthLimiter``/``MaxAliasesLimiter`` instance makes new
classes, so a factory calling them would miss the cache on every request
(``tests/api/test_limits.py::test_validation_cache_hits_with_the_limit_rules``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, cast

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    ValidationContext,
    ValidationRule,
    parse,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import validate_document

from ordergraph.schema.cost import CostPlan, plan_cost
from ordergraph.settings import LimitSettings

__all__ = [
    "CODES",
    "LIMIT_EXTENSIONS",
    "CostLimiter",
    "LimitRules",
    "LimitedParserCache",
    "RequestLimits",
    "TokenLimiter",
    "limits_for",
    "recode_parse_error",
    "request_limits",
    "tenant_providers",
]

CODES: Final = {
    "max_tokens": "TOO_MANY_TOKENS",
    "max_depth": "QUERY_TOO_DEEP",
    "max_aliases": "TOO_MANY_ALIASES",
    "max_cost": "QUERY_TOO_COSTLY",
    "max_node_ids": "TOO_MANY_IDS",
    "introspection": "INTROSPECTION_DISABLED",
}
"""``extensions.code`` of each limit's error, by setting."""


def _limit_error(
    message: str, setting: str, error: GraphQLError | None = None, **extensions: Any
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes if error else None,
        source=error.source if error else None,
        positions=error.positions if error else None,
        extensions={"code": CODES[setting], **extensions},
    )


class _Recoding:
    """A ``ValidationContext`` stand-in that gives the errors a rule reports a code,
    and keeps only the first (a depth rule reports every branch that is too deep)."""

    def __init__(
        self, context: ValidationContext, recode: Callable[[GraphQLError], GraphQLError]
    ) -> None:
        self._context = context
        self._recode = recode
        self._reported = False

    def report_error(self, error: GraphQLError) -> None:
        if not self._reported:
            self._reported = True
            self._context.report_error(self._recode(error))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _coded_rule(
    rules: Sequence[type[ASTValidationRule]], recode: Callable[[GraphQLError], GraphQLError]
) -> type[ValidationRule]:
    """One rule running Strawberry's limit rules (which do all their work when they are
    made) against a context that codes their errors."""

    class CodedRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for rule in rules:
                # Strawberry's depth rule looks fragments up without a default; an
                # unknown fragment is KnownFragmentNamesRule's to report.
                with contextlib.suppress(KeyError):
                    rule(cast(ValidationContext, _Recoding(context, recode)))

    return CodedRule


def _introspection_rule() -> type[ValidationRule]:
    class IntrospectionDisabled(NoSchemaIntrospectionCustomRule):
        reported = False

        def report_error(self, error: GraphQLError) -> None:
            # One error per document is enough; graphql-core names every field.
            if self.reported:
                return
            self.reported = True
            super().report_error(
                _limit_error(
                    "introspection is disabled on this server (the limits.introspection setting)",
                    "introspection",
                    error,
                )
            )

    return IntrospectionDisabled


class RequestLimits:
    """The limits of one ``LimitSettings`` value: its rules, checks and cost plans."""

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        depth = settings.max_depth
        aliases = settings.max_aliases
        rules: list[type[ASTValidationRule]] = [
            _coded_rule(
                QueryDepthLimiter(max_depth=depth).validation_rules,
                lambda e: _limit_error(e.message, "max_depth", e, maxDepth=depth),
            ),
            _coded_rule(
                MaxAliasesLimiter(max_alias_count=aliases).validation_rules,
                lambda e: _limit_error(e.message, "max_aliases", e, maxAliases=aliases),
            ),
        ]
        if not settings.introspection:
            rules.append(_introspection_rule())
        self.rules: tuple[type[ASTValidationRule], ...] = tuple(rules)
        self._plans = lru_cache(maxsize=1024)(self._plan)

    # --- checks ----------------------------------------------------------------------

    def parse(self, query: str) -> DocumentNode | GraphQLError:
        """The document, or the error that ends it (the token limit's is coded)."""
        try:
            return parse(query, max_tokens=self.settings.max_tokens)
        except GraphQLSyntaxError as error:
            return self.recode_parse_error(error)
        except GraphQLError as error:
            return error

    def recode_parse_error(self, error: GraphQLError) -> GraphQLError:
        return recode_parse_error(error, self.settings.max_tokens)

    def check(
        self,
        schema: GraphQLSchema,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        *,
        providers: Mapping[str, str],
    ) -> list[GraphQLError]:
        """Every limit this request breaks (none: it may run). Only the limits: other
        problems of the document are left to execution, which reports them."""
        static, plan = self._plans(schema, query, operation_name)
        if static:
            return list(static)
        return self.cost_errors(plan, variables, providers=providers)

    def plan(
        self, schema: GraphQLSchema, query: str, operation_name: str | None
    ) -> CostPlan | None:
        """The cost plan of a document that passed the limit rules (kept per document)."""
        return self._plans(schema, query, operation_name)[1]

    def _plan(
        self, schema: GraphQLSchema, query: str, operation_name: str | None
    ) -> tuple[tuple[GraphQLError, ...], CostPlan | None]:
        document = self.parse(query)
        if isinstance(document, GraphQLError):
            too_many = (document.extensions or {}).get("code") == CODES["max_tokens"]
            return ((document,) if too_many else ()), None
        errors = validate(schema, document, self.rules)
        if errors:
            return tuple(errors), None
        return (), plan_cost(schema, document, operation_name)

    def cost_errors(
        self,
        plan: CostPlan | None,
        variables: dict[str, Any] | None,
        *,
        providers: Mapping[str, str],
    ) -> list[GraphQLError]:
        if plan is None:
            return []
        errors: list[GraphQLError] = []
        max_ids = self.settings.max_node_ids
        for name, count in plan.id_counts(variables):
            if count > max_ids:
                errors.append(
                    _limit_error(
                        f"{name} was given {count} ids; the limit is {max_ids} per request",
                        "max_node_ids",
                        maxIds=max_ids,
                        count=count,
                    )
                )
        cost = plan.cost(variables, providers)
        if cost > self.settings.max_cost:
            limit = self.settings.max_cost
            errors.append(
                _limit_error(
                    f"the operation could cost up to {cost} upstream provider calls; the "
                    f"limit is {limit}: split it into smaller requests",
                    "max_cost",
                    cost=cost,
                    maxCost=limit,
                )
            )
        return errors


def recode_parse_error(error: GraphQLError, limit: int) -> GraphQLError:
    """The token limit's error with its code; any other parse error as it is."""
    # graphql-core's wording, the one way to tell its token limit from other syntax errors.
    if error.message.endswith(f"Document contains more than {limit} tokens. Parsing aborted."):
        return _limit_error(
            f"the document has more than {limit} tokens (comments count too); "
            "send a smaller document",
            "max_tokens",
            error,
            maxTokens=limit,
        )
    return error


class LimitedParserCache(ParserCache):
    """``ParserCache`` whose failed parse becomes a request error in every transport.

    Strawberry's ``ParserCache`` parses in its hook, where an error escapes
    ``Schema.subscribe`` (a WebSocket client sees its operation completed without a
    word). Here the failed parse is left to Strawberry's own parse, which reports it;
    afterwards the token limit's error gets its code.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield
        limit = context.parse_options.get("max_tokens")
        if context.graphql_document is None and context.pre_execution_errors and limit:
            for error in context.pre_execution_errors:
                recoded = recode_parse_error(error, limit)
                if recoded is not error:
                    # Strawberry already holds this error object for its result: give
                    # it the code and message in place.
                    error.message = recoded.message
                    error.extensions = recoded.extensions


@lru_cache(maxsize=16)
def request_limits(settings: LimitSettings) -> RequestLimits:
    """The one ``RequestLimits`` of a settings value (settings are frozen, hashable)."""
    return RequestLimits(settings)


def limits_for(context: Any) -> RequestLimits:
    """The limits of the server a GraphQL context belongs to (defaults without one)."""
    settings = getattr(getattr(context, "services", None), "settings", None)
    return request_limits(settings.limits if settings is not None else LimitSettings())


class TokenLimiter(MaxTokensLimiter):
    """Strawberry's ``MaxTokensLimiter`` with the limit of the request's server."""

    def __init__(self) -> None:
        super().__init__(max_token_count=LimitSettings().max_tokens)

    def on_operation(self) -> Iterator[None]:
        self.max_token_count = limits_for(self.execution_context.context).settings.max_tokens
        yield from super().on_operation()


class LimitRules(AddValidationRules):
    """Strawberry's ``AddValidationRules`` with the limit rules of the request's server.

    Must come before ``ValidationCache``, which runs (and caches by) the rules added.
    """

    def __init__(self) -> None:
        super().__init__([])

    def on_operation(self) -> Iterator[None]:
        self.validation_rules = list(limits_for(self.execution_context.context).rules)
        yield from super().on_operation()


class CostLimiter(SchemaExtension):
    """Refuses an operation over ``max_cost`` or ``max_node_ids``, priced with the
    request's variables and tenant, after validation and before execution.

    Must come after ``ValidationCache`` (it reads the validation errors; with none it
    validates itself), so a document that does not validate is not priced. It sets
    the errors in ``on_validate``, before Strawberry looks at them: an error raised
    from a hook would escape ``Schema.subscribe``.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            errors = context.pre_execution_errors
            if errors is None:
                errors = validate_document(
                    context.schema._schema, document, context.validation_rules
                )
            if not errors and context.query is not None:
                limits = limits_for(context.context)
                plan = limits.plan(context.schema._schema, context.query, context.operation_name)
                errors = limits.cost_errors(
                    plan, context.variables, providers=_providers_of_context(context.context)
                )
            # A new list: ValidationCache's list is shared by every request.
            context.pre_execution_errors = list(errors)
        yield


LIMIT_EXTENSIONS: Final[tuple[type[SchemaExtension], ...]] = (
    TokenLimiter,
    LimitedParserCache,
    LimitRules,
)
"""The limits' extensions that run before ``ValidationCache``; ``CostLimiter`` after it."""


def _providers_of_context(context: Any) -> Mapping[str, str]:
    """The connections of the tenant an ordergraph ``Context`` acts for (none without)."""
    services = getattr(context, "services", None)
    tenant = getattr(context, "tenant", None)
    if services is None or tenant is None:
        return {}
    return tenant_providers(services.connections, tenant)


def tenant_providers(connections: Any, tenant: str) -> dict[str, str]:
    """Connection id -> provider name of ``tenant``'s connections in a registry."""
    return {c.id: c.provider_name.value for c in connections.of_tenant(tenant)}
