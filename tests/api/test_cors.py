"""CORS on ``/graphql`` (``ordergraph.api.cors``) and the ``server.cors_origins`` setting."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from ordergraph.api import add_graphql_routes
from ordergraph.api.cors import CorsPolicy
from ordergraph.api.http import CACHE_HEADER
from ordergraph.demo.config import DemoSecrets, demo_settings
from ordergraph.errors import ConfigError
from ordergraph.server import create_app
from ordergraph.settings import ServerSettings, Settings, load_settings
from tests.api.conftest import KEYS, Api

APP = "https://app.example.com"
ADMIN = "https://admin.example.com"
EVIL = "https://evil.example.net"
ORDERS = "query { orders(first: 2) { totalCount } }"
AUTH = {"Authorization": f"Bearer {KEYS['acme']}"}

Gateway = Callable[..., Awaitable[Api]]


def _with_server(settings: Settings, **changes: Any) -> Settings:
    # Validated (not model_copy), so the origins are checked and normalised as on load.
    server = ServerSettings.model_validate({**settings.server.model_dump(), **changes})
    return settings.model_copy(update={"server": server})


@pytest.fixture
async def gateway(api: Api) -> AsyncIterator[Gateway]:
    """Another gateway over ``api``'s services, with ``server.cors_origins`` set."""
    servers: list[TestServer] = []

    async def start(origins: Sequence[str], **server: Any) -> Api:
        settings = _with_server(api.services.settings, cors_origins=origins, **server)
        services = dataclasses.replace(api.services, settings=settings)
        app = create_app(services, background=False)
        add_graphql_routes(app)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return Api(str(server.make_url("")).rstrip("/"), services, api.session)

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def cors_api(gateway: Gateway) -> Api:
    return await gateway((APP, ADMIN))


async def preflight(
    api: Api,
    origin: str | None,
    method: str = "POST",
    headers: str | None = "authorization, content-type",
    path: str = "/graphql",
) -> tuple[int, CIMultiDictProxy[str]]:
    sent: dict[str, str] = {"Access-Control-Request-Method": method}
    if origin is not None:
        sent["Origin"] = origin
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    async with api.session.options(api.url + path, headers=sent) as response:
        await response.read()
        return response.status, response.headers


async def post(
    api: Api, origin: str | None, *, auth: bool = True
) -> tuple[int, CIMultiDictProxy[str], dict[str, Any]]:
    headers = {**(AUTH if auth else {}), **({"Origin": origin} if origin else {})}
    async with api.session.post(
        api.url + "/graphql", json={"query": ORDERS}, headers=headers
    ) as response:
        return response.status, response.headers, await response.json()


def vary(headers: CIMultiDictProxy[str]) -> set[str]:
    return {v.strip().lower() for v in headers.get("Vary", "").split(",") if v.strip()}


# --- preflight ---------------------------------------------------------------------------


async def test_preflight_from_a_listed_origin_is_allowed(cors_api: Api) -> None:
    status, headers = await preflight(cors_api, APP)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert headers["Access-Control-Max-Age"] == "600"
    assert {"origin", "access-control-request-headers"} <= vary(headers)
    assert "Access-Control-Allow-Credentials" not in headers


async def test_preflight_for_get_is_allowed_too(cors_api: Api) -> None:
    status, headers = await preflight(cors_api, ADMIN, method="GET", headers=None)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ADMIN
    assert "Access-Control-Allow-Headers" not in headers


async def test_preflight_grants_only_allowed_headers(cors_api: Api) -> None:
    asked = "X-Request-Id, Cache-Control, X-Evil, Accept, Cookie, authorization, Authorization"
    status, headers = await preflight(cors_api, APP, headers=asked)
    assert status == 204
    assert headers["Access-Control-Allow-Headers"] == (
        "x-request-id, cache-control, accept, authorization"
    )


