"""A provider that is down or rate-limited makes a mutation return a user error with a
code (never a GraphQL error), names no secret, and leaks no stack trace."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from ordergraph.models import ResultSubmission
from tests.api.conftest import Api
from tests.api.mutation_support import (
    CREATE_ORDER,
    PUBLISH_PACKAGES,
    REFRESH_ORDERS,
    SUBMIT_RESULT,
    connection_gid,
    deliver_due,
    index_kombo,
    kombo_ids,
    live,
    new_order_input,
    offered_package,
    order_gid,
    read_delivery,
    result_input,
    truth,
)
from tests.conftest import Sandbox

TRACE_MARKS = ("Traceback", 'File "', ".py")


async def _secrets(sandbox: Sandbox) -> list[str]:
    """Every credential the sandbox hands out: API keys, Basic tokens, webhook secrets."""
    found: list[str] = []
    for account in (await sandbox.control("GET", "accounts"))["accounts"]:
        for name, value in account["headers"].items():
            if name.lower() == "authorization":
                found.append(str(value).split(" ", 1)[1])
        if account["webhook_secret"]:
            found.append(account["webhook_secret"])
    return found


async def _assert_clean(sandbox: Sandbox, body: dict[str, Any]) -> None:
    text = json.dumps(body)
    for secret in await _secrets(sandbox):
        assert secret not in text
    for mark in TRACE_MARKS:
        assert mark not in text, text


def _fault(status: int) -> dict[str, Any]:
    return {"error_rate": 1.0, "statuses": [status], "retry_after": 1}


CODES = {503: "PROVIDER_UNAVAILABLE", 429: "PROVIDER_RATE_LIMITED"}


@pytest.mark.parametrize("status", [503, 429])
async def test_submit_result_when_kombo_fails_keeps_the_result_pending_and_delivers_it_later(
    api: Api, sandbox: Sandbox, status: int
) -> None:
    # given: an indexed OPEN order, and a Kombo that fails every request
    await index_kombo(api)
    remote_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", remote_id)
    await sandbox.faults({"kombo": _fault(status)})

    # when
    body = await api.query(SUBMIT_RESULT, {"input": result_input(gid)})

    # then: data, not a GraphQL error; the result is kept and its delivery is pending
    assert "errors" not in body, body
    payload = body["data"]["submitResult"]
    assert payload["errors"] == []
    order = payload["order"]
    assert order["status"] == "OPEN"  # what Kombo still holds
    assert order["result"]["score"] == 87.5  # what was submitted
    delivery = order["resultDelivery"]
    assert delivery["state"] == "PENDING"
    assert delivery["attempts"] == 1
    assert f"HTTP {status}" in delivery["lastError"]
    await _assert_clean(sandbox, body)
    shown = await read_delivery(api, gid)
    assert shown["resultDelivery"]["state"] == "PENDING"
    if status == 429:
        # Kombo's Retry-After (1 s) is honoured
        waited = datetime.fromisoformat(delivery["nextAttemptAt"]) - datetime.fromisoformat(
            shown["resultDelivery"]["updatedAt"]
        )
        assert waited >= timedelta(seconds=1)
    assert (await truth(sandbox, api, "acme-kombo"))[remote_id]["status"] == "OPEN"

    # when: the fault clears and the retry comes due
    await sandbox.faults({})
    await deliver_due(api, delivery)

    # then: delivered, and Kombo holds it
    after = await read_delivery(api, gid)
    assert after["status"] == "COMPLETED"
    assert after["resultDelivery"]["state"] == "DELIVERED"
    assert after["resultDelivery"]["attempts"] == 2
    assert after["resultDelivery"]["lastError"] is None
    assert (await truth(sandbox, api, "acme-kombo"))[remote_id]["status"] == "COMPLETED"


@pytest.mark.parametrize("status", [503, 429])
async def test_every_mutation_reports_a_failing_provider_as_data(
    api: Api, sandbox: Sandbox, status: int
) -> None:
    # given: indexed Kombo orders and a StackOne package, then every provider failing
    await index_kombo(api)
    remote_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    package_id = await offered_package(api, "acme-stackone")
    await sandbox.faults({"*": _fault(status)})

    # when
    created = await api.query(CREATE_ORDER, {"input": new_order_input("acme-stackone", package_id)})
    published = await api.query(
        PUBLISH_PACKAGES,
        {
            "input": {
                "connectionId": connection_gid("acme-kombo"),
                "packages": [{"remoteId": "p", "name": "P", "type": "SKILLS_TEST"}],
            }
        },
    )
    refreshed = await api.query(REFRESH_ORDERS, {"ids": [order_gid("acme-kombo", remote_id)]})

    # then
    for body, name, field, connection_id in (
        (created, "createOrder", None, "acme-stackone"),
        (published, "publishPackages", ["packages"], "acme-kombo"),
        (refreshed, "refreshOrders", ["ids"], "acme-kombo"),
    ):
        assert "errors" not in body, body
        payload = body["data"][name]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(CODES[status], field)]
        # the message names whose provider failed (one call may span connections)
        assert connection_id in payload["errors"][0]["message"], payload
        await _assert_clean(sandbox, body)
    assert created["data"]["createOrder"]["order"] is None
    assert published["data"]["publishPackages"]["packages"] == []
    assert refreshed["data"]["refreshOrders"]["orders"] == []


async def test_an_unexpected_failure_is_kept_masked_and_retried(
    api: Api, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: an adapter that crashes with a secret in its message
    await index_kombo(api)
    remote_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", remote_id)
    provider = live(api, "acme-kombo").provider
    secret = (await _secrets(sandbox))[0]

    async def crash(remote_id: str, result: ResultSubmission) -> None:
        raise RuntimeError(f"boom with {secret}")

    monkeypatch.setattr(provider, "submit_result", crash)
    request = {"input": result_input(gid, idempotencyKey="crash")}

    # when
    body = await api.query(SUBMIT_RESULT, request)

    # then: the result is kept; the delivery's error is a fixed sentence: no message,
    # no trace, no secret
    payload = body["data"]["submitResult"]
    assert payload["errors"] == []
    delivery = payload["order"]["resultDelivery"]
    assert delivery["state"] == "PENDING"
    assert delivery["lastError"] == (
        "unexpected error while delivering (details in the server log)"
    )
    await _assert_clean(sandbox, body)
    # and once the adapter works again the retry delivers it; the key answers the same
    monkeypatch.undo()
    await deliver_due(api, delivery)
    retried = await api.query(SUBMIT_RESULT, request)
    assert retried["data"]["submitResult"]["errors"] == []
    assert retried["data"]["submitResult"]["order"]["status"] == "COMPLETED"
    assert retried["data"]["submitResult"]["order"]["resultDelivery"]["state"] == "DELIVERED"
