"""Every error a client gets carries ``extensions.code``, over HTTP and WebSocket:
parse, validation and variable-coercion errors, unreadable global ids, an unknown
operation name and masked unexpected failures (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import KEYS, Api
from tests.api.helpers import error_codes
from tests.api.ws_client import connect

CASES: dict[str, tuple[str, dict[str, Any], str | frozenset[str]]] = {
    "parse": ("{ connections { id ", {}, "GRAPHQL_PARSE_FAILED"),
    "validation": ("{ connections { nothingHere } }", {}, "GRAPHQL_VALIDATION_FAILED"),
    "unknown variable type": ("query($x: Nope) { connections { id } }", {}, (
        "GRAPHQL_VALIDATION_FAILED"
    )),
    "variable coercion": (
        "query($n: Int!) { orders(first: $n) { totalCount } }", {"n": "ten"}, "BAD_USER_INPUT"
    ),
    "missing variable": (
        "query($n: Int!) { orders(first: $n) { totalCount } }", {}, "BAD_USER_INPUT"
    ),
    "bad id literal": ('{ node(id: "not-base64!") { id } }', {}, "INVALID_ID"),
    "bad id variable": ("query($id: ID!) { node(id: $id) { id } }", {"id": "zz"}, "INVALID_ID"),
    "bad id in a list": (
        # each id is answered on its own: a well-formed unknown one is NOT_FOUND
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["T3JkZXI6YTpi", "%%"]},
        frozenset({"NOT_FOUND", "INVALID_ID"}),
    ),
    "bad id in a mutation": (
        "mutation($ids: [ID!]!) { refreshOrders(ids: $ids) { errors { code } } }",
        {"ids": ["@@@"]}, "INVALID_ID",
    ),
}  # fmt: skip


def _expected(code: str | frozenset[str]) -> set[str]:
    return {code} if isinstance(code, str) else set(code)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_every_request_error_has_a_code_over_http(api: Api, case: str) -> None:
    document, variables, code = CASES[case]
    body = await api.query(document, variables)
    assert body["errors"], body
    assert set(error_codes(body)) == _expected(code), body


async def test_every_request_error_has_a_code_over_websocket(api: Api) -> None:
    # (graphql-transport-ws answers a document that does not parse by closing the
    # socket with 4400, which has no place for a code)
    async with connect(api.session, api.url) as client:
        await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        for number, case in enumerate(sorted(set(CASES) - {"parse"})):
            document, variables, code = CASES[case]
            op_id = str(number)
            await client.subscribe(op_id, document, variables)
            message = await client.message(op_id)
            assert "close" not in message, (case, message)
            errors = (
                message["payload"]["errors"] if message["type"] == "next" else message["payload"]
            )
            codes = {(e.get("extensions") or {}).get("code") for e in errors}
            assert codes == _expected(code), (case, message)


async def test_an_unknown_operation_name_has_a_code(api: Api) -> None:
    async with api.session.post(
        api.url + "/graphql",
        json={"query": "query A { connections { id } }", "operationName": "B"},
        headers={"Authorization": f"Bearer {KEYS['acme']}"},
    ) as response:
        body = await response.json()
    assert error_codes(body) == ["OPERATION_RESOLUTION_FAILURE"]


async def test_a_masked_unexpected_error_is_coded_internal(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a store that fails in a way nobody planned for (the only way to provoke a bug)
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api.services.store.orders, "page", broken)
    body = await api.query("{ orders { edges { cursor } } }")
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["orders"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
