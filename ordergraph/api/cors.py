"""CORS for ``/graphql``: browser frontends on the origins ``server.cors_origins`` lists.

Only the GraphQL endpoint takes part: webhooks, ``/healthz`` and ``/readyz`` are never
called from a browser and get no CORS headers. WebSocket upgrades are left alone (CORS
does not apply to them; the view checks their ``Origin`` against the same list).

The allow-list holds exact origins (``scheme://host[:port]``, checked and normalised
when the settings load, see ``ordergraph.settings.normalise_origin``), or ``"*"`` for
every origin. ``"*"`` is meant for the demo only; a deployment lists its frontends.

- Preflight (``OPTIONS /graphql`` with ``Origin`` and ``Access-Control-Request-Method``)
  from a listed origin, asking for GET or POST: ``204`` with
  ``Access-Control-Allow-Origin: <that origin>`` (echoed, never ``*``),
  ``Access-Control-Allow-Methods: GET, POST``, ``Access-Control-Allow-Headers`` naming
  those of the requested headers that ``server.cors_allow_headers`` lists (by default
  ``ALLOWED_HEADERS``: the API's own and Apollo Client's ``apollographql-client-name``
  and ``apollographql-client-version``), and
  ``Access-Control-Max-Age: 600``. Any other preflight (origin not listed, another
  method): ``403`` without ``Access-Control-Allow-Origin``, so the browser refuses.
- Any other request with ``Origin``: served as usual (CORS protects in the browser, the
  API key protects on the server); a listed origin's response also gets
  ``Access-Control-Allow-Origin`` and ``Access-Control-Expose-Headers`` (the response
  cache header), an unlisted one's gets neither.
- No ``Origin``: untouched.

Every response whose CORS headers depend on the request says so in ``Vary``. No
``Access-Control-Allow-Credentials``: clients send bearer API keys, not cookies. The
headers are set after the handler ran, so a response replayed from the response cache
carries the headers of the request it answers, never those of the one that filled it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from ordergraph.api.http import CACHE_HEADER
from ordergraph.settings import ANY_ORIGIN, DEFAULT_CORS_HEADERS

__all__ = [
    "ALLOWED_HEADERS",
    "ALLOWED_METHODS",
    "GRAPHQL_PATH",
    "MAX_AGE",
    "CorsPolicy",
    "cors_middleware",
]

GRAPHQL_PATH: Final = "/graphql"
ALLOWED_METHODS: Final = ("GET", "POST")
ALLOWED_HEADERS: Final = frozenset(DEFAULT_CORS_HEADERS)
"""Request headers a cross-origin caller may send by default (besides the CORS-safelisted
ones); ``server.cors_allow_headers`` sets them."""
EXPOSED_HEADERS: Final = (CACHE_HEADER,)
MAX_AGE: Final = 600
_PREFLIGHT_VARY: Final = (
    hdrs.ORIGIN,
    hdrs.ACCESS_CONTROL_REQUEST_METHOD,
    hdrs.ACCESS_CONTROL_REQUEST_HEADERS,
)


class CorsPolicy:
    """Which origins may call, and the headers a request from one of them gets."""

    def __init__(self, origins: Iterable[str], headers: Iterable[str] = ALLOWED_HEADERS) -> None:
        listed = tuple(origins)
        self.any_origin = ANY_ORIGIN in listed
        self.origins = frozenset(o.lower() for o in listed if o != ANY_ORIGIN)
        self.headers = frozenset(h.lower() for h in headers)

    def allows(self, origin: str) -> bool:
        return self.any_origin or origin.lower() in self.origins

    def preflight(self, request: web.Request, origin: str) -> web.Response:
        """The answer to a preflight from ``origin`` (204 or 403)."""
        method = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_METHOD, "").strip()
        response = web.Response(status=204)
        _add_vary(response, _PREFLIGHT_VARY)
        if not self.allows(origin) or method not in ALLOWED_METHODS:
            response.set_status(403)
            response.text = f"CORS preflight refused for origin {origin!r} and method {method!r}"
            return response
        requested = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS, "")
        names = [n.strip().lower() for n in requested.split(",") if n.strip()]
        granted = [n for n in dict.fromkeys(names) if n in self.headers]
        response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
        response.headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = ", ".join(ALLOWED_METHODS)
        if granted:
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = ", ".join(granted)
        response.headers[hdrs.ACCESS_CONTROL_MAX_AGE] = str(MAX_AGE)
        return response

    def decorate(self, response: web.StreamResponse, origin: str) -> None:
        """Add the CORS headers of an actual request from ``origin`` to ``response``."""
        if response.prepared:
            return  # headers already sent (a streamed body); nothing can be added
        _add_vary(response, (hdrs.ORIGIN,))
        if self.allows(origin):
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            response.headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = ", ".join(EXPOSED_HEADERS)


def _add_vary(response: web.StreamResponse, names: Iterable[str]) -> None:
    """Add ``names`` to ``Vary`` without dropping what is there or repeating a name."""
    present = [v.strip() for v in response.headers.get(hdrs.VARY, "").split(",") if v.strip()]
    known = {v.lower() for v in present}
    if "*" in known:
        return
    merged = present + [n for n in names if n.lower() not in known]
    response.headers[hdrs.VARY] = ", ".join(merged)


def _is_graphql(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    return resource is not None and resource.canonical == GRAPHQL_PATH


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").strip().lower() == "websocket"


def cors_middleware(origins: Iterable[str], headers: Iterable[str] = ALLOWED_HEADERS) -> Middleware:
    """A middleware applying ``CorsPolicy(origins, headers)`` to ``/graphql``."""
    policy = CorsPolicy(origins, headers)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None or not _is_graphql(request) or _is_websocket(request):
            return await handler(request)
        if request.method == hdrs.METH_OPTIONS and hdrs.ACCESS_CONTROL_REQUEST_METHOD in (
            request.headers
        ):
            return policy.preflight(request, origin)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            # aiohttp's own errors (a body over client_max_size, say) reach the browser
            # too; without the headers it could not read why the request failed.
            policy.decorate(exc, origin)
            raise
        policy.decorate(response, origin)
        return response

    return cors
