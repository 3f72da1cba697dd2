"""submitResult against the real simulators: the provider receives exactly the mapped
write, the payload shows the new status and result, and a MUTATION event is appended;
refusals are user errors and send nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import Api
from tests.api.mutation_support import (
    SUBMIT_RESULT,
    connection_gid,
    create_order,
    events,
    index_kombo,
    index_unified,
    kombo_ids,
    live,
    order_gid,
    provider_writes,
    read_order,
    result_input,
    route_count,
    truth,
)
from tests.conftest import Sandbox


async def _submit(api: Api, result: dict[str, Any], tenant: str = "acme") -> dict[str, Any]:
    body = await api.query(SUBMIT_RESULT, {"input": result}, tenant=tenant)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["submitResult"]
    return payload


def _bodies(sandbox: Sandbox, provider: str, method: str) -> list[Any]:
    return [
        json.loads(e.body)
        for e in sandbox.recorder.for_provider(provider)
        if e.method == method and e.status < 300
    ]


# --- Kombo -------------------------------------------------------------------------------


async def test_kombo_result_is_put_as_mapped_and_recorded_with_a_mutation_event(
    api: Api, sandbox: Sandbox
) -> None:
    # given: Kombo's orders indexed by the poller, one of them OPEN
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)

    # when
    payload = await _submit(api, result_input(gid))

    # then: delivered within the call; Kombo holds exactly the mapped result and status
    assert payload["errors"] == []
    assert payload["order"]["resultDelivery"] == {
        "state": "DELIVERED",
        "attempts": 1,
        "lastError": None,
        "nextAttemptAt": None,
    }
    row = (await truth(sandbox, api, "acme-kombo"))[order_id]
    assert row["status"] == "COMPLETED"
    assert row["result"] == {
        "status": "COMPLETED",
        "result_url": "https://assess.example.com/r/1",
        "completed_at": "2025-03-04T05:06:07.000Z",
        "score": 87.5,
        "max_score": 100.0,
        "attributes": [{"type": "TEXT", "label": "Summary", "value": "Strong on algorithms"}],
        "attachments": [],
    }
    # and the payload shows the order as Kombo now holds it
    order = payload["order"]
    assert order["id"] == gid
    assert order["status"] == "COMPLETED"
    assert order["result"] == {
        "status": "COMPLETED",
        "score": 87.5,
        "maxScore": 100.0,
        "url": "https://assess.example.com/r/1",
        "completedAt": "2025-03-04T05:06:07.000Z",
        "summary": "Strong on algorithms",
    }
    assert events(order) == [(None, "OPEN", "POLL"), ("OPEN", "COMPLETED", "MUTATION")]


async def test_kombo_refuses_a_status_change_once_the_order_left_open(
    api: Api, sandbox: Sandbox
) -> None:
    # given: an order completed through submitResult
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)
    assert (await _submit(api, result_input(gid)))["errors"] == []
    before = await read_order(api, gid)
    puts = await route_count(
        sandbox, "kombo", "PUT /assessment/orders/{assessment_order_id}/result"
    )

    # when: a second result would change its status
    payload = await _submit(api, result_input(gid, "CANCELLED"))

    # then: Kombo's refusal is a user error on the field Kombo named, and the delivery
    # FAILED visibly
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("PROVIDER_REJECTED", ["input", "status"])
    ]
    assert "OPEN" in payload["errors"][0]["message"]
    order = payload["order"]
    assert order["resultDelivery"]["state"] == "FAILED"
    assert order["resultDelivery"]["attempts"] == 1
    assert "OPEN" in order["resultDelivery"]["lastError"]
    assert order["resultDelivery"]["nextAttemptAt"] is None
    # and it was sent once; Kombo and the order's status are as they were
    assert (
        await route_count(sandbox, "kombo", "PUT /assessment/orders/{assessment_order_id}/result")
        == puts + 1
    )
    assert (await truth(sandbox, api, "acme-kombo"))[order_id]["status"] == "COMPLETED"
    after = await read_order(api, gid)
    assert after["status"] == before["status"] == "COMPLETED"
    assert after["events"] == before["events"]
    assert len(before["events"]["edges"]) == 2
    # the result shown is the one Kombo accepted, not the one it refused
    assert after["result"] == before["result"]
    assert after["result"]["status"] == "COMPLETED"
    shown = payload["order"]["result"]
    assert {key: shown[key] for key in before["result"]} == before["result"]


async def test_kombo_cannot_take_an_unknown_status_and_nothing_is_sent(
    api: Api, sandbox: Sandbox
) -> None:
    # given
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    writes = await provider_writes(sandbox)

    # when
    payload = await _submit(api, result_input(order_gid("acme-kombo", order_id), "UNKNOWN"))

    # then
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_INPUT", ["input", "status"])
    ]
    assert await provider_writes(sandbox) == writes


# --- Unified -----------------------------------------------------------------------------


async def test_unified_result_is_patched_as_response_fields(api: Api, sandbox: Sandbox) -> None:
    # given: Unified orders indexed as their webhook backfill delivers them
    remote_ids = await index_unified(sandbox, api)
    rows = await truth(sandbox, api, "acme-unified")
    order_id = next(i for i in remote_ids if rows[i]["status"] != "COMPLETED")
    previous = rows[order_id]["status"]
    gid = order_gid("acme-unified", order_id)

    # when
    payload = await _submit(
        api, result_input(gid, attachments=[{"url": "https://x.example/r.pdf"}])
    )

    # then: one PATCH carrying the result as Unified's response_* fields
    assert payload["errors"] == []
    patches = _bodies(sandbox, "unified", "PATCH")
    assert len(patches) == 1
    sent = patches[0]
    assert sent["connection_id"] == live(api, "acme-unified").settings.account
    assert {k: v for k, v in sent.items() if k not in ("connection_id", "workspace_id")} == {
        "status": "COMPLETED",
        "response_status": "COMPLETED",
        "response_score": 87.5,
        "response_max_score": 100.0,
        "response_url": "https://assess.example.com/r/1",
        "response_completed_at": "2025-03-04T05:06:07Z",
        "response_details": [{"title": "Summary", "text": "Strong on algorithms"}],
        "response_download_urls": ["https://x.example/r.pdf"],
    }
    assert (await truth(sandbox, api, "acme-unified"))[order_id]["status"] == "COMPLETED"
    # and the payload and the event log show it
    order = payload["order"]
    assert order["status"] == "COMPLETED"
    assert order["result"]["score"] == 87.5
    assert order["result"]["maxScore"] == 100.0
    assert events(order)[-1] == (previous, "COMPLETED", "MUTATION")
    assert len(events(order)) == 2


async def test_unified_cannot_take_a_cancelled_result_and_nothing_is_sent(
    api: Api, sandbox: Sandbox
) -> None:
    # given
    remote_ids = await index_unified(sandbox, api)
    gid = order_gid("acme-unified", remote_ids[0])
    before = await read_order(api, gid)
    writes = await provider_writes(sandbox)

    # when: CANCELLED, which Unified's status enum does not have
    payload = await _submit(api, result_input(gid, "CANCELLED"))

    # then
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_INPUT", ["input", "status"])
    ]
    assert "CANCELLED" in payload["errors"][0]["message"]
    assert await provider_writes(sandbox) == writes
    assert (
        await route_count(sandbox, "unified", "PATCH /assessment/{connection_id}/order/{id}") == 0
    )
    assert await read_order(api, gid) == before


# --- StackOne ----------------------------------------------------------------------------


async def test_stackone_result_is_patched_with_string_scores_and_lowercase_value(
    api: Api, sandbox: Sandbox
) -> None:
    # given: an order created through ordergraph (StackOne's only way in)
    created = (await create_order(api, "acme-stackone"))["order"]

    # when
    payload = await _submit(
        api,
        result_input(
            created["id"], "FAILED", score=42.0, minScore=0.0, scoreLabel="points", summary=None
        ),
    )

    # then: the PATCH body is StackOne's result DTO
    assert payload["errors"] == []
    assert _bodies(sandbox, "stackone", "PATCH") == [
        {
            "score": {"label": "points", "value": "42", "min": "0", "max": "100"},
            "submission_date": "2025-03-04T05:06:07.000Z",
            "result": {"value": "failed"},
            "result_url": "https://assess.example.com/r/1",
        }
    ]
    rows = await truth(sandbox, api, "acme-stackone")
    assert rows[created["remoteId"]]["status"] == "failed"
    order = payload["order"]
    assert order["status"] == "FAILED"
    assert order["result"]["score"] == 42.0
    assert events(order) == [(None, "OPEN", "CREATE"), ("OPEN", "FAILED", "MUTATION")]


# --- not found -----------------------------------------------------------------------------


async def test_unknown_foreign_and_wrong_type_ids_are_not_found_and_send_nothing(
    api: Api, sandbox: Sandbox
) -> None:
    # given: acme's Kombo orders indexed
    await index_kombo(api)
    acme_order = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    writes = await provider_writes(sandbox)
    ids = {
        "unknown": order_gid("acme-kombo", "no-such-order"),
        "unknown connection": order_gid("nowhere", acme_order),
        "wrong type": connection_gid("acme-kombo"),
    }

    # when / then: each is NOT_FOUND on orderId
    for label, gid in ids.items():
        payload = await _submit(api, result_input(gid))
        assert payload["order"] is None, label
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("NOT_FOUND", ["input", "orderId"])
        ], label

    # when: globex names acme's order
    payload = await _submit(api, result_input(order_gid("acme-kombo", acme_order)), tenant="globex")

    # then: it does not exist for globex, and no provider saw a write
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert await provider_writes(sandbox) == writes
    assert (await truth(sandbox, api, "acme-kombo"))[acme_order]["status"] == "OPEN"
