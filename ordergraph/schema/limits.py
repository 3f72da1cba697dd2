"""Abuse limits: size, tokens, depth, aliases, fields, upstream-call cost, ids, introspection.

Each limit refuses a whole operation before it runs: no store read and no provider
call, a GraphQL request error (no ``data``) with ``extensions.code``:

================================  ==========================  ==========================
limit (``[limits]``)              code                        enforced by
================================  ==========================  ==========================
``max_document_bytes``            ``DOCUMENT_TOO_LARGE``      ``document_size_error``,
                                                              before any parse
``max_tokens``                    ``TOO_MANY_TOKENS``         ``TokenLimiter`` (the
                                                              parser stops at the limit)
``max_depth``                     ``QUERY_TOO_DEEP``          ``limit_rules``
``max_aliases``                   ``TOO_MANY_ALIASES``        ``limit_rules``
``max_fields``                    ``TOO_MANY_FIELDS``         ``limit_rules``
``introspection = false``         ``INTROSPECTION_DISABLED``  graphql-core's
                                                              ``NoSchemaIntrospection``
``max_cost``                      ``QUERY_TOO_COSTLY``        ``CostLimiter`` (below),
                                                              ``ordergraph.schema.cost``
``max_node_ids``                  ``TOO_MANY_IDS``            ``CostLimiter``
(an id that does not decode)      ``INVALID_ID``              ``CostLimiter``
================================  ==========================  ==========================

Every check is linear in the document (``ordergraph.schema.document_walk``): depth,
aliases and fields are counted with fragments expanded, but each fragment is measured
once. The limit rules run alone before graphql-core's own validation
(``LimitedValidationCache``), so a document over a limit is refused before anything
walks it further.

Over WebSocket a refusal is an ``error`` message for the operation (a document over
the size limit too: ``ordergraph.api.ws_messages`` checks it first), except the token
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

The rule classes are built once per settings value, not per request: the validation
cache keys on the rule classes, and classes made per request would miss it every time
(``tests/api/test_limits.py::test_validation_cache_hits_with_the_limit_rules``). The
parse, validation and plan caches are bounded by memory, not by entries alone
(``ordergraph.schema.document_cache``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    parse,
    validate,
)
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import validate_document

from ordergraph.identity_memo import IdentityMemo
from ordergraph.schema.cost import ConnectionCost, CostPlan, plan_cost
from ordergraph.schema.document_cache import DocumentCache, document_weight
from ordergraph.schema.limit_rules import CODES, limit_error, limit_rules
from ordergraph.settings import LimitSettings

__all__ = [
    "CODES",
    "LIMIT_EXTENSIONS",
    "CostLimiter",
    "LimitRules",
    "LimitedParserCache",
    "LimitedValidationCache",
    "RequestLimits",
    "TokenLimiter",
    "document_size_error",
    "limits_for",
    "recode_parse_error",
    "request_limits",
    "tenant_providers",
]


def document_size_error(query: str, limit: int) -> GraphQLError | None:
    """The error of a document over ``limit`` bytes (UTF-8), found without parsing it."""
    # A character is 1 to 4 bytes: most documents are decided without encoding them.
    if len(query) <= limit // 4:
        return None
    size = len(query) if len(query) > limit else len(query.encode("utf-8", "surrogatepass"))
    if size <= limit:
        return None
    return limit_error(
        f"the document is larger than {limit} bytes; send a smaller document",
        "max_document_bytes",
        maxDocumentBytes=limit,
    )


def _recode_aborted(errors: list[GraphQLError], settings: LimitSettings) -> list[GraphQLError]:
    """graphql-core gives up on fragments nested deeper than its recursion goes (a
    chain of a few hundred) with a bare "Validation aborted.": a refusal, given a code."""
    return [
        limit_error(
            "the document's fragments are nested too deeply to be validated",
            "max_depth",
            maxDepth=settings.max_depth,
        )
        if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted."
        else error
        for error in errors
    ]


_Static = tuple[tuple[GraphQLError, ...], CostPlan | None, DocumentNode | None]


class RequestLimits:
    """The limits of one ``LimitSettings`` value: its rules, checks and cost plans."""

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self.rules: tuple[type[ASTValidationRule], ...] = limit_rules(settings)
        # Plans keep their document's tree alive (argument nodes): weighed by tokens.
        self._plans: DocumentCache[_Static] = DocumentCache()

    # --- checks ----------------------------------------------------------------------

    def size_error(self, query: str) -> GraphQLError | None:
        return document_size_error(query, self.settings.max_document_bytes)

    def parse(self, query: str) -> DocumentNode | GraphQLError:
        """The document, or the error that ends it: too large (never parsed), too many
        tokens (the parser stops there), or a syntax error."""
        too_large = self.size_error(query)
        if too_large is not None:
            return too_large
        try:
            return parse(query, max_tokens=self.settings.max_tokens)
        except GraphQLSyntaxError as error:
            return self.recode_parse_error(error)
        except GraphQLError as error:
            return error
        except RecursionError:
            # graphql-core's parser recurses per nesting level of a document.
            return GraphQLError("the document is nested too deeply to be read")

    def recode_parse_error(self, error: GraphQLError) -> GraphQLError:
        return recode_parse_error(error, self.settings.max_tokens)

    def check(
        self,
        schema: GraphQLSchema,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        *,
        providers: Mapping[str, ConnectionCost],
    ) -> list[GraphQLError]:
        """Every limit this request breaks (none: it may run). Only the limits: other
        problems of the document are left to execution, which reports them."""
        static, plan, _ = self._static(schema, query, operation_name)
        if static:
            return list(static)
        return self.cost_errors(plan, variables, providers=providers)

    def plan(
        self, schema: GraphQLSchema, query: str, operation_name: str | None
    ) -> CostPlan | None:
        """The cost plan of a document that passed the limit rules (kept per document)."""
        return self._static(schema, query, operation_name)[1]

    def _static(self, schema: GraphQLSchema, query: str, operation_name: str | None) -> _Static:
        too_large = self.size_error(query)
        if too_large is not None:
            # Never computed from nor kept by any cache.
            return (too_large,), None, None
        return self._plans.get_or_compute(
            (query, operation_name, schema),
            lambda: self._plan(schema, query, operation_name),
            lambda static: document_weight(query, static[2]),
        )

    def _plan(self, schema: GraphQLSchema, query: str, operation_name: str | None) -> _Static:
        document = self.parse(query)
        if isinstance(document, GraphQLError):
            code = (document.extensions or {}).get("code")
            over = code in (CODES["max_tokens"], CODES["max_document_bytes"])
            return ((document,) if over else ()), None, None
        errors = _recode_aborted(validate(schema, document, self.rules), self.settings)
        if errors:
            return tuple(errors), None, document
        return (), plan_cost(schema, document, operation_name), document

    def cost_errors(
        self,
        plan: CostPlan | None,
        variables: dict[str, Any] | None,
        *,
        providers: Mapping[str, ConnectionCost],
    ) -> list[GraphQLError]:
        """The errors of the ids and the cost of one request of ``plan``."""
        if plan is None:
            return []
        undecodable = plan.undecodable_id(variables)
        if undecodable is not None:
            ids, index = undecodable
            at = f"{ids.argument}[{index}]" if ids.argument == "ids" else ids.argument
            # Refused here, as its cost could not be known; the id itself is not
            # repeated (it may be anything the client sent).
            return [
                limit_error(
                    f"{ids.field}: {at} is not the id of any object of this API",
                    "ids",
                    field=ids.field,
                    argument=ids.argument,
                    index=index,
                )
            ]
        errors: list[GraphQLError] = []
        max_ids = self.settings.max_node_ids
        count = plan.id_count(variables)
        if count > max_ids:
            errors.append(
                limit_error(
                    f"the operation looks up {count} ids; the limit is {max_ids} per request",
                    "max_node_ids",
                    maxIds=max_ids,
                    count=count,
                )
            )
        cost = plan.cost(variables, providers)
        if cost > self.settings.max_cost:
            limit = self.settings.max_cost
            errors.append(
                limit_error(
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
        return limit_error(
            f"the document has more than {limit} tokens (comments count too); "
            "send a smaller document",
            "max_tokens",
            error,
            maxTokens=limit,
        )
    return error


_TOO_LARGE_TO_PARSE: Final = 0
"""The token budget that makes Strawberry's own parse stop at the first token."""


