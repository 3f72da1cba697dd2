"""refreshOrders: read orders back from their providers now and record what changed
(a POLL event); ids that are not the tenant's orders are NOT_FOUND at their index."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.gateway_support import gateway_with, stackone_api_version
from tests.api.mutation_support import (
    REFRESH_ORDERS,
    SUBMIT_RESULT,
    connection_gid,
    create_order,
    events,
    index_kombo,
    kombo_ids,
    live,
    order_gid,
    read_order,
    result_input,
    route_count,
    truth,
)
from tests.conftest import Sandbox

CAPABILITIES = "query { connections { id provider capabilities } }"


async def _refresh(api: Api, ids: list[str], tenant: str = "acme") -> dict[str, Any]:
    body = await api.query(REFRESH_ORDERS, {"ids": ids}, tenant=tenant)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["refreshOrders"]
    return payload


async def _set_status(
    sandbox: Sandbox, api: Api, connection_id: str, remote_id: str, status: str
) -> None:
    connection = live(api, connection_id)
    await sandbox.control(
        "PATCH",
        "orders",
        {
            "provider": connection.provider_name.value,
            "account": connection.settings.account,
            "id": remote_id,
            "status": status,
        },
    )


async def test_kombo_status_changed_at_the_provider_is_read_back_with_a_poll_event(
    api: Api, sandbox: Sandbox
) -> None:
    # given: indexed Kombo orders; two OPEN ones, one of which the ATS then cancels
    await index_kombo(api)
    changed, untouched = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[:2]
    await _set_status(sandbox, api, "acme-kombo", changed, "CANCELLED")
    gets = await route_count(sandbox, "kombo", "GET /assessment/orders")

    # when
    payload = await _refresh(
        api, [order_gid("acme-kombo", changed), order_gid("acme-kombo", untouched)]
    )

    # then: one ids look-up; the changed order has its new status and a POLL event
    assert payload["errors"] == []
    assert await route_count(sandbox, "kombo", "GET /assessment/orders") == gets + 1
    by_id = {o["id"]: o for o in payload["orders"]}
    assert set(by_id) == {order_gid("acme-kombo", changed), order_gid("acme-kombo", untouched)}
    fresh = by_id[order_gid("acme-kombo", changed)]
    assert fresh["status"] == "CANCELLED"
    assert events(fresh) == [(None, "OPEN", "POLL"), ("OPEN", "CANCELLED", "POLL")]
    # and the unchanged one got no event
    assert events(by_id[order_gid("acme-kombo", untouched)]) == [(None, "OPEN", "POLL")]
    assert (await read_order(api, order_gid("acme-kombo", changed)))["status"] == "CANCELLED"


async def test_refreshing_a_kombo_order_keeps_the_result_we_wrote(
    api: Api, sandbox: Sandbox
) -> None:
    # given: a result written through submitResult (Kombo never returns results)
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)
    body = await api.query(SUBMIT_RESULT, {"input": result_input(gid)})
    assert body["data"]["submitResult"]["errors"] == []
    written = await read_order(api, gid)

    # when
    payload = await _refresh(api, [gid])

    # then: Kombo agrees on the status, and the result is still there
    assert payload["errors"] == []
    assert await read_order(api, gid) == written
    assert written["result"]["score"] == 87.5


async def test_a_legacy_stackone_connection_reads_orders_back_and_refresh_reads_its_result(
    sandbox: Sandbox, fresh_store_url: str
) -> None:
    legacy = stackone_api_version("2025-02-24")
    async with gateway_with(sandbox, fresh_store_url, legacy) as api:
        # given: StackOne's 2025-02 API reads orders back through its GETs
        body = await api.query(CAPABILITIES)
        capabilities = {c["provider"]: set(c["capabilities"]) for c in body["data"]["connections"]}
        assert "GET_ORDERS" in capabilities["STACKONE"]
        assert "LIST_ORDERS" not in capabilities["STACKONE"]
        # and an order created through ordergraph, then in progress at StackOne (a
        # status the 2025-02 enum lacks: it arrives in source_value)
        created = (await create_order(api, "acme-stackone"))["order"]
        await _set_status(sandbox, api, "acme-stackone", created["remoteId"], "in_progress")

        # when
        payload = await _refresh(api, [created["id"]])

        # then
        assert payload["errors"] == []
        assert [o["status"] for o in payload["orders"]] == ["IN_PROGRESS"]
        assert events(payload["orders"][0]) == [
            (None, "OPEN", "CREATE"),
            ("OPEN", "IN_PROGRESS", "POLL"),
        ]
        route = "GET /unified/ats/assessments/orders/{id}"
        assert await route_count(sandbox, "stackone", route) == 1


async def test_a_current_stackone_connection_says_it_cannot_refresh_and_sends_nothing(
    api: Api, sandbox: Sandbox
) -> None:
    # given: the default StackOne connection (API 2025-12-03, which has no order read)
    body = await api.query(CAPABILITIES)
    capabilities = {c["provider"]: set(c["capabilities"]) for c in body["data"]["connections"]}
    assert "GET_ORDERS" not in capabilities["STACKONE"]
    created = (await create_order(api, "acme-stackone"))["order"]
    await _set_status(sandbox, api, "acme-stackone", created["remoteId"], "completed")
    before = (await sandbox.stats())["requests"].get("stackone", {})

    # when
    payload = await _refresh(api, [created["id"]])

    # then: a coded error naming the connection, not the stored copy passed off as fresh
    assert payload["orders"] == []
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("UNSUPPORTED_BY_PROVIDER", ["ids"])
    ]
    assert "acme-stackone" in payload["errors"][0]["message"]
    # and StackOne saw no request
    assert (await sandbox.stats())["requests"].get("stackone", {}) == before
    assert (await read_order(api, created["id"]))["status"] == "OPEN"


async def test_ids_that_are_not_the_tenants_orders_are_not_found_at_their_index(
    api: Api, sandbox: Sandbox
) -> None:
    # given: acme's Kombo orders indexed
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    ids = [
        connection_gid("acme-kombo"),  # 0: not an order id
        order_gid("acme-kombo", order_id),  # 1: fine
        order_gid("acme-kombo", "no-such-order"),  # 2: unknown
        order_gid("globex-kombo", order_id),  # 3: unknown (connection of another tenant)
    ]

    # when
    payload = await _refresh(api, ids)

    # then
    assert [o["id"] for o in payload["orders"]] == [ids[1]]
    assert sorted((e["code"], tuple(e["field"])) for e in payload["errors"]) == [
        ("NOT_FOUND", ("ids", "0")),
        ("NOT_FOUND", ("ids", "2")),
        ("NOT_FOUND", ("ids", "3")),
    ]


async def test_another_tenant_cannot_refresh_an_order(api: Api, sandbox: Sandbox) -> None:
    # given
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    await _set_status(sandbox, api, "acme-kombo", order_id, "CANCELLED")
    gets = await route_count(sandbox, "kombo", "GET /assessment/orders")

    # when: globex names acme's order
    payload = await _refresh(api, [order_gid("acme-kombo", order_id)], tenant="globex")

    # then: not found, not read, and acme's copy untouched
    assert payload["orders"] == []
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["ids", "0"])]
    assert await route_count(sandbox, "kombo", "GET /assessment/orders") == gets
    assert (await read_order(api, order_gid("acme-kombo", order_id)))["status"] == "OPEN"


async def test_more_than_250_ids_is_a_graphql_error(api: Api, sandbox: Sandbox) -> None:
    # given
    ids = [order_gid("acme-kombo", f"o-{i}") for i in range(251)]
    gets = await route_count(sandbox, "kombo", "GET /assessment/orders")

    # when
    body = await api.query(REFRESH_ORDERS, {"ids": ids})

    # then
    # Refused before it runs: ids per request (limits.max_node_ids, default 250) count
    # refreshOrders' ids, so the estimate refuses it before the resolver's own check.
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TOO_MANY_IDS"]
    assert "250" in body["errors"][0]["message"]
    assert await route_count(sandbox, "kombo", "GET /assessment/orders") == gets
    # while exactly 250 is accepted (all unknown here)
    payload = await _refresh(api, ids[:250])
    assert len(payload["errors"]) == 250
    assert payload["errors"][249]["field"] == ["ids", "249"]


async def test_a_status_kombo_records_coarser_is_stored_as_kombo_holds_it(
    api: Api, sandbox: Sandbox
) -> None:
    # given: a FAILED result on an OPEN Kombo order (Kombo can only record COMPLETED)
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)

    # when
    body = await api.query(SUBMIT_RESULT, {"input": result_input(gid, status="FAILED")})
    payload = await _refresh(api, [gid])

    # then: the order says what Kombo holds, the result keeps what was submitted,
    # and reading it back adds no FAILED -> COMPLETED event
    assert body["data"]["submitResult"]["errors"] == []
    order = await read_order(api, gid)
    assert order["status"] == "COMPLETED"
    assert order["result"]["status"] == "FAILED"
    assert payload["errors"] == []
    assert events(payload["orders"][0]) == [
        (None, "OPEN", "POLL"),
        ("OPEN", "COMPLETED", "MUTATION"),
    ]
