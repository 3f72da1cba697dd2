"""HttpClient against tiny aiohttp servers on loopback.

Every test runs a real server and a real client; only ``sleep`` is faked (recorded),
so retries are instant and the chosen delays can be asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

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
from ordergraph.providers.http import (
    Action,
    ErrorDetail,
    HttpClient,
    RetryPolicy,
    Timeouts,
    action_for_status,
    parse_retry_after,
    without_retries,
)

SECRET = "sk_live_SECRET123"
PROVIDER = "acme"
CONNECTION = "conn-1"

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- servers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Vendor:
    """A loopback server answering with ``replies`` in turn (the last one repeats)."""

    replies: tuple[Reply, ...]
    url: str = ""
    seen: list[Seen] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.path, dict(request.headers)))
        reply = self.replies[min(len(self.seen), len(self.replies)) - 1]
        return await reply(request)


def answer(status: int, payload: Any = None, *, headers: dict[str, str] | None = None) -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        if payload is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(payload, status=status, headers=headers)

    return reply


def answer_text(status: int, text: str) -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=text, content_type="text/html")

    return reply


def stall(seconds: float) -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response({"late": True})

    return reply


def hang_up() -> Reply:
    """Abort the connection mid-request, without any answer."""

    async def reply(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.StreamResponse()

    return reply


Serve = Callable[..., Awaitable[Vendor]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[TestServer] = []

    async def start(*replies: Reply) -> Vendor:
        vendor = Vendor(replies)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", vendor.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        vendor.url = str(server.make_url("")).rstrip("/")
        return vendor

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def full_backlog() -> Iterator[str]:
    """A listener whose accept queue is full: connecting hangs until it times out."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.fixture
async def garbage_url() -> AsyncIterator[str]:
    """A raw TCP server whose answer is not HTTP (aiohttp cannot parse the status line)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 abc garbage\r\nX: y\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


# --- client --------------------------------------------------------------------------


def vendor_error(status: int, body: Any) -> ErrorDetail | None:
    """The test vendor's error shape: ``{"error": {"message", "code", "log_url"}}``."""
    del status
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    error = body["error"]
    return ErrorDetail(
        message=error["message"], code=error.get("code"), log_url=error.get("log_url")
    )


@dataclass
class Harness:
    """A client plus what it did: the delays it slept and the attempts it reported."""

    client: HttpClient
    sleeps: list[float] = field(default_factory=list)
    attempts: list[tuple[str, str, int | None]] = field(default_factory=list)


MakeClient = Callable[..., Harness]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    made: list[HttpClient] = []

    def build(
        base_url: str,
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        **overrides: Any,
    ) -> Harness:
        sleeps: list[float] = []
        attempts: list[tuple[str, str, int | None]] = []

        async def fake_sleep(seconds: float) -> None:
            sleeps.append(seconds)

        def on_attempt(method: str, path: str, status: int | None, elapsed: float) -> None:
            assert elapsed >= 0
            attempts.append((method, path, status))

        settings: dict[str, Any] = {
            "provider": PROVIDER,
            "connection_id": CONNECTION,
            "base_url": base_url + "/",
            "auth_headers": {"Authorization": SecretStr(f"Bearer {SECRET}")},
            "error_parser": vendor_error,
            "timeouts": timeouts or Timeouts(connect=1.0, read=1.0),
            "retry": retry or RetryPolicy(max_attempts=3),
            "sleep": fake_sleep,
            "on_attempt": on_attempt,
        }
        settings.update(overrides)
        client = HttpClient(**settings)
        made.append(client)
        return Harness(client, sleeps, attempts)

    yield build
    for client in made:
        await client.close()


def backoff_ceiling(policy: RetryPolicy, attempt: int) -> float:
    return min(policy.backoff_max, policy.backoff_base * 2.0 ** min(attempt - 1, 64))