class LimitedParserCache(SchemaExtension):
    """Strawberry's ``ParserCache`` with the document size limit, a cache bounded by
    memory, and failed parses reported as request errors in every transport.

    Strawberry's ``ParserCache`` parses in its hook, where an error escapes
    ``Schema.subscribe`` (a WebSocket client sees its operation completed without a
    word). Here a failed parse is left to Strawberry's own parse, which reports it;
    afterwards the size and token limits' errors get their codes. A document over
    ``max_document_bytes`` is not parsed at all: Strawberry's parse is given a budget
    of no token, so it stops at once, and its error becomes ``DOCUMENT_TOO_LARGE``.
    """

    # One per process, shared by every request (as Strawberry's module-level caches).
    _cache: DocumentCache[DocumentNode] = DocumentCache()

    @classmethod
    def parsed(cls, query: str, options: Mapping[str, Any]) -> DocumentNode:
        """``query`` parsed with ``options`` (Strawberry's parse options), from the cache."""
        return cls._cache.get_or_compute(
            (query, tuple(sorted(options.items()))),
            lambda: parse(query, **options),
            lambda document: document_weight(query, document),
        )

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None or not context.query:
            yield  # a document given already parsed, or none: nothing to parse here
            return
        limits = limits_for(context.context)
        query = context.query
        too_large = limits.size_error(query)
        if too_large is not None:
            context.graphql_document = None
            context.parse_options["max_tokens"] = _TOO_LARGE_TO_PARSE
        else:
            try:
                context.graphql_document = self.parsed(query, context.parse_options)
            except (GraphQLError, RecursionError):
                context.graphql_document = None
        yield
        if context.graphql_document is not None or not context.pre_execution_errors:
            return
        for error in context.pre_execution_errors:
            recoded = (
                too_large
                if too_large is not None
                else recode_parse_error(error, limits.settings.max_tokens)
            )
            if recoded is not error:
                # Strawberry already holds this error object for its result: give it
                # the code and message in place.
                error.message = recoded.message
                error.extensions = recoded.extensions
                if too_large is not None:
                    error.locations = error.positions = error.source = error.nodes = None


