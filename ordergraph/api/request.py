"""Reading a GraphQL-over-HTTP request: the body or query string, checked for shape.

Everything wrong with the *HTTP* request (a body that is too large, not JSON, of the
wrong content type, or a parameter of the wrong type) is a ``RequestRejectedError`` with
the status the spec gives it, raised before any GraphQL work. What is wrong with the
*GraphQL* document itself (syntax, validation) is left to execution, whose errors the
client sees as GraphQL errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

__all__ = ["GraphQLRequest", "RequestRejectedError", "from_params", "read_get", "read_post"]

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
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        # Besides ``code``, in the error's ``extensions`` (e.g. ``requiredScope``).
        self.extensions = dict(extensions or {})


def bad_request(message: str) -> RequestRejectedError:
    return RequestRejectedError(400, message, code="BAD_REQUEST")


@dataclass(frozen=True)
class GraphQLRequest:
    """The four GraphQL-over-HTTP parameters, with the types the spec requires."""

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None


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


def from_params(params: Mapping[str, Any], *, may_hold_escapes: bool = True) -> GraphQLRequest:
    """Check the parameters' types (already JSON-decoded); unknown keys are ignored.

    ``may_hold_escapes=False``: the JSON text had no ``\\u`` escape, the only way to a
    lone surrogate, so the (costly) re-encoding check is skipped.
    """
    if may_hold_escapes:
        _check_unicode(params)
    query = params.get("query")
    if query is None:
        raise bad_request("missing 'query': send the GraphQL document as a string")
    if not isinstance(query, str):
        raise bad_request("'query' must be a string")
    if not query.strip():
        raise bad_request("'query' is empty")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise bad_request("'operationName' must be a string or null")
    return GraphQLRequest(
        query=query,
        variables=_optional_map(params, "variables"),
        operation_name=operation_name or None,
        extensions=_optional_map(params, "extensions"),
    )


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request(f"'{name}' is not valid JSON") from None


def read_get(query: Mapping[str, str]) -> GraphQLRequest:
    """A GET request's parameters: ``variables`` and ``extensions`` are JSON strings."""
    return from_params(
        {
            "query": query.get("query"),
            "operationName": query.get("operationName"),
            "variables": _json_param(query.get("variables"), "variables"),
            "extensions": _json_param(query.get("extensions"), "extensions"),
        }
    )


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
    and holds for chunked uploads (no ``Content-Length``) too.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_post(request: web.Request, *, max_body_bytes: int) -> GraphQLRequest:
    """A POST request's JSON body (``application/json``, UTF-8), checked for shape."""
    _check_content_type(request)
    body = await read_body(request, max_body_bytes)
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
