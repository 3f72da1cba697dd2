"""createOrder: StackOne and Unified create at the provider and index the order with a
CREATE event; Kombo cannot; foreign connections do not exist; provider refusals are
user errors."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.api.conftest import Api
from tests.api.gateway_support import gateway_with
from tests.api.mutation_support import (
    CREATE_ORDER,
    connection_gid,
    create_order,
    events,
    new_order_input,
    offered_package,
    provider_writes,
    truth,
)
from tests.conftest import Sandbox

LISTED = """
query Listed($connectionIds: [ID!]) {
  orders(first: 50, filter: {connectionIds: $connectionIds}) {
    totalCount
    edges { node { id remoteId status testUrl } }
  }
}
"""


async def _create(api: Api, order: dict[str, Any], tenant: str = "acme") -> dict[str, Any]:
    body = await api.query(CREATE_ORDER, {"input": order}, tenant=tenant)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createOrder"]
    return payload


async def _listed(api: Api, connection_id: str, tenant: str = "acme") -> list[dict[str, Any]]:
    body = await api.query(
        LISTED, {"connectionIds": [connection_gid(connection_id)]}, tenant=tenant
    )
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["orders"]["edges"]]


async def test_stackone_order_is_created_at_stackone_and_indexed(
    api: Api, sandbox: Sandbox
) -> None:
    # given: no StackOne order yet
    assert await truth(sandbox, api, "acme-stackone") == {}
    package_id = await offered_package(api, "acme-stackone")

    # when
    payload = await _create(
        api,
        new_order_input(
            "acme-stackone", package_id, resultsUpdateUrl="https://hooks.example.com/r"
        ),
    )

    # then: StackOne holds the order we described, and answered a test URL
    assert payload["errors"] == []
    order = payload["order"]
    assert order["provider"] == "STACKONE"
    assert order["status"] == "OPEN"
    assert order["testUrl"], order
    assert order["testUrl"].startswith("http")
    assert list(await truth(sandbox, api, "acme-stackone")) == [order["remoteId"]]
    posts = [
        json.loads(e.body) for e in sandbox.recorder.for_provider("stackone") if e.method == "POST"
    ]
    assert len(posts) == 1
    assert posts[0]["package"] == {"id": package_id}
    assert posts[0]["candidate"] == {
        "id": "cand-42",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "emails": [{"value": "ada@example.com"}],
    }
    assert posts[0]["job"] == {"id": "job-7", "title": "Engineer"}
    assert posts[0]["results_update_url"] == "https://hooks.example.com/r"
    assert order["candidate"] == {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "emails": ["ada@example.com"],
    }
    assert events(order) == [(None, "OPEN", "CREATE")]
    # and it is listed like any other order
    listed = await _listed(api, "acme-stackone")
    assert listed == [
        {
            "id": order["id"],
            "remoteId": order["remoteId"],
            "status": "OPEN",
            "testUrl": order["testUrl"],
        }
    ]


async def test_unified_order_is_created_at_unified_and_indexed(api: Api, sandbox: Sandbox) -> None:
    # given
    before = await truth(sandbox, api, "acme-unified")

    # when
    payload = await create_order(api, "acme-unified")

    # then
    order = payload["order"]
    assert order["provider"] == "UNIFIED"
    after = await truth(sandbox, api, "acme-unified")
    assert set(after) - set(before) == {order["remoteId"]}
    assert order["status"] == "OPEN" == after[order["remoteId"]]["status"]
    assert events(order) == [(None, "OPEN", "CREATE")]
    assert [o["remoteId"] for o in await _listed(api, "acme-unified")] == [order["remoteId"]]


async def test_kombo_cannot_create_orders(api: Api, sandbox: Sandbox) -> None:
    # given
    writes = await provider_writes(sandbox)

    # when
    payload = await _create(api, new_order_input("acme-kombo", "pkg-1"))

    # then
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("UNSUPPORTED_BY_PROVIDER", ["connectionId"])
    ]
    assert await provider_writes(sandbox) == writes
    assert await _listed(api, "acme-kombo") == []


async def test_another_tenants_connection_is_not_found(api: Api, sandbox: Sandbox) -> None:
    # given: a package acme's StackOne account offers
    package_id = await offered_package(api, "acme-stackone")
    writes = await provider_writes(sandbox)

    # when: globex orders on acme's connection (and on no connection at all)
    foreign = await _create(api, new_order_input("acme-stackone", package_id), tenant="globex")
    missing = await _create(api, new_order_input("nowhere", package_id), tenant="globex")

    # then
    for payload in (foreign, missing):
        assert payload["order"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("NOT_FOUND", ["connectionId"])
        ]
    assert await provider_writes(sandbox) == writes
    assert await truth(sandbox, api, "acme-stackone") == {}


async def test_a_package_the_account_does_not_offer_is_rejected_by_stackone(
    api: Api, sandbox: Sandbox
) -> None:
    # given: a package offered by globex's StackOne account, not acme's
    globex_package = await offered_package(api, "globex-stackone", tenant="globex")
    assert globex_package != await offered_package(api, "acme-stackone")

    # when
    payload = await _create(api, new_order_input("acme-stackone", globex_package))

    # then: StackOne's 422 is a provider refusal, and nothing was indexed
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["PROVIDER_REJECTED"]
    assert globex_package in payload["errors"][0]["message"]
    assert [e.status for e in sandbox.recorder.for_provider("stackone") if e.method == "POST"] == [
        422
    ]
    assert await truth(sandbox, api, "acme-stackone") == {}
    assert await _listed(api, "acme-stackone") == []


async def test_a_stackone_create_answered_without_an_id_is_a_bad_response_sent_once(
    sandbox: Sandbox, fresh_store_url: str
) -> None:
    # given: acme's StackOne connection points at a StackOne that takes the order (200)
    # but answers without an id
    posts: list[dict[str, Any]] = []

    async def answer(request: web.Request) -> web.Response:
        posts.append(await request.json())
        return web.json_response({"test_url": "https://assessments.example.com/take/x"})

    app = web.Application()
    app.router.add_post("/unified/ats/assessments/orders", answer)
    stackone = TestServer(app, host="127.0.0.1")
    await stackone.start_server()

    def at_this_stackone(connection: dict[str, Any]) -> dict[str, Any]:
        if connection["id"] != "acme-stackone":
            return connection
        return {**connection, "base_url": str(stackone.make_url("")).rstrip("/")}

    try:
        async with gateway_with(sandbox, fresh_store_url, at_this_stackone) as api:
            # when
            payload = await _create(api, new_order_input("acme-stackone", "pkg-1"))

            # then: not "unavailable" (which invites a retry): the order may exist there
            assert payload["order"] is None
            assert [e["code"] for e in payload["errors"]] == ["PROVIDER_BAD_RESPONSE"]
            assert "may exist at StackOne" in payload["errors"][0]["message"]
            assert "acme-stackone" in payload["errors"][0]["message"]
            # and it was sent once, and nothing was indexed
            assert len(posts) == 1
            assert await _listed(api, "acme-stackone") == []
    finally:
        await stackone.close()
