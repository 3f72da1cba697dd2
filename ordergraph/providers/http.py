"""The HTTP layer every adapter shares.

One ``HttpClient`` per provider connection: a bounded aiohttp connection pool,
connect and read timeouts, retries with exponential backoff and full jitter on
408, 429, 5xx and connection failures, ``Retry-After`` honoured (seconds or an HTTP
date) within a cap on the total time spent retrying, and one table from status to
action. Adapters give it their vendor's error-body parser; everything else about
HTTP lives here.

Credentials are held as ``SecretStr`` and only unwrapped while building the request
headers, so they appear in no exception, repr or log line.

An optional ``UpstreamObserver`` (the metrics) hears of every attempt and every retry,
labelled by the adapter's route *template* (``GET /assessment/orders/{id}/result``),
never the raw path: ids in a label would make one time series per order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, Protocol

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import SecretStr

from ordergraph.backoff import Backoff, Jitter
from ordergraph.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderInputError,
    ProviderNotFoundError,
    ProviderRateLimitedError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderTransportError,
    ProviderUnavailableError,
)

__all__ = [
    "Action",
    "ErrorDetail",
    "ErrorParser",
    "HttpClient",
    "HttpResponse",
    "RetryPolicy",
    "RouteTemplates",
    "Timeouts",
    "UpstreamObserver",
    "action_for_status",
    "parse_retry_after",
    "without_retries",
]

logger = logging.getLogger(__name__)

_UNREACHABLE = "PROVIDER_UNREACHABLE"
_DROPPED = "PROVIDER_CONNECTION_DROPPED"
# Methods that may be sent twice without doing the work twice (RFC 9110 9.2.2).
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class Action(Enum):
    """What the client does with a response status."""

    OK = "ok"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    REJECT = "reject"
    REDIRECT = "redirect"


# The one status-to-action table. 408 and 5xx are transient, 429 is transient with
# its own error type (callers surface retry_after); other 4xx are our fault or the
# account's and retrying cannot help.
_STATUS_ACTIONS: dict[int, Action] = {
    401: Action.AUTH,
    403: Action.AUTH,
    404: Action.NOT_FOUND,
    408: Action.RETRY,
    429: Action.RATE_LIMITED,
    501: Action.REJECT,  # "not implemented" will not start working on a retry
}


def action_for_status(status: int) -> Action:
    """Classify an HTTP status (see the table above)."""
    if 200 <= status < 300:
        return Action.OK
    if 300 <= status < 400:
        # Redirects are never followed (credentials must not travel to another
        # host); an API that answers one is misconfigured, not refusing our input.
        return Action.REDIRECT
    if status in _STATUS_ACTIONS:
        return _STATUS_ACTIONS[status]
    if status >= 500:
        return Action.RETRY
    return Action.REJECT


_ERROR_TYPES: dict[Action, type[ProviderError]] = {
    Action.RETRY: ProviderUnavailableError,
    Action.RATE_LIMITED: ProviderRateLimitedError,
    Action.AUTH: ProviderAuthError,
    Action.NOT_FOUND: ProviderNotFoundError,
    Action.REJECT: ProviderInputError,
    Action.REDIRECT: ProviderResponseError,
}


@dataclass(frozen=True)
class ErrorDetail:
    """What a vendor's error body says, in the shape every adapter reports."""

    message: str
    code: str | None = None
    log_url: str | None = None


ErrorParser = Callable[[int, Any], ErrorDetail | None]
"""Turns (status, decoded JSON body) into an ``ErrorDetail``; None if not the vendor's shape."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to connect, and to wait for each read of the answer."""

    connect: float = 5.0
    read: float = 20.0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff curve and a cap on total time spent waiting."""

    max_attempts: int = 4
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_total_delay: float = 30.0
    # A Retry-After longer than this is not waited out: the caller gets the error
    # (with retry_after) at once instead of holding a request for minutes.
    max_retry_after: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given 1-based attempt (the shared
        curve of ordergraph.backoff)."""
        return Backoff(self.backoff_base, self.backoff_max, Jitter.FULL).delay(attempt)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # "-0000" dates parse as naive datetimes; they are UTC, not local time.
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class UpstreamObserver(Protocol):
    """What the client reports about its traffic (ordergraph.metrics implements it)."""

    def upstream_attempt(self, provider: str, route: str, status: str, seconds: float) -> None:
        """One attempt ended: ``status`` is the HTTP status, or ``timeout``/``connection``."""
        ...

    def upstream_retry(self, provider: str, route: str, reason: str) -> None:
        """An attempt failed and is tried again; ``reason`` is the status or failure kind."""
        ...