class LimitedValidationCache(SchemaExtension):
    """Strawberry's ``ValidationCache``, but the limit rules run first, alone, and the
    cache is bounded by memory.

    A document over a limit is refused by the limit rules, which are linear in it,
    before graphql-core's own rules walk it; only a document within the limits (at
    most ``max_fields`` fields, however its fragments expand) is validated in full.
    Must come after ``LimitRules``, whose rules it finds in the context.
    """

    # One per process, shared by every request (as Strawberry's module-level caches).
    _cache: DocumentCache[list[GraphQLError]] = DocumentCache()

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        query = context.query
        # Keyed by the document's text: without one, Strawberry validates uncached.
        if document is not None and query and context.pre_execution_errors is None:
            context.pre_execution_errors = self.validated(
                context.schema._schema,
                query,
                document,
                tuple(context.validation_rules),
                limits_for(context.context),
            )
        yield

    @classmethod
    def validated(
        cls,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
        limits: RequestLimits,
    ) -> list[GraphQLError]:
        """The validation errors of ``document`` (the text ``query``), from the cache: the
        limit rules alone first, then all of ``rules``. The list is shared: copy it to
        change it."""

        def validated() -> list[GraphQLError]:
            over = validate(schema, document, limits.rules)
            errors = over or validate_document(schema, document, rules)
            return _recode_aborted(errors, limits.settings)

        return cls._cache.get_or_compute(
            (query, rules, schema),
            validated,
            # Errors keep their nodes, and so the document's tree, alive.
            lambda errors: document_weight(query, document if errors else None),
        )


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

    Must come before ``LimitedValidationCache``, which runs (and caches by) the rules
    added.
    """

    def __init__(self) -> None:
        super().__init__([])

    def on_operation(self) -> Iterator[None]:
        self.validation_rules = list(limits_for(self.execution_context.context).rules)
        yield from super().on_operation()


class CostLimiter(SchemaExtension):
    """Refuses an operation over ``max_cost`` or ``max_node_ids``, priced with the
    request's variables and tenant, after validation and before execution.

    Must come after ``LimitedValidationCache`` (it reads the validation errors; with
    none it validates itself), so a document that does not validate is not priced. It sets
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
            # A new list: the validation cache's list is shared by every request.
            context.pre_execution_errors = list(errors)
        yield


LIMIT_EXTENSIONS: Final[tuple[type[SchemaExtension], ...]] = (
    TokenLimiter,
    LimitedParserCache,
    LimitRules,
    LimitedValidationCache,
    CostLimiter,
)
"""The limits' extensions, in the order they must run: the token budget before the
parse, the limit rules before validation (whose cache key they are part of), the
cost after validation. They replace Strawberry's ``ParserCache`` and
``ValidationCache``."""


def _providers_of_context(context: Any) -> Mapping[str, ConnectionCost]:
    """The connections of the tenant an ordergraph ``Context`` acts for (none without)."""
    services = getattr(context, "services", None)
    tenant = getattr(context, "tenant", None)
    if services is None or tenant is None:
        return {}
    return tenant_providers(services.connections, tenant)


def tenant_providers(connections: Any, tenant: str) -> Mapping[str, ConnectionCost]:
    """Connection id -> what it costs, of ``tenant``'s connections in a registry.

    Asked by every request; worked out once per tuple the registry hands out for the
    tenant (a new one after every change of its connections).
    """
    of_tenant = connections.of_tenant(tenant)
    return _TENANT_COSTS.get(
        of_tenant, lambda: MappingProxyType({c.id: ConnectionCost.of(c) for c in of_tenant})
    )


_TENANT_COSTS: IdentityMemo[Mapping[str, ConnectionCost]] = IdentityMemo(4096)
