"""GraphQL over HTTP on ``GET``/``POST /graphql``, as the GraphQL-over-HTTP spec says.

Why not Strawberry's aiohttp view: it answers ``application/json`` only, with 200 for
request errors and its own plain-text bodies for malformed requests. Clients that send
``Accept: application/graphql-response+json`` are owed 400 for a document that does not
parse or validate, and every client is owed a GraphQL-shaped error body. Execution is
still Strawberry's (``schema.execute`` with its parser and validation caches and error
masking); only the transport is ours. WebSocket upgrades stay with Strawberry's view.

Status codes (see ``tests/api/test_http_transport.py``):

============================================  ==============  ======================
situation                                     application/    application/graphql-
                                              json            response+json
============================================  ==============  ======================
executed (data, maybe field errors)           200             200
parse / validation / variable coercion error  200             400 (no ``data``)
over a limit (``ordergraph.schema.limits``)   200             400 (no ``data``)
unknown operation name                        200             400
persisted document not found (APQ, id)        200             404 (Apollo's link
                                                              stops APQ after a 400)
persisted query version not supported         200             400
persisted hash mismatch, trusted-only refusal 400             400
malformed JSON, wrong parameter types,        400             400
missing query, batched request, subscription
mutation over GET                             405 ``Allow: POST``
method other than GET/POST                    405 ``Allow: GET, POST``
no or unknown API key                         401 ``WWW-Authenticate: Bearer``
key lacks the operation's scope (read/write)  403 ``FORBIDDEN``
Accept names neither type                     406 (body as ``application/json``)
body larger than ``server.max_body_bytes``    413
Content-Type not ``application/json``         415
unexpected failure in the transport           500 (generic message)
============================================  ==============  ======================

A document over a limit (size, tokens, depth, aliases, fields, cost, ids,
introspection) is refused before the response cache is looked at: the lookup reads the
store's data version, and a refused request touches neither the store nor a provider.
One over ``limits.max_document_bytes`` is refused before it is parsed, as a limit's
request error like the token limit's (200/400, ``DOCUMENT_TOO_LARGE``), not 413: the
HTTP request was within ``server.max_body_bytes`` and well formed, and a GET has no
body to be too large.

``GET /graphql`` from a browser (``Accept`` names ``text/html``) without ``query`` serves
GraphiQL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import strawberry
from aiohttp import web
from graphql import GraphQLError, OperationType
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType as StrawberryOperation

from ordergraph.api import jsontext
from ordergraph.api.documents import DocumentAnalyzer, DocumentFacts
from ordergraph.api.media import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, accepts_html, negotiate
from ordergraph.api.persisted import PersistedDocuments
from ordergraph.api.prepared import PreparedKey, PreparedRequest, PreparedRequests
from ordergraph.api.request import (
    DOCUMENT_ID_PARAMETERS,
    GraphQLRequest,
    RequestRejectedError,
    parse_post,
    read_get,
    read_post_body,
)
from ordergraph.api.response_cache import CacheLookup, ResponseCache, etag_matches
from ordergraph.auth import Principal, principal_from_headers
from ordergraph.resolvers.context import Context
from ordergraph.schema.cost import ConnectionCost
from ordergraph.schema.limits import request_limits, tenant_providers
from ordergraph.services import Services

__all__ = ["CACHE_HEADER", "GraphQLHTTPHandler", "encode_json", "encode_json_bytes"]

logger = logging.getLogger(__name__)

CACHE_HEADER: Final = "X-Ordergraph-Cache"
"""``hit`` (a 304 to ``If-None-Match`` too); ``miss`` (looked up, executed); ``bypass``
(not looked up: not a query, a field the cache cannot cover, ``Cache-Control:
no-cache``, or the cache is off)."""

_POST_ONLY: Final = {"Allow": "POST"}
_METHODS: Final = {"Allow": "GET, POST"}
_GET_TYPES: Final = frozenset({StrawberryOperation.QUERY})
_POST_TYPES: Final = frozenset({StrawberryOperation.QUERY, StrawberryOperation.MUTATION})
# A GET naming its document one of these ways is a GraphQL request, never GraphiQL.
_DOCUMENT_PARAMETERS: Final = ("query", "extensions", *DOCUMENT_ID_PARAMETERS)

IdeRenderer = Callable[[web.Request], Awaitable[web.StreamResponse]]


def encode_json(value: Any) -> str:
    """Compact JSON text (a ``str``: WebSocket transports need text, not bytes)."""
    return jsontext.dumps(value).decode()


def encode_json_bytes(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes: what an HTTP body (and the response cache) holds."""
    return jsontext.dumps(value)