class RouteTemplates:
    """Maps a request path to the adapter's template for it (``{name}`` is one segment).

    A path no template matches is reported as ``other``: a label never carries a raw id.
    """

    OTHER = "other"

    def __init__(self, templates: Sequence[str]) -> None:
        self.templates = tuple(templates)
        self._patterns = [
            (re.compile("^" + re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(t)) + "$"), t)
            for t in self.templates
        ]

    def route(self, method: str, path: str) -> str:
        """``METHOD template``, or ``METHOD other``."""
        for pattern, template in self._patterns:
            if pattern.match(path):
                return f"{method} {template}"
        return f"{method} {self.OTHER}"


def _failure_kind(error: ProviderError, status: int | None) -> str:
    if status is not None:
        return str(status)
    return "timeout" if isinstance(error, ProviderTimeoutError) else "connection"


@dataclass(frozen=True)
class HttpResponse:
    """A completed answer: status, headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    method: str
    path: str

    def json(self) -> Any:
        """The body decoded as JSON; a ``ValueError`` when it is not."""
        return json.loads(self.body)


_SEND_ONCE: ContextVar[bool] = ContextVar("ordergraph_http_send_once", default=False)


@contextlib.contextmanager
def without_retries() -> Iterator[None]:
    """Requests made inside (in this task and tasks it starts) are sent once, never
    retried here: for a caller with durable retries of its own. The result deliverer's
    inline attempt uses it, so a provider that is down costs the waiting client one
    request, not the whole retry schedule, and the deliverer's backoff takes over."""
    token = _SEND_ONCE.set(True)
    try:
        yield
    finally:
        _SEND_ONCE.reset(token)


