"""The StackOne simulator over raw HTTP: auth, paging, validation, the legacy reads."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from ordergraph.sandbox.core import SandboxContext
from ordergraph.sandbox.stackone import StackOneSimulator, decode_cursor, encode_cursor
from tests.conftest import Sandbox
from tests.contract import validate_component, validate_exchange

PREFIX = "/unified/ats/assessments"


async def _account(sandbox: Sandbox, index: int = 0) -> dict[str, Any]:
    return (await sandbox.accounts("stackone"))[index]


async def call(
    sandbox: Sandbox,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None,
    params: dict[str, str] | None = None,
    json: Any = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    async with sandbox.session.request(
        method,
        sandbox.base("stackone") + PREFIX + path,
        headers=headers,
        params=params,
        json=json,
        data=data,
    ) as response:
        return response.status, await response.json()


def assert_error(status: int, body: Any, expected: int) -> None:
    assert status == expected, body
    assert body["statusCode"] == expected
    assert isinstance(body["message"], str)
    validate_component("stackone", "UnauthorizedResponse", body)  # {statusCode, message, timestamp}


def assert_responses_match_spec(sandbox: Sandbox) -> None:
    """Every simulator answer fits a StackOne spec (requests may be wrong on purpose).

    The 2025-02 file declares no 404 for the legacy order GETs, so those are skipped.
    """
    for exchange in sandbox.recorder.for_provider("stackone"):
        legacy = exchange.method == "GET" and "/orders/" in exchange.path
        if legacy and exchange.status == 404:
            continue
        validate_exchange(exchange, request=False)


async def _create(sandbox: Sandbox, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    status, packages = await call(sandbox, "GET", "/packages", headers=headers)
    assert status == 200
    body = {
        "package": {"id": packages["data"][0]["id"]},
        "candidate": {"id": "c1", "emails": [{"type": "personal", "value": "c1@example.com"}]},
        **extra,
    }
    status, created = await call(sandbox, "POST", "/orders", headers=headers, json=body)
    assert status == 200, created
    return dict(created)


# --- accounts and auth ----------------------------------------------------------------


async def test_accounts_use_basic_auth_with_the_key_as_username(sandbox: Sandbox) -> None:
    accounts = await sandbox.accounts("stackone")
    assert len(accounts) == sandbox.context.accounts_per_provider == 2
    for account in accounts:
        assert account["webhook_secret"] == ""
        assert account["headers"]["x-account-id"] == account["account"]
        scheme, token = account["headers"]["Authorization"].split()
        username, password = base64.b64decode(token).decode().split(":")
        assert (scheme, password) == ("Basic", "")
        assert username.startswith("v1.")
    again = StackOneSimulator(SandboxContext(seed=sandbox.context.seed))
    again.seed()
    assert [a.account for a in again.accounts()] == [a["account"] for a in accounts]


async def test_auth_and_account_errors(sandbox: Sandbox) -> None:
    good = (await _account(sandbox))["headers"]
    key = base64.b64decode(good["Authorization"].split()[1]).decode().rstrip(":")
    as_password = "Basic " + base64.b64encode(f":{key}".encode()).decode()
    cases = [
        ({"x-account-id": good["x-account-id"]}, 401),
        ({**good, "Authorization": "Basic " + base64.b64encode(b"wrong:").decode()}, 401),
        ({**good, "Authorization": as_password}, 401),
        ({**good, "Authorization": "Bearer " + key}, 401),
        ({**good, "Authorization": "Basic %%%"}, 401),
        ({"Authorization": good["Authorization"]}, 400),
        ({**good, "x-account-id": "00000000000000000000"}, 403),
    ]
    for headers, expected in cases:
        status, body = await call(sandbox, "GET", "/packages", headers=headers)
        assert_error(status, body, expected)
        status, body = await call(sandbox, "POST", "/orders", headers=headers, json={})
        assert_error(status, body, expected)
    assert_responses_match_spec(sandbox)


# --- packages ------------------------------------------------------------------------------


async def test_packages_page_with_an_opaque_cursor(sandbox: Sandbox) -> None:
    headers = (await _account(sandbox))["headers"]
    seen: list[dict[str, Any]] = []
    params = {"page_size": "3"}
    pages = 0
    while True:
        status, body = await call(sandbox, "GET", "/packages", headers=headers, params=params)
        assert status == 200
        pages += 1
        seen.extend(body["data"])
        assert "raw" not in body
        if "next" not in body:
            break
        params = {"page_size": "3", "next": body["next"]}
    assert pages == 3
    assert len(seen) == len({p["id"] for p in seen}) == 7
    assert set(seen[0]) == {"id", "remote_id", "name", "description"}
    status, default = await call(sandbox, "GET", "/packages", headers=headers)
    assert (status, len(default["data"]), "next" in default) == (200, 7, False)
    assert_responses_match_spec(sandbox)


async def test_packages_differ_per_account_and_read_one_by_id(sandbox: Sandbox) -> None:
    first, second = (a["headers"] for a in await sandbox.accounts("stackone"))
    _, mine = await call(sandbox, "GET", "/packages", headers=first)
    _, theirs = await call(sandbox, "GET", "/packages", headers=second)
    assert {p["id"] for p in mine["data"]}.isdisjoint({p["id"] for p in theirs["data"]})
    wanted = mine["data"][2]
    status, one = await call(sandbox, "GET", f"/packages/{wanted['id']}", headers=first)
    assert (status, one["data"]) == (200, wanted)
    status, body = await call(sandbox, "GET", f"/packages/{wanted['id']}", headers=second)
    assert_error(status, body, 404)
    assert_responses_match_spec(sandbox)


async def test_packages_query_options(sandbox: Sandbox) -> None:
    headers = (await _account(sandbox))["headers"]
    params = {"fields": "id,name", "raw": "true", "filter[updated_after]": "not even a date"}
    status, body = await call(sandbox, "GET", "/packages", headers=headers, params=params)
    assert status == 200
    assert body["raw"] == []
    assert all(set(p) == {"id", "name"} for p in body["data"])
    for bad in ({"page_size": "abc"}, {"page_size": "0"}, {"page_size": "101"}, {"next": "%%"}):
        status, error = await call(sandbox, "GET", "/packages", headers=headers, params=bad)
        assert_error(status, error, 400)
    assert_responses_match_spec(sandbox)


def test_cursor_round_trip_and_refusals() -> None:
    assert decode_cursor(encode_cursor(25)) == 25
    for bad in ("", "bm9wZQ", encode_cursor(-1), "eyJvZmZzZXQiOiAiMSJ9"):
        with pytest.raises(ValueError, match=r".*"):
            decode_cursor(bad)


# --- orders and results --------------------------------------------------------------------


async def test_post_order_validation(sandbox: Sandbox) -> None:
    headers = (await _account(sandbox))["headers"]
    _, packages = await call(sandbox, "GET", "/packages", headers=headers)
    package = {"id": packages["data"][0]["id"]}
    bad = {"value": "X"}
    cases: list[tuple[Any, int]] = [
        ([package], 400),
        ({"candidate": {"id": "c"}}, 400),
        ({"package": {"name": "x"}, "candidate": {"id": "c"}}, 400),
        ({"package": package}, 400),
        ({"package": package, "candidate": "c"}, 400),
        ({"package": package, "candidate": {"emails": "a@example.com"}}, 400),
        ({"package": package, "candidate": {"id": 5}}, 400),
        ({"package": package, "candidate": {}, "application": {"application_status": "X"}}, 400),
        ({"package": package, "candidate": {}, "application": {"application_status": bad}}, 400),
        ({"package": {"id": "pkg_unknown"}, "candidate": {"id": "c"}}, 422),
    ]  # fmt: skip
    for body, expected in cases:
        status, error = await call(sandbox, "POST", "/orders", headers=headers, json=body)
        assert_error(status, error, expected)
    status, error = await call(sandbox, "POST", "/orders", headers=headers, data=b"{nope")
    assert_error(status, error, 400)
    assert await sandbox.control("GET", "orders?provider=stackone") == {"orders": []}
    assert_responses_match_spec(sandbox)


async def test_post_order_then_read_it_back_through_the_legacy_get(sandbox: Sandbox) -> None:
    account = await _account(sandbox)
    headers = account["headers"]
    extra = {
        "job": {"id": "j1", "title": "Data Scientist", "hiring_team": [{"user_id": "u1"}]},
        "results_update_url": "https://vendor.example.com/results",
        "passthrough": {"anything": True},
        "requester": {"user_id": "u1", "first_name": None},
    }
    created = await _create(sandbox, headers, **extra)
    assert set(created) == {"id", "remote_id", "test_url"}
    truth = await sandbox.control("GET", f"orders?provider=stackone&account={account['account']}")
    assert truth["orders"] == [
        {"provider": "stackone", "account": account["account"], "id": created["id"], "status": None}
    ]
    status, body = await call(sandbox, "GET", f"/orders/{created['id']}", headers=headers)
    assert status == 200
    order = body["data"]
    assert (order["id"], order["remote_id"]) == (created["id"], created["remote_id"])
    assert order["job"] == extra["job"]
    assert order["requester"] == {"user_id": "u1"}  # nulls are omitted, not echoed
    assert "passthrough" not in order
    status, body = await call(sandbox, "GET", f"/orders/{created['id']}/results", headers=headers)
    assert status == 200
    assert body["data"]["id"] == created["id"]
    assert "result" not in body["data"]
    other = (await _account(sandbox, 1))["headers"]
    status, error = await call(sandbox, "GET", f"/orders/{created['id']}", headers=other)
    assert_error(status, error, 404)
    assert_responses_match_spec(sandbox)


async def test_patch_result_validates_and_stores(sandbox: Sandbox) -> None:
    headers = (await _account(sandbox))["headers"]
    created = await _create(sandbox, headers)
    path = f"/orders/{created['id']}/result"
    for bad in (
        {"score": {"value": 87.5}},
        {"score": {"max": 100}},
        {"result": {"value": "COMPLETED"}},
        {"result": "completed"},
        {"start_date": "yesterday"},
        {"attachments": [{"url": "u", "content_type": {"value": "zip"}}]},
        ["not", "an", "object"],
    ):
        status, error = await call(sandbox, "PATCH", path, headers=headers, json=bad)
        assert_error(status, error, 400)
    status, error = await call(sandbox, "PATCH", "/orders/nope/result", headers=headers, json={})
    assert_error(status, error, 404)
    result = {
        "score": {"label": "Percentage", "value": "87.5", "max": "100"},
        "submission_date": "2026-01-05T10:00:00.000Z",
        "result": {"value": "in_progress"},
        "attachments": [{"url": "https://r/a.pdf", "content_type": {"value": "pdf"}}],
    }
    status, body = await call(sandbox, "PATCH", path, headers=headers, json=result)
    assert (status, body["statusCode"]) == (200, 200)
    validate_component("stackone", "UpdateResult", body)
    status, body = await call(sandbox, "GET", f"/orders/{created['id']}/results", headers=headers)
    assert status == 200
    # Outside the 2025-02 enums: served as source_value so the legacy answer fits its spec.
    assert body["data"]["result"] == {"source_value": "in_progress"}
    assert body["data"]["attachments"][0]["content_type"] == {
        "value": "unmapped_value",
        "source_value": "pdf",
    }
    status, _ = await call(
        sandbox, "PATCH", path, headers=headers, json={"result": {"value": "passed"}}
    )
    assert status == 200
    _, body = await call(sandbox, "GET", f"/orders/{created['id']}/results", headers=headers)
    assert body["data"]["result"] == {"value": "passed"}
    assert body["data"]["score"]["value"] == "87.5"  # PATCH merges
    truth = await sandbox.control("GET", "orders?provider=stackone")
    assert truth["orders"][0]["status"] == "passed"
    assert_responses_match_spec(sandbox)


async def test_the_legacy_get_serves_the_source_value_the_client_wrote(sandbox: Sandbox) -> None:
    # given: a result written as unmapped_value with our word, and MIME types beside
    # StackOne's content-type words
    headers = (await _account(sandbox))["headers"]
    created = await _create(sandbox, headers)
    result = {
        "result": {"value": "unmapped_value", "source_value": "REJECTED"},
        "attachments": [
            {"url": "https://r/a.pdf",
             "content_type": {"value": "pdf", "source_value": "application/pdf"}},
            {"url": "https://r/b.zip",
             "content_type": {"value": "other", "source_value": "application/zip"}},
            {"url": "https://r/c.txt", "content_type": {"value": "text"}},
        ],
    }  # fmt: skip
    status, _ = await call(
        sandbox, "PATCH", f"/orders/{created['id']}/result", headers=headers, json=result
    )
    assert status == 200

    # when
    status, body = await call(sandbox, "GET", f"/orders/{created['id']}/results", headers=headers)

    # then: the words the client wrote come back in source_value, inside the 2025-02 enums
    assert status == 200
    assert body["data"]["result"] == {"source_value": "REJECTED"}
    assert [a["content_type"] for a in body["data"]["attachments"]] == [
        {"value": "unmapped_value", "source_value": "application/pdf"},
        {"value": "unmapped_value", "source_value": "application/zip"},
        {"value": "text"},
    ]
    assert_responses_match_spec(sandbox)


# --- control API ---------------------------------------------------------------------------


async def test_seed_has_no_orders_and_create_orders_uses_the_post_path(sandbox: Sandbox) -> None:
    account = (await _account(sandbox))["account"]
    assert await sandbox.control("GET", "orders?provider=stackone") == {"orders": []}
    made = await sandbox.control(
        "POST", "orders", {"provider": "stackone", "account": account, "count": 3}
    )
    assert [o["status"] for o in made["orders"]] == [None, None, None]
    assert {o["account"] for o in made["orders"]} == {account}
    truth = await sandbox.control("GET", f"orders?provider=stackone&account={account}")
    assert truth["orders"] == made["orders"]
    headers = (await _account(sandbox))["headers"]
    status, body = await call(sandbox, "GET", f"/orders/{made['orders'][0]['id']}", headers=headers)
    assert status == 200
    assert "@" in body["data"]["candidate"]["emails"][0]["value"]
    assert (await sandbox.stats())["requests"]["stackone"] == {
        f"GET {PREFIX}/orders/{{id}}": 1
    }  # create_orders went through no HTTP, so nothing else was counted
    assert_responses_match_spec(sandbox)
    await sandbox.control("POST", "reset")
    assert await sandbox.control("GET", "orders?provider=stackone") == {"orders": []}


async def test_set_status_speaks_stackones_words(sandbox: Sandbox) -> None:
    account = (await _account(sandbox))["account"]
    made = await sandbox.control(
        "POST", "orders", {"provider": "stackone", "account": account, "count": 1}
    )
    order_id = made["orders"][0]["id"]
    payload = {"provider": "stackone", "account": account, "id": order_id, "status": "failed"}
    changed = await sandbox.control("PATCH", "orders", payload)
    assert changed["order"]["status"] == "failed"
    for status, expected in (("COMPLETED", 400), ("done", 400)):
        payload = {"provider": "stackone", "account": account, "id": order_id, "status": status}
        async with sandbox.session.patch(f"{sandbox.url}/_sandbox/orders", json=payload) as r:
            assert r.status == expected
    payload = {"provider": "stackone", "account": account, "id": "nope", "status": "failed"}
    async with sandbox.session.patch(f"{sandbox.url}/_sandbox/orders", json=payload) as r:
        assert r.status == 404


async def test_tens_of_thousands_of_orders_stay_fast() -> None:
    simulator = StackOneSimulator(SandboxContext(seed=3))
    simulator.seed()
    account = simulator.accounts()[0].account
    started = time.monotonic()
    made = await simulator.create_orders(account, 20_000)
    await simulator.set_status(account, made[-1]["id"], "completed")
    truth = simulator.ground_truth(account)
    assert len(truth) == 20_000
    assert truth[-1]["status"] == "completed"
    assert len({o["id"] for o in truth}) == 20_000
    assert time.monotonic() - started < 10
    assert simulator.ground_truth("unknown") == []
    with pytest.raises(KeyError):
        await simulator.set_status(account, "nope", "completed")
    with pytest.raises(ValueError, match="status must be one of"):
        await simulator.set_status(account, made[0]["id"], "COMPLETED")