async def test_preflight_from_an_unlisted_origin_is_refused(cors_api: Api) -> None:
    for origin in (EVIL, "null", APP + ":8443", "http://app.example.com"):
        status, headers = await preflight(cors_api, origin)
        assert status == 403, origin
        assert "Access-Control-Allow-Origin" not in headers
        assert "Access-Control-Allow-Methods" not in headers
        assert "origin" in vary(headers)


async def test_preflight_for_another_method_is_refused(cors_api: Api) -> None:
    status, headers = await preflight(cors_api, APP, method="DELETE")
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers


async def test_options_without_a_preflight_is_left_to_the_endpoint(cors_api: Api) -> None:
    async with cors_api.session.options(
        cors_api.url + "/graphql", headers={"Origin": APP}
    ) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET, POST"
        # Still readable by the listed origin.
        assert response.headers["Access-Control-Allow-Origin"] == APP


async def test_no_origin_is_allowed_by_default(api: Api) -> None:
    assert api.services.settings.server.cors_origins == ()
    status, headers = await preflight(api, APP)
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers
    _, headers, body = await post(api, APP)
    assert "Access-Control-Allow-Origin" not in headers
    assert body["data"]["orders"]["totalCount"] == 0


# --- actual requests ---------------------------------------------------------------------


async def test_a_listed_origin_may_read_the_response(cors_api: Api) -> None:
    status, headers, body = await post(cors_api, APP)
    assert status == 200
    assert body["data"]["orders"]["totalCount"] == 0
    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Expose-Headers"].lower() == CACHE_HEADER.lower()
    assert "origin" in vary(headers)
    assert "Access-Control-Allow-Credentials" not in headers


async def test_a_listed_origin_may_read_errors_too(cors_api: Api) -> None:
    status, headers, body = await post(cors_api, APP, auth=False)
    assert status == 401
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert headers["Access-Control-Allow-Origin"] == APP


async def test_an_unlisted_origin_is_served_without_cors_headers(cors_api: Api) -> None:
    status, headers, body = await post(cors_api, EVIL)
    assert status == 200
    assert body["data"]["orders"]["totalCount"] == 0
    assert "Access-Control-Allow-Origin" not in headers
    assert "Access-Control-Expose-Headers" not in headers


async def test_a_request_without_origin_is_untouched(cors_api: Api) -> None:
    status, headers, _ = await post(cors_api, None)
    assert status == 200
    assert not any(name.lower().startswith("access-control-") for name in headers)
    assert "origin" not in vary(headers)


async def test_cached_responses_carry_the_headers_of_their_own_request(cors_api: Api) -> None:
    replies = [await post(cors_api, origin) for origin in (APP, ADMIN, EVIL, None, APP)]
    assert [h[CACHE_HEADER] for _, h, _ in replies] == ["miss", "hit", "hit", "hit", "hit"]
    assert [h.get("Access-Control-Allow-Origin") for _, h, _ in replies] == [
        APP,
        ADMIN,
        None,
        None,
        APP,
    ]
    assert all(body == replies[0][2] for _, _, body in replies)
    # One value each, never two origins concatenated or repeated.
    assert [len(h.getall("Access-Control-Allow-Origin", [])) for _, h, _ in replies] == [
        1,
        1,
        0,
        0,
        1,
    ]


async def test_only_graphql_takes_part(cors_api: Api) -> None:
    status, headers = await preflight(cors_api, APP, path="/webhooks/kombo")
    assert status == 405
    assert "Access-Control-Allow-Origin" not in headers
    async with cors_api.session.post(
        cors_api.url + "/webhooks/kombo", data=b"{}", headers={"Origin": APP}
    ) as response:
        assert "Access-Control-Allow-Origin" not in response.headers
    for path in ("/healthz", "/readyz"):
        async with cors_api.session.get(cors_api.url + path, headers={"Origin": APP}) as response:
            assert response.status == 200
            assert not any(n.lower().startswith("access-control-") for n in response.headers)


# --- "*": the demo -----------------------------------------------------------------------


def _demo_settings() -> Settings:
    return demo_settings(
        host="127.0.0.1",
        port=8000,
        store_url="sqlite:///demo.sqlite3",
        demo_secrets=DemoSecrets(cursor_secret="s", api_keys={t: f"k-{t}" for t in KEYS}),
        connections=[],
    )


