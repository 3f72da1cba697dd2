"""Reading a GraphQL-over-HTTP request: the body or query string, checked for shape.

Everything wrong with the *HTTP* request (a body that is too large, not JSON, of the
wrong content type, or a parameter of the wrong type) is a ``RequestRejectedError`` with
the status the spec gives it, raised before any GraphQL work. What is wrong with the
*GraphQL* document itself (syntax, validation) is left to execution, whose errors the
client sees as GraphQL errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

__all__ = [
    "DOCUMENT_ID_PARAMETERS",
    "GraphQLRequest",
    "ReceivedRequest",
    "RequestRejectedError",
    "from_params",
    "parse_post",
    "read_get",
    "read_post_body",
]

_JSON_TYPES: Final = frozenset({"application/json"})
_UTF8: Final = frozenset({"utf-8", "utf8"})
_CHUNK: Final = 64 * 1024


class RequestRejectedError(Exception):
    """The HTTP request cannot be taken; answered with ``status`` and a GraphQL error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
        json_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        # The status when answering ``application/json``, where it differs (Apollo's
        # persisted-query link reads PERSISTED_QUERY_NOT_FOUND from a 200).
        self.json_status = status if json_status is None else json_status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        # Besides ``code``, in the error's ``extensions`` (e.g. ``requiredScope``).
        self.extensions = dict(extensions or {})


def bad_request(message: str) -> RequestRejectedError:
    return RequestRejectedError(400, message, code="BAD_REQUEST")


# Parameters naming a persisted document by id: ``documentId`` (the GraphQL-over-HTTP
# persisted documents proposal) and ``doc_id`` (what Relay's documented network layer
# sends). A bare ``id`` is not taken: too generic a name to claim for this.
DOCUMENT_ID_PARAMETERS: Final = ("documentId", "doc_id")


@dataclass(frozen=True)
class GraphQLRequest:
    """The four GraphQL-over-HTTP parameters, with the types the spec requires."""

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """The parameters as sent: the document itself, or (and) a reference to a persisted
    one (``extensions.persistedQuery`` or a document id) that ``api.persisted`` resolves."""

    query: str | None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None
    document_id: str | None = None

    @property
    def names_persisted(self) -> bool:
        return self.document_id is not None or (
            self.extensions is not None and "persistedQuery" in self.extensions
        )


def _optional_map(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"'{name}' must be a JSON object (map) or null")
    return value


def _check_unicode(params: Mapping[str, Any]) -> None:
    """JSON's ``\\ud800`` escapes decode to lone surrogates, which are not Unicode text:
    every later ``encode()`` (cache keys, logs, the store) would fail on them."""
    try:
        json.dumps(params, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("the request holds a lone UTF-16 surrogate (\\uD800-\\uDFFF)") from None


def _document_id(params: Mapping[str, Any]) -> str | None:
    named = [name for name in DOCUMENT_ID_PARAMETERS if params.get(name) is not None]
    if not named:
        return None
    if len(named) > 1:
        raise bad_request(f"send one of {' or '.join(repr(n) for n in named)}, not both")
    value = params[named[0]]
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"'{named[0]}' must be a non-empty string")
    return value


def from_params(params: Mapping[str, Any], *, may_hold_escapes: bool = True) -> ReceivedRequest:
    """Check the parameters' types (already JSON-decoded); unknown keys are ignored.

    ``may_hold_escapes=False``: the JSON text had no ``\\u`` escape, the only way to a
    lone surrogate, so the (costly) re-encoding check is skipped.
    """
    if may_hold_escapes:
        _check_unicode(params)
    extensions = _optional_map(params, "extensions")
    document_id = _document_id(params)
    query = params.get("query")
    if query is None:
        if document_id is None and (extensions is None or "persistedQuery" not in extensions):
            raise bad_request("missing 'query': send the GraphQL document as a string")
    elif not isinstance(query, str):
        raise bad_request("'query' must be a string")
    elif not query.strip():
        raise bad_request("'query' is empty")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise bad_request("'operationName' must be a string or null")
    return ReceivedRequest(
        query=query,
        variables=_optional_map(params, "variables"),
        operation_name=operation_name or None,
        extensions=extensions,
        document_id=document_id,
    )


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request(f"'{name}' is not valid JSON") from None


def read_get(query: Mapping[str, str]) -> ReceivedRequest:
    """A GET request's parameters: ``variables`` and ``extensions`` are JSON strings."""
    params: dict[str, Any] = {
        "query": query.get("query"),
        "operationName": query.get("operationName"),
        "variables": _json_param(query.get("variables"), "variables"),
        "extensions": _json_param(query.get("extensions"), "extensions"),
    }
    for name in DOCUMENT_ID_PARAMETERS:
        params[name] = query.get(name)
    return from_params(params)


def _check_content_type(request: web.Request) -> None:
    if "Content-Type" not in request.headers:
        raise RequestRejectedError(
            415, "missing Content-Type: send 'application/json'", code="UNSUPPORTED_MEDIA_TYPE"
        )
    if request.content_type not in _JSON_TYPES:
        raise RequestRejectedError(
            415,
            f"unsupported Content-Type {request.content_type!r}: send 'application/json'",
            code="UNSUPPORTED_MEDIA_TYPE",
        )
    charset = request.charset
    if charset is not None and charset.lower() not in _UTF8:
        raise RequestRejectedError(
            415, f"unsupported charset {charset!r}: send UTF-8", code="UNSUPPORTED_MEDIA_TYPE"
        )


def _too_large(limit: int) -> RequestRejectedError:
    return RequestRejectedError(
        413, f"request body larger than {limit} bytes", code="PAYLOAD_TOO_LARGE"
    )


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, read in chunks and refused as soon as it passes ``limit`` bytes.

    Read here rather than with ``request.read()`` so the limit is this endpoint's own
    and holds for chunked uploads (no ``Content-Length``) too. A client that goes away
    before its body ends gets a 400 (if it still reads), not a logged failure.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    try:
        if declared is not None:
            # The parser hands over exactly this many bytes: one read, not a loop to EOF.
            return await request.content.readexactly(declared)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)
    except (ConnectionResetError, asyncio.IncompleteReadError):
        raise bad_request("the connection closed before the request body ended") from None


async def read_post_body(request: web.Request, *, max_body_bytes: int) -> bytes:
    """A POST request's body as sent, once its Content-Type says JSON in UTF-8."""
    _check_content_type(request)
    return await read_body(request, max_body_bytes)


def parse_post(body: bytes) -> ReceivedRequest:
    """The parameters of a POST body read by ``read_post_body`` (JSON, UTF-8), checked
    for shape."""
    if not body.strip():
        raise bad_request("the request body is empty: send a JSON object with 'query'")
    try:
        params = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request("the request body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise bad_request(f"the request body is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise bad_request("the request body is nested too deeply") from None
    except ValueError:
        # json.loads refuses integers over sys.get_int_max_str_digits() digits with a
        # plain ValueError, not a JSONDecodeError.
        raise bad_request("the request body holds a number too long to read") from None
    if isinstance(params, list):
        raise bad_request("batched requests (a JSON array) are not supported")
    if not isinstance(params, dict):
        raise bad_request("the request body must be a JSON object")
    return from_params(params, may_hold_escapes=b"\\u" in body)
