"""Idempotency keys: one provider write per (tenant, key), the same answer on a repeat,
refusals for a reused or busy key, and a key freed again when its write failed."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.conftest import Api
from tests.api.mutation_support import (
    CREATE_ORDER,
    SUBMIT_RESULT,
    deliver_due,
    events,
    index_kombo,
    kombo_ids,
    new_order_input,
    offered_package,
    order_gid,
    read_order,
    result_input,
    truth,
)
from tests.conftest import Sandbox

PUT_RESULT = "PUT /assessment/orders/{assessment_order_id}/result"


def _kombo_puts(sandbox: Sandbox, *, ok_only: bool = False) -> int:
    return sum(
        1
        for e in sandbox.recorder.for_provider("kombo")
        if e.method == "PUT" and e.path.endswith("/result") and (e.status < 300 or not ok_only)
    )


async def _submit(api: Api, result: dict[str, Any], tenant: str = "acme") -> dict[str, Any]:
    body = await api.query(SUBMIT_RESULT, {"input": result}, tenant=tenant)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["submitResult"]
    return payload


async def _open_kombo_order(api: Api, sandbox: Sandbox, tenant: str = "acme") -> str:
    await index_kombo(api, tenant)
    remote_id = kombo_ids(await truth(sandbox, api, f"{tenant}-kombo"), "OPEN")[0]
    return order_gid(f"{tenant}-kombo", remote_id)


async def test_a_repeat_with_the_same_key_writes_once_and_gets_the_same_answer(
    api: Api, sandbox: Sandbox
) -> None:
    # given
    gid = await _open_kombo_order(api, sandbox)
    request = result_input(gid, idempotencyKey="result-1")

    # when: the same request twice
    first = await _submit(api, request)
    second = await _submit(api, request)

    # then: Kombo saw one PUT, both callers the same completed order
    assert first["errors"] == []
    assert first["order"]["status"] == "COMPLETED"
    assert second == first
    assert _kombo_puts(sandbox) == 1
    assert events(first["order"])[-1] == ("OPEN", "COMPLETED", "MUTATION")
    assert len(events(await read_order(api, gid))) == 2


async def test_the_same_key_with_another_input_is_refused(api: Api, sandbox: Sandbox) -> None:
    # given: a key used for one result
    gid = await _open_kombo_order(api, sandbox)
    assert (await _submit(api, result_input(gid, idempotencyKey="k")))["errors"] == []

    # when: the key comes back with another score, and with another operation
    other_score = await _submit(api, result_input(gid, score=10.0, idempotencyKey="k"))
    package_id = await offered_package(api, "acme-stackone")
    body = await api.query(
        CREATE_ORDER,
        {"input": new_order_input("acme-stackone", package_id, idempotencyKey="k")},
    )

    # then: both are refused on idempotencyKey and nothing more was written
    for payload in (other_score, body["data"]["createOrder"]):
        assert payload["order"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("IDEMPOTENCY_KEY_REUSED", ["idempotencyKey"])
        ]
    assert _kombo_puts(sandbox) == 1
    assert await truth(sandbox, api, "acme-stackone") == {}
    assert (await read_order(api, gid))["result"]["score"] == 87.5


async def test_concurrent_duplicates_write_once(api: Api, sandbox: Sandbox) -> None:
    # given: a slow Kombo, so the two requests overlap
    gid = await _open_kombo_order(api, sandbox)
    await sandbox.faults({"kombo": {"latency_ms": [300, 300]}})
    request = result_input(gid, idempotencyKey="together")

    # when
    answers = await asyncio.gather(_submit(api, request), _submit(api, request))

    # then: exactly one PUT; one caller got the order, the other the same or "in use"
    assert _kombo_puts(sandbox) == 1
    succeeded = [a for a in answers if a["errors"] == []]
    assert len(succeeded) >= 1
    assert succeeded[0]["order"]["status"] == "COMPLETED"
    for answer in answers:
        if answer["errors"]:
            assert answer["order"] is None
            assert [(e["code"], e["field"]) for e in answer["errors"]] == [
                ("IDEMPOTENCY_KEY_IN_USE", ["idempotencyKey"])
            ]
        else:
            assert answer == succeeded[0]
    assert len(events(await read_order(api, gid))) == 2


async def test_a_result_that_met_a_down_provider_is_kept_under_its_key_and_delivered_once(
    api: Api, sandbox: Sandbox
) -> None:
    # given: the first attempt meets a Kombo that is down
    gid = await _open_kombo_order(api, sandbox)
    request = result_input(gid, idempotencyKey="retry-me")
    await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
    kept = await _submit(api, request)
    assert kept["errors"] == []
    assert kept["order"]["resultDelivery"]["state"] == "PENDING"
    assert "503" in kept["order"]["resultDelivery"]["lastError"]
    assert _kombo_puts(sandbox, ok_only=True) == 0

    # when: Kombo is back and the client retries with the same key
    await sandbox.faults({})
    repeated = await _submit(api, request)

    # then: the same answer, and nothing new was queued or sent
    assert repeated == kept
    assert _kombo_puts(sandbox, ok_only=True) == 0
    assert len(await api.services.store.deliveries.list("acme")) == 1

    # when: the deliverer's retry comes due
    await deliver_due(api, kept["order"]["resultDelivery"])

    # then: one write; the key still answers with the order, now delivered
    assert _kombo_puts(sandbox, ok_only=True) == 1
    again = await _submit(api, request)
    assert again["errors"] == []
    assert again["order"]["status"] == "COMPLETED"
    assert again["order"]["resultDelivery"]["state"] == "DELIVERED"
    assert again["order"]["resultDelivery"]["attempts"] == 2
    assert _kombo_puts(sandbox, ok_only=True) == 1
    assert events(again["order"])[-1] == ("OPEN", "COMPLETED", "MUTATION")


async def test_keys_are_per_tenant(api: Api, sandbox: Sandbox) -> None:
    # given: acme used a key
    acme = await _open_kombo_order(api, sandbox, "acme")
    assert (await _submit(api, result_input(acme, idempotencyKey="shared")))["errors"] == []
    globex = await _open_kombo_order(api, sandbox, "globex")

    # when: globex sends its own result with the same key string
    payload = await _submit(api, result_input(globex, idempotencyKey="shared"), tenant="globex")

    # then: globex's write happened on its own order
    assert payload["errors"] == []
    assert payload["order"]["id"] == globex
    assert _kombo_puts(sandbox) == 2
    written = {
        rid for rid, row in (await truth(sandbox, api, "globex-kombo")).items() if "result" in row
    }
    assert [order_gid("globex-kombo", rid) for rid in written] == [globex]


async def test_create_order_with_the_same_key_creates_once(api: Api, sandbox: Sandbox) -> None:
    # given
    package_id = await offered_package(api, "acme-stackone")
    request = {"input": new_order_input("acme-stackone", package_id, idempotencyKey="new-1")}

    # when
    first = await api.query(CREATE_ORDER, request)
    second = await api.query(CREATE_ORDER, request)

    # then: one POST at StackOne, one order, the same answer
    assert first["data"]["createOrder"]["errors"] == []
    assert second == first
    posts = [e for e in sandbox.recorder.for_provider("stackone") if e.method == "POST"]
    assert len(posts) == 1
    assert list(await truth(sandbox, api, "acme-stackone")) == [
        first["data"]["createOrder"]["order"]["remoteId"]
    ]


async def test_an_empty_or_overlong_key_is_invalid_input(api: Api, sandbox: Sandbox) -> None:
    # given
    gid = await _open_kombo_order(api, sandbox)

    # when / then
    for key in ("", "k" * 201):
        payload = await _submit(api, result_input(gid, idempotencyKey=key))
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID_INPUT", ["idempotencyKey"])
        ]
    assert _kombo_puts(sandbox) == 0