def _error_body(
    message: str, code: str, extensions: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]}


def _respond(
    body: Mapping[str, Any] | str | bytes,
    *,
    status: int,
    media_type: str,
    headers: Mapping[str, str] | None = None,
    response: web.Response | None = None,
) -> web.Response:
    """Fill ``response`` (the one resolvers saw, so headers they set stay) or a new one."""
    response = response if response is not None else web.Response()
    response.set_status(status)
    if isinstance(body, bytes):
        response.body = body
    else:
        response.text = body if isinstance(body, str) else encode_json(body)
    response.content_type = media_type
    response.charset = "utf-8"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _rejection(rejected: RequestRejectedError, media_type: str) -> web.Response:
    return _respond(
        _error_body(rejected.message, rejected.code, rejected.extensions),
        status=rejected.json_status if media_type == APPLICATION_JSON else rejected.status,
        media_type=media_type,
        headers=rejected.headers,
    )


def _is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never started: the response has no ``data`` entry.

    Parse and validation errors come back as ``PreExecutionError``; variable coercion
    fails inside graphql-core's ``execute`` with ``data`` None and errors without a
    path (a field error always has one).
    """
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(not e.path for e in errors)


def _result_body(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if not _is_request_error(result):
        body["data"] = result.data
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return body


def _wants_no_cache(request: web.Request) -> tuple[bool, bool]:
    """(skip the lookup, skip storing) from ``Cache-Control``/``Pragma``."""
    headers = request.headers
    if "Cache-Control" not in headers and "Pragma" not in headers:
        return False, False  # what a poller sends: nothing to take apart
    directives = {
        d.strip().lower().replace(" ", "")
        for d in request.headers.get("Cache-Control", "").split(",")
        if d.strip()
    }
    no_store = "no-store" in directives
    no_cache = no_store or "no-cache" in directives or "max-age=0" in directives
    if request.headers.get("Pragma", "").strip().lower() == "no-cache":
        no_cache = True
    return no_cache, no_store


def _check_scope(principal: Principal, facts: DocumentFacts) -> None:
    """403 for an operation the key may not run (the schema's ``OperationScopes``
    refuses it too; here it gets an HTTP status of its own, like 401)."""
    if facts.operation is None:
        return  # not one operation (a parse error, say): execution reports it
    for scope in sorted(facts.scopes):
        if not principal.allows(scope):
            raise RequestRejectedError(
                403,
                f"a {facts.operation.value} needs the '{scope}' scope, which this API key "
                "does not have",
                code="FORBIDDEN",
                extensions={"requiredScope": str(scope)},
            )


class GraphQLHTTPHandler:
    """``GET``/``POST /graphql`` for one schema over ``services``."""

    def __init__(
        self,
        services: Services,
        schema: strawberry.Schema,
        *,
        render_ide: IdeRenderer | None = None,
        response_cache: ResponseCache | None = None,
    ) -> None:
        self.services = services
        self.schema = schema
        self.render_ide = render_ide
        self.response_cache = response_cache
        self.limits = request_limits(services.settings.limits)
        self.documents = DocumentAnalyzer(
            schema,
            max_tokens=self.limits.settings.max_tokens,
            max_document_bytes=self.limits.settings.max_document_bytes,
        )
        self.max_body_bytes = services.settings.server.max_body_bytes
        self.prepared = PreparedRequests()
        # Reads and verifies the trusted-documents manifest: a bad one is a ConfigError
        # while the app is built, before anything is served.
        self.persisted = PersistedDocuments(
            services.settings.persisted,
            services.cache,
            max_document_bytes=self.limits.settings.max_document_bytes,
        )

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle(request)
        except Exception:
            # Never a stack trace or an internal path to the client; the log has it.
            logger.exception("GraphQL HTTP request failed")
            return _respond(
                _error_body("Internal server error.", "INTERNAL_SERVER_ERROR"),
                status=500,
                media_type=APPLICATION_JSON,
            )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "POST"):
            return _respond(
                _error_body(f"{request.method} is not supported: use GET or POST", "BAD_METHOD"),
                status=405,
                media_type=APPLICATION_JSON,
                headers=_METHODS,
            )
        accept = request.headers.get("Accept")
        if (
            request.method == "GET"
            and not any(name in request.query for name in _DOCUMENT_PARAMETERS)
            and self.render_ide is not None
            and accepts_html(accept)
        ):
            return await self.render_ide(request)
        media_type = negotiate(accept)
        if media_type is None:
            message = f"cannot answer in any type Accept allows: accept {GRAPHQL_RESPONSE_JSON}"
            message += f" or {APPLICATION_JSON}"
            return _respond(
                _error_body(message, "NOT_ACCEPTABLE"), status=406, media_type=APPLICATION_JSON
            )
        principal = principal_from_headers(self.services.settings, request.headers)
        if principal is None:
            return _respond(
                _error_body(
                    "authentication required: send 'Authorization: Bearer <api key>'",
                    "UNAUTHENTICATED",
                ),
                status=401,
                media_type=media_type,
                headers={"WWW-Authenticate": 'Bearer realm="ordergraph"'},
            )
        try:
            raw = (
                request.rel_url.raw_query_string  # as sent: equal bytes, equal parameters
                if request.method == "GET"
                else await read_post_body(request, max_body_bytes=self.max_body_bytes)
            )
            key: PreparedKey = (request.method, principal.tenant, principal.scopes, raw)
            providers = tenant_providers(self.services.connections, principal.tenant)
            prepared = self.prepared.get(key, providers)
            if prepared is None:
                outcome = await self._prepare(request, principal, raw, providers, media_type)
                if isinstance(outcome, web.Response):
                    return outcome
                prepared, memoizable = outcome
                if memoizable:
                    self.prepared.put(key, prepared)
        except RequestRejectedError as rejected:
            return _rejection(rejected, media_type)
        return await self._answer(request, principal, prepared, media_type)

    async def _prepare(
        self,
        request: web.Request,
        principal: Principal,
        raw: bytes | str,
        providers: Mapping[str, ConnectionCost],
        media_type: str,
    ) -> tuple[PreparedRequest, bool] | web.Response:
        """Read and check a request (RequestRejectedError, or an over-limit answer);
        whether the outcome may be kept for the same bytes (``api.prepared``)."""
        received = read_get(request.query) if isinstance(raw, str) else parse_post(raw)
        # A persisted document is checked below exactly like a sent one.
        params = self.persisted.plain(received)
        registration = None
        if params is None:
            resolved = await self.persisted.resolve(principal.tenant, received)
            params, registration = resolved.request, resolved.registration
        # Before anything reads the document (DOCUMENT_TOO_LARGE: a limit's error).
        too_large = self.limits.size_error(params.query)
        if too_large is not None:
            return self._over_limit_response([too_large], media_type)
        facts = self._check_operation(request, params)
        _check_scope(principal, facts)
        over = self.limits.check(
            self.schema._schema,
            params.query,
            params.operation_name,
            params.variables,
            providers=providers,
        )
        if over:
            return self._over_limit_response(over, media_type)
        if registration is not None and facts.operation is not None:
            # Kept only once within every limit and naming an operation (so it parsed);
            # one that then fails validation is harmless: it is checked on every run.
            await self.persisted.register(registration)
        prepared = PreparedRequest(params, facts, providers)
        return prepared, registration is None and not received.names_persisted

    def _over_limit_response(self, errors: list[GraphQLError], media_type: str) -> web.Response:
        return _respond(
            {"errors": [error.formatted for error in errors]},
            status=400 if media_type == GRAPHQL_RESPONSE_JSON else 200,
            media_type=media_type,
            headers={CACHE_HEADER: "bypass"},
        )

    def _check_operation(self, request: web.Request, params: GraphQLRequest) -> DocumentFacts:
        facts = self.documents.facts(params.query, params.operation_name)
        if facts.operation is OperationType.MUTATION and request.method == "GET":
            raise RequestRejectedError(
                405,
                "mutations are not allowed over GET: use POST",
                code="BAD_METHOD",
                headers=_POST_ONLY,
            )
        if facts.operation is OperationType.SUBSCRIPTION:
            raise RequestRejectedError(
                400,
                "subscriptions are served over WebSocket (graphql-transport-ws) on /graphql, "
                "not over HTTP",
                code="SUBSCRIPTION_OVER_HTTP",
            )
        return facts

    async def _answer(
        self,
        request: web.Request,
        principal: Principal,
        prepared: PreparedRequest,
        media_type: str,
    ) -> web.Response:
        params, facts = prepared.params, prepared.facts
        # Only queries whose every field the data version covers are looked up at all.
        cache = self.response_cache
        if facts.operation is not OperationType.QUERY or facts.uncacheable:
            cache = None
        skip_lookup, skip_store = _wants_no_cache(request)
        tenant = principal.tenant
        lookup: CacheLookup | None = None
        if cache is not None and not (skip_lookup and skip_store):
            lookup = await cache.lookup(
                tenant, params, scopes=principal.scopes, earlier=prepared.lookup
            )
            prepared.lookup = lookup
        state = "bypass"
        if cache is not None and lookup is not None and not skip_lookup:
            answer = await self._cached_answer(request, cache, lookup, media_type)
            if answer is not None:
                return answer
            state = "miss"

        response = web.Response()
        result = await self._execute(request, principal, params, response)
        if isinstance(result, RequestRejectedError):
            return _rejection(result, media_type)
        body = encode_json_bytes(_result_body(result))
        status = 400 if media_type == GRAPHQL_RESPONSE_JSON and _is_request_error(result) else 200
        if self.response_cache is not None and facts.operation is OperationType.MUTATION:
            await self.response_cache.invalidate(tenant)
        headers = {CACHE_HEADER: state}
        if cache is not None and lookup is not None and not skip_store and not result.errors:
            await cache.put(lookup.key, body)
            headers["ETag"] = lookup.etag
        return _respond(
            body,
            status=status,
            media_type=media_type,
            headers=headers,
            response=response,
        )

    async def _cached_answer(
        self, request: web.Request, cache: ResponseCache, lookup: CacheLookup, media_type: str
    ) -> web.Response | None:
        """304 when the client holds this answer (its ETag names the key, so no entry
        needs reading), the stored body as it is on a hit, None on a miss."""
        if etag_matches(request.headers.get("If-None-Match"), lookup.etag):
            return web.Response(status=304, headers={"ETag": lookup.etag, CACHE_HEADER: "hit"})
        body = await cache.get(lookup.key)
        if body is None:
            return None
        return web.Response(
            body=body,
            content_type=media_type,
            charset="utf-8",
            headers={"ETag": lookup.etag, CACHE_HEADER: "hit"},
        )

    async def _execute(
        self,
        request: web.Request,
        principal: Principal,
        params: GraphQLRequest,
        response: web.Response,
    ) -> ExecutionResult | RequestRejectedError:
        context = Context(
            services=self.services,
            tenant=principal.tenant,
            scopes=principal.scopes,
            request=request,
            response=response,
        )
        try:
            return await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=_GET_TYPES if request.method == "GET" else _POST_TYPES,
                operation_extensions=params.extensions,
            )
        except CannotGetOperationTypeError as exc:
            # A GraphQL request error (no operation to run), reported like a
            # validation error: 400 or 200 depending on the media type.
            error = GraphQLError(
                exc.as_http_error_reason(), extensions={"code": "OPERATION_RESOLUTION_FAILURE"}
            )
            return PreExecutionError(data=None, errors=[error])
        except InvalidOperationTypeError as exc:
            # _check_operation refuses these first; this only guards against drift.
            return RequestRejectedError(
                405 if request.method == "GET" else 400,
                exc.as_http_error_reason(request.method),
                code="BAD_METHOD",
                headers=_POST_ONLY if request.method == "GET" else None,
            )
