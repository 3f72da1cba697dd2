"""submitResult checks a result before anything is stored or sent, and a result the
provider refuses never replaces the one it accepted: through the GraphQL API against
the real simulators (issue 12, item 1)."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import Api
from tests.api.mutation_support import (
    SUBMIT_RESULT,
    create_order,
    deliver_due,
    index_kombo,
    kombo_ids,
    order_gid,
    provider_writes,
    read_delivery,
    read_order,
    result_input,
    truth,
)
from tests.conftest import Sandbox

PUT_RESULT = "PUT /assessment/orders/{assessment_order_id}/result"
DOWN = {"kombo": {"error_rate": 1.0, "statuses": [503]}}


async def _submit(api: Api, result: dict[str, Any]) -> dict[str, Any]:
    body = await api.query(SUBMIT_RESULT, {"input": result})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["submitResult"]
    return payload


async def _kombo_order_with_accepted_result(api: Api, sandbox: Sandbox) -> tuple[str, str]:
    """An OPEN Kombo order that then took a COMPLETED result scoring 80: (remote id, gid)."""
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)
    accepted = await _submit(api, result_input(gid, score=80.0))
    assert accepted["errors"] == []
    assert accepted["order"]["resultDelivery"]["state"] == "DELIVERED"
    return order_id, gid


async def test_a_result_that_breaks_the_rules_is_refused_before_it_is_stored_or_sent(
    api: Api, sandbox: Sandbox
) -> None:
    # given: Kombo accepted a result scoring 80
    order_id, gid = await _kombo_order_with_accepted_result(api, sandbox)
    writes = await provider_writes(sandbox)
    before = await read_delivery(api, gid)

    # when: the frontend's bad submission
    payload = await _submit(api, result_input(gid, url="not a url", score=-5.0))

    # then: INVALID_INPUT on the first field at fault, and no order in the payload
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_INPUT", ["input", "url"])
    ]
    assert "absolute http(s) URL" in payload["errors"][0]["message"]
    # and nothing was sent, queued or stored: the order shows what Kombo holds
    assert await provider_writes(sandbox) == writes
    assert len(await api.services.store.deliveries.list("acme")) == 1
    assert await read_delivery(api, gid) == before
    assert before["result"]["score"] == 80.0
    row = (await truth(sandbox, api, "acme-kombo"))[order_id]
    assert row["result"]["score"] == 80.0


async def test_each_rule_names_its_input_field(api: Api, sandbox: Sandbox) -> None:
    # given: an OPEN Kombo order
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)
    writes = await provider_writes(sandbox)
    attachment = {"url": "https://files.example.com/r.pdf", "contentType": "application/pdf"}
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"url": "ftp://files.example.com/r/1"}, ["input", "url"]),
        ({"url": "/results/1"}, ["input", "url"]),
        ({"url": "https:///no-host"}, ["input", "url"]),
        ({"url": "https://assess.example.com/r 1"}, ["input", "url"]),
        ({"score": -5.0}, ["input", "score"]),
        ({"score": 120.0, "maxScore": 100.0}, ["input", "score"]),
        ({"maxScore": 0.0}, ["input", "maxScore"]),
        ({"minScore": -1.0}, ["input", "minScore"]),
        ({"minScore": 50.0, "maxScore": 40.0, "score": 30.0}, ["input", "minScore"]),
        (
            {"startedAt": "2025-03-05T00:00:00Z", "completedAt": "2025-03-04T00:00:00Z"},
            ["input", "completedAt"],
        ),
        (
            {"attachments": [attachment, {"url": "not a url"}]},
            ["input", "attachments", "1", "url"],
        ),
        (
            {"attributes": [{"label": "Part", "type": "SUB_RESULT", "score": 7, "maxScore": 5}]},
            ["input", "attributes", "0", "score"],
        ),
    ]

    for change, field in cases:
        # when
        payload = await _submit(api, result_input(gid, **change))

        # then
        assert payload["order"] is None, change
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)], (
            change
        )
    # and none of them reached Kombo or the store
    assert await provider_writes(sandbox) == writes
    assert await api.services.store.deliveries.list("acme") == []
    assert (await read_order(api, gid))["result"] is None


async def test_a_valid_result_still_goes_through(api: Api, sandbox: Sandbox) -> None:
    # given: an OPEN Kombo order
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)

    # when: scores at both ends of the range, an http URL and an attachment
    payload = await _submit(
        api,
        result_input(
            gid,
            url="http://assess.example.com:8080/r/1?x=1",
            score=100.0,
            minScore=0.0,
            attachments=[{"url": "https://files.example.com/r.pdf"}],
        ),
    )

    # then
    assert payload["errors"] == []
    assert payload["order"]["resultDelivery"]["state"] == "DELIVERED"
    sent = (await truth(sandbox, api, "acme-kombo"))[order_id]["result"]
    assert sent["result_url"] == "http://assess.example.com:8080/r/1?x=1"
    assert sent["attachments"] == [{"name": "r.pdf", "data_url": "https://files.example.com/r.pdf"}]


async def test_a_result_refused_in_the_background_gives_way_to_the_accepted_one(
    api: Api, sandbox: Sandbox
) -> None:
    # given: Kombo accepted a COMPLETED result scoring 80, then went down while a
    # CANCELLED one (which Kombo will refuse: the order is no longer OPEN) was submitted
    order_id, gid = await _kombo_order_with_accepted_result(api, sandbox)
    await sandbox.faults(DOWN)
    pending = await _submit(api, result_input(gid, "CANCELLED", score=10.0))
    assert pending["errors"] == []
    delivery = pending["order"]["resultDelivery"]
    assert delivery["state"] == "PENDING"
    # while it waits, the order shows ours (the README's durable-delivery semantics)
    assert (await read_delivery(api, gid))["result"]["score"] == 10.0
    await sandbox.faults({})

    # when: the deliverer retries and Kombo refuses it
    await deliver_due(api, delivery)

    # then: FAILED visibly, and the order shows the result Kombo holds again
    order = await read_delivery(api, gid)
    assert order["resultDelivery"]["state"] == "FAILED"
    assert "OPEN" in order["resultDelivery"]["lastError"]
    assert order["result"] == {
        "status": "COMPLETED",
        "score": 80.0,
        "url": "https://assess.example.com/r/1",
    }
    assert order["status"] == "COMPLETED"
    assert (await truth(sandbox, api, "acme-kombo"))[order_id]["result"]["score"] == 80.0


async def test_a_refused_first_result_leaves_the_order_without_one(
    api: Api, sandbox: Sandbox
) -> None:
    # given: a StackOne order whose provider refuses what we send (its validation 400)
    created = (await create_order(api, "acme-stackone"))["order"]
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [422]}})

    # when
    payload = await _submit(api, result_input(created["id"]))
    await sandbox.faults({})

    # then: refused, FAILED, and the order shows no result (StackOne accepted none)
    assert [e["code"] for e in payload["errors"]] == ["PROVIDER_REJECTED"]
    assert payload["order"]["resultDelivery"]["state"] == "FAILED"
    assert payload["order"]["result"] is None
    assert (await read_order(api, created["id"]))["result"] is None


async def test_a_refusal_naming_no_field_points_at_none_and_keeps_the_accepted_result(
    api: Api, sandbox: Sandbox
) -> None:
    # given: a StackOne order that took a result scoring 87.5
    created = (await create_order(api, "acme-stackone"))["order"]
    assert (await _submit(api, result_input(created["id"])))["errors"] == []

    # when: StackOne refuses the next one with a 400 whose message names no field
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [400]}})
    refused = await _submit(api, result_input(created["id"], score=50.0))
    await sandbox.faults({})

    # then: PROVIDER_REJECTED on no field (never orderId by default)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("PROVIDER_REJECTED", None)]
    assert refused["order"]["resultDelivery"]["state"] == "FAILED"
    # and the order still shows the result StackOne accepted, the only one it holds
    assert refused["order"]["result"]["score"] == 87.5
    writes = [
        json.loads(e.body)
        for e in sandbox.recorder.for_provider("stackone")
        if e.method == "PATCH" and e.status < 300
    ]
    assert [w["score"]["value"] for w in writes] == ["87.5"]