# --- the status table ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (200, Action.OK),
        (201, Action.OK),
        (204, Action.OK),
        (301, Action.REDIRECT),
        (302, Action.REDIRECT),
        (400, Action.REJECT),
        (401, Action.AUTH),
        (403, Action.AUTH),
        (404, Action.NOT_FOUND),
        (408, Action.RETRY),
        (409, Action.REJECT),
        (412, Action.REJECT),
        (422, Action.REJECT),
        (429, Action.RATE_LIMITED),
        (500, Action.RETRY),
        (501, Action.REJECT),
        (502, Action.RETRY),
        (503, Action.RETRY),
        (504, Action.RETRY),
    ],
)
def test_action_for_status(status: int, action: Action) -> None:
    assert action_for_status(status) is action


@pytest.mark.parametrize("status", [200, 201, 204])
async def test_success_statuses_return_the_response(
    serve: Serve, make_client: MakeClient, status: int
) -> None:
    # given a vendor answering a success status
    payload = None if status == 204 else {"id": "o-1"}
    vendor = await serve(answer(status, payload))
    harness = make_client(vendor.url)
    # when
    response = await harness.client.request("GET", "/orders")
    # then
    assert response.status == status
    assert (response.json() if payload else None) == payload
    assert len(vendor.seen) == 1
    assert harness.sleeps == []


@pytest.mark.parametrize(
    ("status", "error_type", "tries"),
    [
        (400, ProviderInputError, 1),
        (409, ProviderInputError, 1),
        (412, ProviderInputError, 1),
        (422, ProviderInputError, 1),
        (401, ProviderAuthError, 1),
        (403, ProviderAuthError, 1),
        (404, ProviderNotFoundError, 1),
        (408, ProviderUnavailableError, 3),
        (500, ProviderUnavailableError, 3),
        (502, ProviderUnavailableError, 3),
        (503, ProviderUnavailableError, 3),
        (504, ProviderUnavailableError, 3),
        (429, ProviderRateLimitedError, 3),
        (501, ProviderInputError, 1),
    ],
)
async def test_error_statuses_raise_their_type_and_retry_only_transient_ones(
    serve: Serve,
    make_client: MakeClient,
    status: int,
    error_type: type[ProviderError],
    tries: int,
) -> None:
    # given a vendor that always answers this status
    vendor = await serve(answer(status, {"nope": True}))
    harness = make_client(vendor.url, retry=RetryPolicy(max_attempts=3))
    # when
    with pytest.raises(ProviderError) as caught:
        await harness.client.request("GET", "/orders/o-1")
    # then
    error = caught.value
    assert type(error) is error_type
    assert (error.status, error.method, error.path) == (status, "GET", "/orders/o-1")
    assert (error.provider, error.connection_id) == (PROVIDER, CONNECTION)
    assert len(vendor.seen) == tries
    assert len(harness.sleeps) == tries - 1
    assert harness.attempts == [("GET", "/orders/o-1", status)] * tries


# --- retries -------------------------------------------------------------------------


async def test_retries_until_success(serve: Serve, make_client: MakeClient) -> None:
    vendor = await serve(answer(503), answer(502), answer(200, {"ok": True}))
    policy = RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_max=8.0)
    harness = make_client(vendor.url, retry=policy)

    assert await harness.client.json("GET", "/things") == {"ok": True}

    assert len(vendor.seen) == 3
    assert len(harness.sleeps) == 2
    for attempt, delay in enumerate(harness.sleeps, start=1):
        assert 0 <= delay <= backoff_ceiling(policy, attempt)


