"""Fuzzing /graphql: any document, variables, operation name, extensions, method,
Content-Type and Accept. Never a 5xx, never a stack trace, always a GraphQL-shaped
JSON body (or GraphiQL's page, for a browser GET without a query)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from tests.fuzz.conftest import KEYS, Fuzzed
from tests.fuzz.probe import assert_clean, assert_graphql_shaped
from tests.fuzz.profiles import fuzz_settings
from tests.fuzz.strategies import (
    ACCEPTS,
    CONTENT_TYPES,
    DOCUMENTS,
    documents,
    json_values,
    raw_json_texts,
    to_json,
)

# aiohttp's default limit on the request line (method, path, query string, version).
_MAX_REQUEST_LINE = 8190
_AUTH = st.sampled_from([KEYS["acme"], KEYS["globex"], "wrong-key", ""])
_NAMES = st.none() | st.sampled_from(["Dashboard", "Lookup", "Two", "Other", ""]) | st.text()

pytestmark = pytest.mark.fuzz


def _check(reply: Any, sent: str) -> None:
    assert_clean(reply, sent)
    if reply.headers.get("Content-Type", "").startswith("text/html"):
        assert reply.status == 200  # GraphiQL for a browser
        return
    assert_graphql_shaped(reply)


@fuzz_settings(examples=400)
@given(
    document=documents,
    variables=st.none() | st.dictionaries(st.sampled_from(["id", "after", "x"]), json_values),
    operation=_NAMES,
    extensions=st.none() | json_values,
    method=st.sampled_from(["POST", "POST", "GET"]),
    content_type=CONTENT_TYPES,
    accept=ACCEPTS,
    key=_AUTH,
)
async def test_any_request_gets_a_graphql_shaped_answer(
    fuzzed: Fuzzed,
    document: str,
    variables: dict[str, Any] | None,
    operation: Any,
    extensions: Any,
    method: str,
    content_type: str | None,
    accept: str | None,
    key: str,
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    if accept is not None:
        headers["Accept"] = accept
    params = {"query": document, "variables": variables, "operationName": operation}
    params["extensions"] = extensions
    if method == "GET":
        query = {
            k: v if isinstance(v, str) else to_json(v) for k, v in params.items() if v is not None
        }
        reply = await fuzzed.probe.send("GET", "/graphql", headers=headers, params=query)
        sent = json.dumps(query)
        target = URL(fuzzed.api.url + "/graphql").with_query(query).raw_path_qs
        if len(f"GET {target} HTTP/1.1") > _MAX_REQUEST_LINE - 100 and reply.status == 400:
            # aiohttp's HTTP parser refuses a request line that long before the app
            # sees it, with its own plain-text 400.
            assert_clean(reply, sent)
            return
    else:
        if content_type is not None:
            headers["Content-Type"] = content_type
        sent = to_json(params)
        reply = await fuzzed.probe.send("POST", "/graphql", headers=headers, data=sent)
    _check(reply, sent)


@fuzz_settings(examples=60)
@given(body=raw_json_texts, accept=ACCEPTS)
async def test_bodies_no_encoder_would_write_are_refused_cleanly(
    fuzzed: Fuzzed, body: str, accept: str | None
) -> None:
    headers = {"Authorization": f"Bearer {KEYS['acme']}", "Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    reply = await fuzzed.probe.send(
        "POST", "/graphql", headers=headers, data=body.encode("utf-8", "surrogatepass")
    )
    _check(reply, body)


@fuzz_settings(examples=150)
@given(
    document=st.sampled_from(DOCUMENTS),
    variables=st.dictionaries(
        st.sampled_from(["id", "after", "first", "orderId", "search", "$", ""]),
        # Large, yet the whole body stays under server.max_body_bytes (2 MiB).
        json_values | st.integers(10_000, 60_000).map(lambda n: "x" * n),
        max_size=4,
    ),
)
async def test_variables_of_any_type_and_size_are_errors_not_failures(
    fuzzed: Fuzzed, document: str, variables: dict[str, Any]
) -> None:
    body = await fuzzed.probe.graphql(document, variables, key=KEYS["acme"])
    for error in body.get("errors") or []:
        assert (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR", error