async def test_the_demo_allows_every_origin_by_echoing_it(gateway: Gateway) -> None:
    origins = _demo_settings().server.cors_origins
    assert origins == ("*",)
    demo = await gateway(origins)
    for origin in (EVIL, "http://localhost:5173", APP):
        status, headers = await preflight(demo, origin)
        assert status == 204
        assert headers["Access-Control-Allow-Origin"] == origin  # echoed, never "*"
        _, headers, body = await post(demo, origin)
        assert headers["Access-Control-Allow-Origin"] == origin
        assert "Access-Control-Allow-Credentials" not in headers
        assert "errors" not in body
    _, headers, _ = await post(demo, None)
    assert "Access-Control-Allow-Origin" not in headers


# --- settings ----------------------------------------------------------------------------


def _load(origins: list[str]) -> Settings:
    return load_settings(environ={}, overrides={"server": {"cors_origins": origins}})


def test_origins_are_normalised() -> None:
    settings = _load(["HTTPS://App.Example.COM:443", "http://localhost:3000", APP, "*"])
    assert settings.server.cors_origins == (APP, "http://localhost:3000", "*")
    assert _load(["http://[::1]:80"]).server.cors_origins == ("http://[::1]",)


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        (APP + "/", "write 'https://app.example.com'"),
        (APP + "/graphql", "no path"),
        ("ftp://x", "http or https"),
        ("app.example.com", "scheme://host[:port]"),
        ("https://app.example.com:99999", "port"),
        ("https://user@app.example.com", "not a host name"),
        ("https://app.example.com?x=1", "scheme://host[:port]"),
        ("null", "scheme://host[:port]"),
        ("", "scheme://host[:port]"),
    ],
)
def test_settings_refuse_what_is_not_an_origin(origin: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=r"server\.cors_origins") as raised:
        _load([APP, origin])
    assert reason in str(raised.value)


def test_vary_keeps_what_the_handler_set() -> None:
    response = web.Response(headers={"Vary": "Accept, origin"})
    CorsPolicy([APP]).decorate(response, APP)
    assert response.headers["Vary"] == "Accept, origin"
    response = web.Response(headers={"Vary": "Accept"})
    CorsPolicy([APP]).decorate(response, EVIL)
    assert response.headers["Vary"] == "Accept, Origin"
    assert "Access-Control-Allow-Origin" not in response.headers


# --- allowed request headers -------------------------------------------------------------


async def test_apollo_client_headers_are_allowed_by_default(cors_api: Api) -> None:
    # Apollo Client sends these on every request once its name and version are set
    asked = "authorization, content-type, apollographql-client-name, apollographql-client-version"
    status, headers = await preflight(cors_api, APP, headers=asked)
    assert status == 204
    assert headers["Access-Control-Allow-Headers"] == asked
    # and the actual request with them is answered with the CORS headers
    async with cors_api.session.post(
        cors_api.url + "/graphql",
        json={"query": ORDERS},
        headers={
            **AUTH,
            "Origin": APP,
            "apollographql-client-name": "dashboard",
            "apollographql-client-version": "1.2.3",
        },
    ) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == APP
        assert "errors" not in await response.json()


async def test_the_allowed_request_headers_are_configurable(gateway: Gateway) -> None:
    api = await gateway((APP,), cors_allow_headers=("Authorization", "Content-Type", "X-Tenant"))
    status, headers = await preflight(
        api, APP, headers="x-tenant, authorization, apollographql-client-name, content-type"
    )
    assert status == 204
    assert headers["Access-Control-Allow-Headers"] == "x-tenant, authorization, content-type"


def test_settings_refuse_what_is_not_a_header_name() -> None:
    with pytest.raises(ValueError, match="not an HTTP header name"):
        ServerSettings(cors_allow_headers=("x-ok", "bad header"))
    assert ServerSettings(cors_allow_headers=(" X-A ", "x-a")).cors_allow_headers == ("x-a",)