async def test_without_retries_a_transient_failure_is_raised_after_one_request(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(answer(503), answer(503), answer(200, {"ok": True}))
    harness = make_client(vendor.url)

    with without_retries(), pytest.raises(ProviderUnavailableError):
        await harness.client.json("GET", "/things/1")

    assert len(vendor.seen) == 1
    assert harness.sleeps == []
    # outside the block the same client retries again
    assert await harness.client.json("GET", "/things/1") == {"ok": True}
    assert len(vendor.seen) == 3
    assert len(harness.sleeps) == 1


async def test_on_attempt_reports_each_attempt_with_its_status(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(answer(503), answer(429, headers={"Retry-After": "0"}), answer(200))
    harness = make_client(vendor.url, retry=RetryPolicy(max_attempts=5))

    await harness.client.request("GET", "/things")

    assert harness.attempts == [
        ("GET", "/things", 503),
        ("GET", "/things", 429),
        ("GET", "/things", 200),
    ]


class _Observer:
    def __init__(self) -> None:
        self.attempts: list[tuple[str, str, str]] = []
        self.retries: list[tuple[str, str, str]] = []

    def upstream_attempt(self, provider: str, route: str, status: str, seconds: float) -> None:
        assert seconds >= 0
        self.attempts.append((provider, route, status))

    def upstream_retry(self, provider: str, route: str, reason: str) -> None:
        self.retries.append((provider, route, reason))


async def test_the_observer_hears_attempts_and_retries_by_route_template(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(
        answer(503), answer(429, headers={"Retry-After": "0"}), answer(200), answer(200)
    )
    observer = _Observer()
    harness = make_client(
        vendor.url,
        retry=RetryPolicy(max_attempts=5),
        observer=observer,
        routes=("/things", "/things/{id}"),
    )

    await harness.client.request("GET", "/things/t-123")
    await harness.client.request("GET", "/elsewhere/t-123")

    route = "GET /things/{id}"
    assert observer.attempts[:3] == [
        (PROVIDER, route, "503"),
        (PROVIDER, route, "429"),
        (PROVIDER, route, "200"),
    ]
    assert observer.retries == [(PROVIDER, route, "503"), (PROVIDER, route, "429")]
    assert observer.attempts[3][1] == "GET other"  # no template: never the raw path


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [("Retry-After", "2", 2.0), ("retry-after", "1.5", 1.5), ("Retry-After", "0", 0.0)],
)
async def test_retry_after_seconds_are_slept_exactly(
    serve: Serve, make_client: MakeClient, header: str, value: str, expected: float
) -> None:
    vendor = await serve(answer(429, headers={header: value}), answer(200))
    harness = make_client(vendor.url)

    response = await harness.client.request("GET", "/things")

    assert response.status == 200
    assert harness.sleeps == [expected]


async def test_retry_after_as_http_date_is_waited_until(
    serve: Serve, make_client: MakeClient
) -> None:
    # given a Retry-After date about 3 s ahead (HTTP dates have whole seconds)
    when = datetime.now(UTC) + timedelta(seconds=3)
    vendor = await serve(
        answer(503, headers={"Retry-After": format_datetime(when, True)}), answer(200)
    )
    harness = make_client(vendor.url)
    # when
    await harness.client.request("GET", "/things")
    # then
    assert len(harness.sleeps) == 1
    assert 1.5 <= harness.sleeps[0] <= 3.0


async def test_retry_after_above_the_cap_raises_at_once(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(answer(429, headers={"Retry-After": "120"}))
    harness = make_client(vendor.url, retry=RetryPolicy(max_attempts=5, max_retry_after=30))

    with pytest.raises(ProviderRateLimitedError) as caught:
        await harness.client.request("GET", "/things")

    assert caught.value.retry_after == 120.0
    assert caught.value.code == "PROVIDER_RATE_LIMITED"
    assert len(vendor.seen) == 1
    assert harness.sleeps == []


async def test_total_retry_time_is_capped(serve: Serve, make_client: MakeClient) -> None:
    # given waits of 2 s each and at most 5 s of waiting in total
    vendor = await serve(answer(503, headers={"Retry-After": "2"}))
    policy = RetryPolicy(max_attempts=10, max_total_delay=5.0)
    harness = make_client(vendor.url, retry=policy)
    # when
    with pytest.raises(ProviderUnavailableError) as caught:
        await harness.client.request("GET", "/things")
    # then two waits fit, a third would make 6 s
    assert harness.sleeps == [2.0, 2.0]
    assert len(vendor.seen) == 3
    assert caught.value.retry_after == 2.0


async def test_max_attempts_bounds_the_tries(serve: Serve, make_client: MakeClient) -> None:
    vendor = await serve(answer(500))
    policy = RetryPolicy(max_attempts=4, backoff_base=0.1, backoff_max=1.0)
    harness = make_client(vendor.url, retry=policy)

    with pytest.raises(ProviderUnavailableError):
        await harness.client.request("GET", "/things")

    assert len(vendor.seen) == 4
    assert len(harness.sleeps) == 3
    for attempt, delay in enumerate(harness.sleeps, start=1):
        assert 0 <= delay <= backoff_ceiling(policy, attempt)


@given(attempt=st.integers(min_value=1, max_value=10_000))
def test_backoff_stays_within_the_full_jitter_ceiling(attempt: int) -> None:
    policy = RetryPolicy(backoff_base=0.25, backoff_max=8.0)
    assert 0.0 <= policy.backoff(attempt) <= backoff_ceiling(policy, attempt)


def test_backoff_spreads_over_the_whole_range() -> None:
    # Full jitter: uniform on [0, base * 2**(attempt-1)], here [0, 4].
    policy = RetryPolicy(backoff_base=1.0, backoff_max=100.0)
    samples = [policy.backoff(3) for _ in range(500)]
    assert max(samples) <= 4.0
    assert max(samples) > 3.0
    assert min(samples) < 1.0


def test_backoff_is_capped_by_backoff_max() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=2.0)
    assert all(policy.backoff(10) <= 2.0 for _ in range(200))


# --- Retry-After parsing ---------------------------------------------------------------

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("Sat, 01 Mar 2025 12:00:30 GMT", 30.0),
        ("Sat, 01 Mar 2025 12:00:30 -0000", 30.0),
        ("Sat, 01 Mar 2025 13:00:30 +0100", 30.0),
        ("Sat, 01 Mar 2025 11:59:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.fixture
def local_time_is_utc_plus_9(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "JST-9")  # POSIX form: needs no tz database
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_is_utc_plus_9")
def test_parse_retry_after_reads_a_zone_less_date_as_utc() -> None:
    assert parse_retry_after("Sat, 01 Mar 2025 12:00:30 -0000", now=NOW) == 30.0


# --- non-idempotent requests ---------------------------------------------------------


async def test_post_is_not_retried_on_503(serve: Serve, make_client: MakeClient) -> None:
    vendor = await serve(answer(503), answer(201, {"id": "o-1"}))
    harness = make_client(vendor.url)

    with pytest.raises(ProviderUnavailableError):
        await harness.client.request("POST", "/orders", json_body={"a": 1})

    assert len(vendor.seen) == 1


async def test_post_is_retried_on_429(serve: Serve, make_client: MakeClient) -> None:
    vendor = await serve(answer(429, headers={"Retry-After": "1"}), answer(201, {"id": "o-1"}))
    harness = make_client(vendor.url)

    created = await harness.client.json("POST", "/orders", json_body={"a": 1})

    assert created == {"id": "o-1"}
    assert len(vendor.seen) == 2
    assert harness.sleeps == [1.0]


async def test_post_marked_idempotent_is_retried_on_503(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(answer(503), answer(200, {"ok": True}))
    harness = make_client(vendor.url)

    result = await harness.client.json("POST", "/orders/o-1/result", idempotent=True)

    assert result == {"ok": True}
    assert len(vendor.seen) == 2


async def test_put_marked_not_idempotent_is_not_retried(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(answer(503))
    harness = make_client(vendor.url)

    with pytest.raises(ProviderUnavailableError):
        await harness.client.request("PUT", "/orders/o-1", idempotent=False)

    assert len(vendor.seen) == 1


# --- transport failures --------------------------------------------------------------


async def test_read_timeout_is_retried_for_get(serve: Serve, make_client: MakeClient) -> None:
    vendor = await serve(stall(0.5))
    harness = make_client(
        vendor.url, timeouts=Timeouts(connect=1.0, read=0.2), retry=RetryPolicy(max_attempts=2)
    )

    with pytest.raises(ProviderTimeoutError) as caught:
        await harness.client.request("GET", "/things")

    assert caught.value.code == "PROVIDER_TIMEOUT"
    assert caught.value.status is None
    assert len(vendor.seen) == 2
    assert harness.attempts == [("GET", "/things", None)] * 2


async def test_read_timeout_is_not_retried_for_post(serve: Serve, make_client: MakeClient) -> None:
    vendor = await serve(stall(0.5))
    harness = make_client(vendor.url, timeouts=Timeouts(connect=1.0, read=0.2))

    with pytest.raises(ProviderTimeoutError):
        await harness.client.request("POST", "/orders", json_body={})

    assert len(vendor.seen) == 1


async def test_injected_session_still_gets_the_client_timeouts(serve: Serve) -> None:
    # given a session with aiohttp's default timeouts (5 minutes in total)
    vendor = await serve(stall(0.5))
    async with aiohttp.ClientSession() as session:
        client = HttpClient(
            provider=PROVIDER,
            base_url=vendor.url,
            auth_headers={},
            error_parser=vendor_error,
            timeouts=Timeouts(connect=1.0, read=0.2),
            retry=RetryPolicy(max_attempts=1),
            session=session,
        )
        started = time.monotonic()
        # when / then the client's read timeout applies
        with pytest.raises(ProviderTimeoutError):
            await client.request("GET", "/things")
        assert time.monotonic() - started < 0.45
        await client.close()
        assert not session.closed  # not ours to close


async def test_connection_refused_is_retried_even_for_post(
    closed_port_url: str, make_client: MakeClient
) -> None:
    harness = make_client(closed_port_url, retry=RetryPolicy(max_attempts=3))

    with pytest.raises(ProviderTransportError) as caught:
        await harness.client.request("POST", "/orders", json_body={"a": 1})

    assert caught.value.code == "PROVIDER_UNREACHABLE"
    assert harness.attempts == [("POST", "/orders", None)] * 3
    assert len(harness.sleeps) == 2


async def test_connect_timeout_is_unreachable_and_retried_even_for_post(
    make_client: MakeClient,
) -> None:
    with full_backlog() as url:
        harness = make_client(
            url, timeouts=Timeouts(connect=0.1, read=1.0), retry=RetryPolicy(max_attempts=2)
        )

        with pytest.raises(ProviderTimeoutError) as caught:
            await harness.client.request("POST", "/orders", json_body={"a": 1})

    assert caught.value.code == "PROVIDER_UNREACHABLE"
    assert harness.attempts == [("POST", "/orders", None)] * 2


async def test_dropped_connection_is_not_retried_for_post(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(hang_up(), answer(201, {"id": "o-1"}))
    harness = make_client(vendor.url)

    with pytest.raises(ProviderTransportError) as caught:
        await harness.client.request("POST", "/orders", json_body={"a": 1})

    assert caught.value.code == "PROVIDER_CONNECTION_DROPPED"
    assert caught.value.status is None
    assert len(vendor.seen) == 1


async def test_dropped_connection_is_retried_for_get(serve: Serve, make_client: MakeClient) -> None:
    # aiohttp itself resends an idempotent request once on a disconnect, so the
    # vendor may see more requests than we report attempts.
    vendor = await serve(hang_up(), hang_up(), answer(200, {"ok": True}))
    harness = make_client(vendor.url, retry=RetryPolicy(max_attempts=3))

    assert await harness.client.json("GET", "/things") == {"ok": True}
    assert harness.attempts[-1] == ("GET", "/things", 200)
    assert len(vendor.seen) == 3


async def test_malformed_answer_is_a_transport_error(
    garbage_url: str, make_client: MakeClient
) -> None:
    harness = make_client(garbage_url)

    with pytest.raises(ProviderTransportError) as caught:
        await harness.client.request("POST", "/orders", json_body={})

    assert caught.value.code == "PROVIDER_CONNECTION_DROPPED"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


# --- error bodies and response bodies ------------------------------------------------


async def test_error_parser_output_lands_in_the_error(
    serve: Serve, make_client: MakeClient
) -> None:
    body = {
        "error": {
            "message": "email is invalid",
            "code": "INVALID_EMAIL",
            "log_url": "https://vendor.example/logs/42",
        }
    }
    vendor = await serve(answer(422, body))
    harness = make_client(vendor.url)

    with pytest.raises(ProviderInputError) as caught:
        await harness.client.request("POST", "/orders", json_body={})

    error = caught.value
    assert (error.message, error.code, error.log_url) == (
        "email is invalid",
        "INVALID_EMAIL",
        "https://vendor.example/logs/42",
    )
    assert str(error) == (
        "email is invalid (acme, connection conn-1, POST /orders, HTTP 422, INVALID_EMAIL)"
    )


async def test_error_body_that_is_not_json_gives_a_generic_message(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(answer_text(400, "<html>Bad Request</html>"))
    harness = make_client(vendor.url)

    with pytest.raises(ProviderInputError) as caught:
        await harness.client.request("GET", "/things")

    assert caught.value.message == "acme answered HTTP 400"
    assert caught.value.code == "PROVIDER_REJECTED_INPUT"
    assert caught.value.log_url is None


async def test_error_parser_that_raises_gives_a_generic_message(
    serve: Serve, make_client: MakeClient
) -> None:
    # given a strict parser and a body it does not expect
    def strict(status: int, body: Any) -> ErrorDetail:
        return ErrorDetail(message=body["error"]["message"])

    vendor = await serve(answer(503, {"unexpected": True}), answer(200))
    harness = make_client(vendor.url, error_parser=strict)
    # when the first answer is an error it retries as usual
    response = await harness.client.request("GET", "/things")
    # then
    assert response.status == 200
    assert len(vendor.seen) == 2


async def test_json_of_a_success_that_is_not_json_is_a_response_error(
    serve: Serve, make_client: MakeClient
) -> None:
    vendor = await serve(answer_text(200, "<html>maintenance</html>"))
    harness = make_client(vendor.url)

    with pytest.raises(ProviderResponseError) as caught:
        await harness.client.json("GET", "/things")

    assert caught.value.code == "PROVIDER_BAD_RESPONSE"
    assert caught.value.status == 200
    assert len(vendor.seen) == 1


async def test_json_of_an_empty_success_is_none(serve: Serve, make_client: MakeClient) -> None:
    vendor = await serve(answer(204))
    harness = make_client(vendor.url)

    assert await harness.client.json("DELETE", "/things/1") is None


async def test_response_headers_are_case_insensitive(serve: Serve, make_client: MakeClient) -> None:
    vendor = await serve(answer(200, {}, headers={"X-Request-Id": "r-1"}))
    harness = make_client(vendor.url)

    response = await harness.client.request("GET", "/things")

    assert response.headers["x-request-id"] == "r-1"


def test_bad_shape_names_the_call_and_the_detail() -> None:
    client = HttpClient(
        provider=PROVIDER,
        connection_id=CONNECTION,
        base_url="http://127.0.0.1:1",
        auth_headers={},
        error_parser=vendor_error,
    )

    error = client.bad_shape("GET", "/orders", "data.items is missing")

    assert isinstance(error, ProviderResponseError)
    assert error.code == "PROVIDER_BAD_RESPONSE"
    assert error.message == "provider answered with an unexpected shape: data.items is missing"
    assert (error.provider, error.method, error.path) == (PROVIDER, "GET", "/orders")


# --- redirects -----------------------------------------------------------------------


async def test_redirect_is_not_followed_and_is_a_response_error(
    serve: Serve, make_client: MakeClient
) -> None:
    # given a vendor redirecting to another server
    elsewhere = await serve(answer(200, {"stolen": True}))
    vendor = await serve(answer(302, headers={"Location": f"{elsewhere.url}/steal"}))
    harness = make_client(vendor.url)
    # when
    with pytest.raises(ProviderResponseError) as caught:
        await harness.client.request("GET", "/things")
    # then the credentials never reach the other server
    assert elsewhere.seen == []
    assert len(vendor.seen) == 1
    assert caught.value.status == 302
    assert "redirect" in caught.value.message
    assert harness.sleeps == []


# --- secrets -------------------------------------------------------------------------


@dataclass(frozen=True)
class FailingCall:
    """A call that fails: where it goes, what it sends and how the client is set up."""

    replies: tuple[Reply, ...] = ()
    target: str = "vendor"  # "vendor", "closed" or "garbage"
    method: str = "GET"
    decode: bool = False
    read_timeout: float = 1.0


FAILING_CALLS = {
    "rejected": FailingCall(
        (answer(422, {"error": {"message": "bad", "code": "X"}}),), method="POST"
    ),
    "not-json-error": FailingCall((answer_text(400, "<html/>"),)),
    "auth": FailingCall((answer(401),)),
    "not-found": FailingCall((answer(404),)),
    "unavailable": FailingCall((answer(503),)),
    "rate-limited-over-cap": FailingCall((answer(429, headers={"Retry-After": "999"}),)),
    "redirect": FailingCall((answer(302, headers={"Location": "http://127.0.0.1:9/x"}),)),
    "success-not-json": FailingCall((answer_text(200, "<html/>"),), decode=True),
    "read-timeout": FailingCall((stall(0.3),), read_timeout=0.1),
    "dropped": FailingCall((hang_up(),), method="POST"),
    "refused": FailingCall(target="closed"),
    "malformed": FailingCall(target="garbage", method="POST"),
}


def chain(error: BaseException) -> Iterator[BaseException]:
    """The error and every exception reachable through __cause__ / __context__."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def log_text(records: list[logging.LogRecord]) -> str:
    formatter = logging.Formatter()
    return "\n".join(
        formatter.format(record) + repr(record.args) + repr(record.__dict__) for record in records
    )


@pytest.mark.parametrize("name", list(FAILING_CALLS))
async def test_secrets_never_leak(
    name: str,
    serve: Serve,
    make_client: MakeClient,
    closed_port_url: str,
    garbage_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a failing call, with everything logged at DEBUG
    caplog.set_level(logging.DEBUG)
    call = FAILING_CALLS[name]
    vendor = await serve(*call.replies) if call.replies else None
    url = {"closed": closed_port_url, "garbage": garbage_url}.get(call.target)
    harness = make_client(
        url or (vendor.url if vendor else ""),
        timeouts=Timeouts(connect=1.0, read=call.read_timeout),
        retry=RetryPolicy(max_attempts=2),
    )
    # when
    send = harness.client.json if call.decode else harness.client.request
    with pytest.raises(ProviderError) as caught:
        await send(call.method, "/things")
    # then the secret was sent but appears nowhere else
    if vendor is not None:
        assert vendor.seen[0].headers["Authorization"] == f"Bearer {SECRET}"
    texts = [repr(harness.client), "".join(traceback.format_exception(caught.value))]
    texts += [f"{e!s} {e!r} {e.args!r}" for e in chain(caught.value)]
    texts.append(log_text(caplog.records))
    for text in texts:
        assert SECRET not in text