@dataclass
class HttpClient:
    """A provider connection's HTTP client (see the module docstring).

    ``auth_headers`` are sent on every request and never logged. ``session`` may be
    injected (tests, shared pools); otherwise one is created lazily and owned here.
    """

    provider: str
    base_url: str
    auth_headers: Mapping[str, SecretStr]
    error_parser: ErrorParser
    connection_id: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    pool_size: int = 20
    session: aiohttp.ClientSession | None = None
    sleep: Callable[[float], Any] = asyncio.sleep
    on_attempt: Callable[[str, str, int | None, float], None] | None = None
    observer: UpstreamObserver | None = None
    # Path templates of the adapter's endpoints, for the observer's route label.
    routes: Sequence[str] = ()
    _owns_session: bool = field(default=False, init=False)
    _templates: RouteTemplates = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._templates = RouteTemplates(self.routes)

    def __repr__(self) -> str:
        return f"HttpClient(provider={self.provider!r}, base_url={self.base_url!r})"

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self.session is not None and self._owns_session:
            await self.session.close()
            self.session = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            connector = aiohttp.TCPConnector(limit=self.pool_size)
            self.session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
            self._owns_session = True
        return self.session

    def _error(
        self,
        cls: type[ProviderError],
        message: str,
        method: str,
        path: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        log_url: str | None = None,
    ) -> ProviderError:
        return cls(
            message,
            provider=self.provider,
            connection_id=self.connection_id,
            status=status,
            code=code,
            method=method,
            path=path,
            retry_after=retry_after,
            log_url=log_url,
        )

    def _parse_error_body(self, response: HttpResponse) -> ErrorDetail | None:
        try:
            body = response.json()
        except ValueError:
            return None
        try:
            return self.error_parser(response.status, body)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):
            # A parser surprised by an odd body must not turn a 503 into a KeyError
            # that escapes the error tree (and the retries).
            logger.debug("%s error parser failed on HTTP %d", self.provider, response.status)
            return None

    def _error_from_response(self, response: HttpResponse, action: Action) -> ProviderError:
        detail: ErrorDetail | None = None
        if action is Action.REDIRECT:
            detail = ErrorDetail(
                message=f"{self.provider} answered with an unexpected redirect "
                f"(HTTP {response.status}); redirects are not followed"
            )
        else:
            detail = self._parse_error_body(response)
        if detail is None:
            detail = ErrorDetail(message=f"{self.provider} answered HTTP {response.status}")
        return self._error(
            _ERROR_TYPES[action],
            detail.message,
            response.method,
            response.path,
            status=response.status,
            code=detail.code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            log_url=detail.log_url,
        )

    async def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
    ) -> HttpResponse:
        request_headers = {
            name: value.get_secret_value() for name, value in self.auth_headers.items()
        }
        request_headers["Accept"] = "application/json"
        if headers:
            request_headers.update(headers)
        failure: ProviderError
        try:
            async with self._session().request(
                method,
                self.base_url + path,
                params=params,
                json=json_body,
                headers=request_headers,
                # Never follow redirects: the Authorization header must not travel
                # to a host we did not configure.
                allow_redirects=False,
                # Per request, so an injected session keeps our timeouts too.
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=self.timeouts.connect,
                    sock_read=self.timeouts.read,
                ),
            ) as raw:
                body = await raw.read()
                return HttpResponse(
                    status=raw.status,
                    # Case-insensitive: "retry-after" is as good as "Retry-After".
                    headers=CIMultiDictProxy(CIMultiDict(raw.headers)),
                    body=body,
                    method=method,
                    path=path,
                )
        except aiohttp.ConnectionTimeoutError as exc:
            # Timed out connecting: never reached the server, safe to retry a POST.
            raise self._error(
                ProviderTimeoutError, "connect timed out", method, path, code=_UNREACHABLE
            ) from exc
        except TimeoutError as exc:
            raise self._error(ProviderTimeoutError, "request timed out", method, path) from exc
        except aiohttp.ClientConnectorError as exc:
            # Never reached the server: safe to retry even a POST.
            raise self._error(
                ProviderTransportError,
                "could not connect",
                method,
                path,
                code=_UNREACHABLE,
            ) from exc
        except aiohttp.ClientResponseError as exc:
            # A malformed answer. Its request_info holds our request headers, the
            # credentials included, so it must not stay reachable from our error as
            # __cause__ or __context__: the error is raised outside this block.
            failure = self._error(
                ProviderTransportError,
                f"malformed answer: {type(exc).__name__}",
                method,
                path,
                code=_DROPPED,
            )
        except aiohttp.ClientError as exc:
            # The exception text can carry the URL but never headers; we still
            # report only its type to keep messages short and stable.
            raise self._error(
                ProviderTransportError,
                f"connection dropped: {type(exc).__name__}",
                method,
                path,
                code=_DROPPED,
            ) from exc
        raise failure

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset(),
        idempotent: bool | None = None,
    ) -> HttpResponse:
        """Send a request, retrying transient failures; a 2xx (or ``ok_statuses``) returns.

        ``idempotent`` overrides the method's default (a PATCH that sets a result is
        safe to repeat; a POST that creates is not). Raises a ``ProviderError``
        subclass chosen by the status table.
        """
        safe_to_repeat = method.upper() in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            error: ProviderError
            try:
                response = await self._send_once(method, path, params, json_body, headers)
            except ProviderError as exc:
                error = exc
                status: int | None = None
            else:
                status = response.status
                action = action_for_status(response.status)
                if action is Action.OK or response.status in ok_statuses:
                    self._report(method, path, status, started)
                    return response
                error = self._error_from_response(response, action)
            self._report(method, path, status, started, error)
            if (
                _SEND_ONCE.get()
                or not self._may_retry(safe_to_repeat, error)
                or attempt >= self.retry.max_attempts
            ):
                raise error
            delay = self._delay(error, attempt)
            if delay is None or waited + delay > self.retry.max_total_delay:
                raise error
            if self.observer is not None:
                self.observer.upstream_retry(
                    self.provider,
                    self._templates.route(method, path),
                    _failure_kind(error, status),
                )
            logger.info(
                "retrying %s %s on %s after %s (attempt %d, waiting %.2fs)",
                method,
                path,
                self.provider,
                error.code,
                attempt,
                delay,
            )
            await self.sleep(delay)
            waited += delay

    @staticmethod
    def _may_retry(safe_to_repeat: bool, error: ProviderError) -> bool:
        """Retriable errors are retried; a non-idempotent request only when the
        provider cannot have acted on it (refused by rate limit, or never reached)."""
        if not error.retriable:
            return False
        if safe_to_repeat:
            return True
        return isinstance(error, ProviderRateLimitedError) or error.code == _UNREACHABLE

    def _report(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        error: ProviderError | None = None,
    ) -> None:
        elapsed = time.monotonic() - started
        if self.on_attempt is not None:
            self.on_attempt(method, path, status, elapsed)
        if self.observer is not None:
            # No status: the attempt got no answer (a timeout or a connection failure).
            label = str(status) if error is None else _failure_kind(error, status)
            self.observer.upstream_attempt(
                self.provider, self._templates.route(method, path), label, elapsed
            )

    def _delay(self, error: ProviderError, attempt: int) -> float | None:
        """Seconds before the next attempt, or None when waiting is not worth it."""
        if error.retry_after is not None:
            if error.retry_after > self.retry.max_retry_after:
                return None
            return error.retry_after
        return self.retry.backoff(attempt)

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """``request`` and decode the body; non-JSON is a ``ProviderResponseError``."""
        response = await self.request(
            method, path, params=params, json_body=json_body, headers=headers, idempotent=idempotent
        )
        if not response.body:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise self._error(
                ProviderResponseError,
                "provider answered with a body that is not JSON",
                method,
                path,
                status=response.status,
            ) from exc

    def bad_shape(self, method: str, path: str, detail: str) -> ProviderResponseError:
        """The error for a 2xx answer that is JSON but not the documented shape."""
        error = self._error(
            ProviderResponseError,
            f"provider answered with an unexpected shape: {detail}",
            method,
            path,
        )
        assert isinstance(error, ProviderResponseError)
        return error
