"""GraphQL over HTTP on /graphql: media types, status codes, malformed requests, auth.

The status-code table is in ``ordergraph/api/http.py``; graphql-http's audit
(``test_graphql_http_audit.py``) checks the spec, these tests check our own choices
(401, 405, 406, 413, 415, masking, tenants) and the error bodies.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from ordergraph.api import http as http_module
from ordergraph.api.media import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, negotiate
from tests.api.conftest import KEYS, Api
from tests.api.helpers import deliver_unified, gid, unified_order

GRJ = GRAPHQL_RESPONSE_JSON
JSON = APPLICATION_JSON


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    text: str

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0]

    def json(self) -> Any:
        return json.loads(self.text)

    def error_codes(self) -> list[str]:
        return [e["extensions"]["code"] for e in self.json()["errors"]]


async def send(
    api: Api,
    method: str = "POST",
    *,
    body: Any = None,
    data: bytes | str | AsyncIterator[bytes] | None = None,
    params: Mapping[str, str] | None = None,
    accept: str | None = None,
    content_type: str | None = JSON,
    tenant: str | None = "acme",
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """One raw request to /graphql (``body`` is sent as JSON, ``data`` as is)."""
    sent: dict[str, str] = {}
    if tenant is not None:
        sent["Authorization"] = f"Bearer {KEYS[tenant]}"
    if accept is not None:
        sent["Accept"] = accept
    if content_type is not None and method == "POST":
        sent["Content-Type"] = content_type
    sent |= dict(headers or {})
    raw = json.dumps(body) if body is not None else data
    if isinstance(raw, str):
        raw = raw.encode()
    # aiohttp warns about large raw bytes bodies; a file object it streams quietly.
    payload = io.BytesIO(raw) if isinstance(raw, bytes) else raw
    # aiohttp would add Accept: */* and a Content-Type of its own; absent means absent.
    skip = [name for name in ("Accept", "Content-Type") if name not in sent]
    async with api.session.request(
        method,
        f"{api.url}/graphql",
        data=payload,
        params=params,
        headers=sent,
        skip_auto_headers=skip,
    ) as response:
        return Answer(response.status, dict(response.headers), await response.text())


# --- media types and GraphQL request errors ------------------------------------------------


async def test_query_answers_in_the_media_type_asked_for(api: Api) -> None:
    for accept, expected in ((GRJ, GRJ), (JSON, JSON), ("*/*", JSON), (None, JSON)):
        answer = await send(api, body={"query": "{ __typename }"}, accept=accept)
        assert answer.status == 200, (accept, answer.text)
        assert answer.content_type == expected, accept
        assert answer.headers["Content-Type"].endswith("charset=utf-8")
        assert answer.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ orders {", None, "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query Q($n: Int!) { __typename }", {"n": "not an int"}, None),
    ],
    ids=["parse", "validation", "variable coercion"],
)
async def test_request_errors_are_400_for_graphql_response_json_and_200_for_json(
    api: Api, query: str, variables: dict[str, Any] | None, code: str | None
) -> None:
    strict = await send(api, body={"query": query, "variables": variables}, accept=GRJ)
    assert strict.status == 400, strict.text
    assert strict.content_type == GRJ
    assert "data" not in strict.json()
    assert strict.json()["errors"][0]["message"]
    legacy = await send(api, body={"query": query, "variables": variables}, accept=JSON)
    assert legacy.status == 200, legacy.text
    assert legacy.json()["errors"] == strict.json()["errors"]


async def test_unknown_operation_name_is_a_request_error(api: Api) -> None:
    body = {"query": "query A { __typename }", "operationName": "B"}
    strict = await send(api, body=body, accept=GRJ)
    assert strict.status == 400
    assert "B" in strict.json()["errors"][0]["message"]
    assert (await send(api, body=body, accept=JSON)).status == 200


async def test_field_errors_are_200_with_data_for_both_media_types(api: Api) -> None:
    query = "{ orders(first: 100000) { edges { cursor } } }"
    for accept in (GRJ, JSON):
        answer = await send(api, body={"query": query}, accept=accept)
        assert answer.status == 200, answer.text
        assert "data" in answer.json()
        assert answer.error_codes() == ["PAGE_SIZE_EXCEEDED"]


async def test_unsupported_accept_is_406(api: Api) -> None:
    answer = await send(api, body={"query": "{ __typename }"}, accept="text/plain")
    assert answer.status == 406
    assert answer.content_type == JSON
    assert answer.error_codes() == ["NOT_ACCEPTABLE"]
    assert (await send(api, body={"query": "{ __typename }"}, accept=f"{GRJ};q=0")).status == 406


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (GRJ, GRJ),
        (f"{JSON}, {GRJ}", GRJ),
        (f"{GRJ};q=0.9, {JSON}", JSON),
        # RFC 9110: the most specific range sets a type's q; */* rates the other at 1.
        (f"{JSON};q=0.5, */*", GRJ),
        (f"{GRJ}, */*;q=0.1", GRJ),
        ("text/html,application/xhtml+xml,*/*;q=0.8", JSON),
        (f"{JSON};charset=utf-8", JSON),
        ("text/html", None),
        (f"{JSON};q=0, {GRJ};q=0", None),
        ("garbage", None),
    ],
)
def test_negotiation(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


# --- malformed HTTP requests ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{ "not a JSON',
        "[]",
        '"a string"',
        "",
        '{"query": 1}',
        '{"query": ["{ __typename }"]}',
        '{"notquery": "{ __typename }"}',
        '{"query": "   "}',
        '{"query": "{ __typename }", "variables": "{}"}',
        '{"query": "{ __typename }", "variables": [1]}',
        '{"query": "{ __typename }", "operationName": 7}',
        '{"query": "{ __typename }", "extensions": "x"}',
        # an integer past Python's int/str digit limit (found by tests/fuzz): was a 500
        '{"query": "{ __typename }", "variables": {"n": ' + "9" * 5000 + "}}",
        # a lone surrogate escape, which no UTF-8 text can hold (tests/fuzz): was a 500
        '{"query": "{ __typename }", "variables": {"a": "\\ud800"}}',
    ],
)
async def test_malformed_bodies_are_400_with_a_graphql_error(api: Api, raw: str) -> None:
    for accept in (GRJ, JSON):
        answer = await send(api, data=raw, accept=accept)
        assert answer.status == 400, (raw, answer.text)
        assert answer.content_type == accept
        body = answer.json()
        assert set(body) == {"errors"}
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert body["errors"][0]["message"]


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 10**30])
async def test_integers_past_64_bits_in_variables_are_no_failure(api: Api, number: int) -> None:
    # orjson refuses them when the response-cache key and the body are encoded
    # (found by tests/fuzz): was a 500, is an answer
    raw = '{"query": "{ __typename }", "variables": {"id": ' + str(number) + "}}"
    for accept in (GRJ, JSON):
        answer = await send(api, data=raw, accept=accept)
        assert answer.status == 200, (raw, answer.text)
        assert answer.json() == {"data": {"__typename": "Query"}}


async def test_body_that_is_not_utf8_is_400(api: Api) -> None:
    answer = await send(api, data=b'{"query": "\xff\xfe"}')
    assert answer.status == 400
    assert "UTF-8" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
async def test_unsupported_content_type_is_415(api: Api, content_type: str | None) -> None:
    answer = await send(
        api, data=json.dumps({"query": "{ __typename }"}).encode(), content_type=content_type
    )
    assert answer.status == 415, answer.text
    assert answer.error_codes() == ["UNSUPPORTED_MEDIA_TYPE"]


async def test_charset_utf8_is_accepted(api: Api) -> None:
    answer = await send(
        api,
        body={"query": '{ candidates(search: "Run🏃") { totalCount } }'},
        content_type="application/json; charset=UTF-8",
    )
    assert answer.status == 200
    assert answer.json() == {"data": {"candidates": {"totalCount": 0}}}


async def test_body_over_the_limit_is_413(api: Api) -> None:
    limit = api.services.settings.server.max_body_bytes
    padding = "x" * limit
    answer = await send(api, body={"query": "{ __typename }", "extensions": {"pad": padding}})
    assert answer.status == 413
    assert answer.error_codes() == ["PAYLOAD_TOO_LARGE"]


async def test_chunked_body_over_the_limit_is_413(api: Api) -> None:
    limit = api.services.settings.server.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    answer = await send(api, data=chunks())
    assert answer.status == 413


async def test_body_just_under_the_limit_is_served(api: Api) -> None:
    limit = api.services.settings.server.max_body_bytes
    envelope = len(json.dumps({"query": "{ __typename }", "pad": ""}))
    answer = await send(api, body={"query": "{ __typename }", "pad": "x" * (limit - envelope)})
    assert answer.status == 200, answer.text


# --- methods -------------------------------------------------------------------------------


async def test_get_with_query_parameters(api: Api) -> None:
    params = {
        "query": "query T($search: String!) { candidates(search: $search) { totalCount } }",
        "variables": json.dumps({"search": "Order"}),
        "operationName": "T",
        "extensions": json.dumps({"some": "value"}),
    }
    for accept in (GRJ, JSON):
        answer = await send(api, "GET", params=params, accept=accept)
        assert answer.status == 200, answer.text
        assert answer.content_type == accept
        assert answer.json() == {"data": {"candidates": {"totalCount": 0}}}


@pytest.mark.parametrize(
    "params",
    [
        {"query": "{ __typename }", "variables": "{not json"},
        {"query": "{ __typename }", "variables": "[1, 2]"},
        {"query": "{ __typename }", "extensions": "3"},
        {"variables": "{}"},
    ],
)
async def test_bad_get_parameters_are_400(api: Api, params: dict[str, str]) -> None:
    answer = await send(api, "GET", params=params, accept=JSON)
    assert answer.status == 400, answer.text
    assert answer.error_codes() == ["BAD_REQUEST"]


async def test_mutation_over_get_is_405_allow_post(api: Api) -> None:
    for accept in (GRJ, JSON):
        answer = await send(api, "GET", params={"query": "mutation { __typename }"}, accept=accept)
        assert answer.status == 405
        assert answer.headers["Allow"] == "POST"
        assert answer.error_codes() == ["BAD_METHOD"]


async def test_other_methods_are_405(api: Api) -> None:
    answer = await send(api, "PUT", body={"query": "{ __typename }"})
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, POST"


async def test_subscription_over_http_is_400(api: Api) -> None:
    answer = await send(api, body={"query": "subscription { x }"}, accept=JSON)
    assert answer.status == 400
    assert answer.error_codes() == ["SUBSCRIPTION_OVER_HTTP"]
    assert "WebSocket" in answer.json()["errors"][0]["message"]


async def test_browser_get_without_query_serves_graphiql(api: Api) -> None:
    answer = await send(api, "GET", tenant=None, accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert answer.status == 200
    assert answer.content_type == "text/html"
    assert "graphiql" in answer.text.lower()
    assert "unpkg.com" not in answer.text


# --- authentication and tenants ------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-key", "Basic a2V5LWFjbWU6", "Bearer ", "key-acme"]
)
async def test_unauthenticated_is_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for accept in (GRJ, JSON):
        answer = await send(
            api, body={"query": "{ __typename }"}, tenant=None, headers=headers, accept=accept
        )
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.content_type == accept
        assert answer.error_codes() == ["UNAUTHENTICATED"]
        assert "not-a-key" not in answer.text


async def test_a_tenant_never_reads_another_tenants_orders(api: Api) -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    await deliver_unified(api, "globex-unified", [unified_order("GLOBEX-1", created_at=now)])
    order_id = gid("Order", "globex-unified:GLOBEX-1")
    query = "query O($id: ID!) { order(id: $id) { remoteId } node(id: $id) { id } }"
    theirs = await api.query(query, {"id": order_id}, tenant="globex")
    assert theirs == {"data": {"order": {"remoteId": "GLOBEX-1"}, "node": {"id": order_id}}}
    mine = await api.query(query, {"id": order_id}, tenant="acme")
    assert mine == {"data": {"order": None, "node": None}}
    listing = await api.query("{ orders { totalCount edges { node { remoteId } } } }")
    assert "GLOBEX-1" not in json.dumps(listing)


# --- failures ------------------------------------------------------------------------------


async def test_unexpected_resolver_errors_are_masked(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in /srv/ordergraph/secret_module.py with key-acme")

    monkeypatch.setattr(api.services.store.orders, "page", broken)
    answer = await send(api, body={"query": "{ orders { edges { cursor } } }"}, accept=GRJ)
    assert answer.status == 200
    assert answer.json()["errors"][0]["message"] == "Unexpected error."
    for leak in ("secret_module", "/srv/", "key-acme", "Traceback", "RuntimeError"):
        assert leak not in answer.text


async def test_unexpected_transport_errors_are_a_generic_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom in /srv/ordergraph/auth.py")

    monkeypatch.setattr(http_module, "principal_from_headers", broken)
    answer = await send(api, body={"query": "{ __typename }"})
    assert answer.status == 500
    assert answer.json() == {
        "errors": [
            {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }


async def test_websocket_upgrades_still_reach_strawberrys_view(api: Api) -> None:
    async with api.session.ws_connect(
        f"{api.url}/graphql", protocols=["graphql-transport-ws"]
    ) as socket:
        assert socket.protocol == "graphql-transport-ws"
        await socket.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {KEYS['acme']}"}}
        )
        assert (await socket.receive_json(timeout=5))["type"] == "connection_ack"
