"""``POST /_sandbox/accounts``, account removal and states, for all three providers:
the new account answers like a listed one and its headers work at the vendor API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.contract import validate_exchange

# One cheap authenticated read per provider, with the account's own headers.
PROBES = {
    "unified": lambda account: f"/assessment/{account}/package",
    "stackone": lambda account: "/unified/ats/assessments/packages",
    "kombo": lambda account: "/assessment/packages",
}


async def probe(sandbox: Sandbox, account: dict[str, Any]) -> int:
    path = PROBES[account["provider"]](account["account"])
    async with sandbox.session.get(
        sandbox.base(account["provider"]) + path, headers=account["headers"]
    ) as response:
        await response.read()
        return response.status


async def post(sandbox: Sandbox, path: str, payload: Any) -> tuple[int, Any]:
    async with sandbox.session.post(f"{sandbox.url}/_sandbox/{path}", json=payload) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("provider", ["unified", "stackone", "kombo"])
async def test_a_created_account_answers_like_a_listed_one(sandbox: Sandbox, provider: str) -> None:
    before = await sandbox.accounts(provider)
    status, created = await post(sandbox, "accounts", {"provider": provider})
    assert status == 201
    after = await sandbox.accounts(provider)
    assert after == [*before, created]
    assert set(created) == {"provider", "account", "headers", "webhook_secret"}
    assert created["account"] not in {a["account"] for a in before}
    assert await probe(sandbox, created) == 200
    for exchange in sandbox.recorder.for_provider(provider):
        validate_exchange(exchange)


@pytest.mark.parametrize("provider", ["unified", "stackone", "kombo"])
async def test_created_accounts_follow_from_the_seed(sandbox: Sandbox, provider: str) -> None:
    first = (await post(sandbox, "accounts", {"provider": provider}))[1]
    await sandbox.control("POST", "reset")
    assert (await post(sandbox, "accounts", {"provider": provider}))[1] == first


@pytest.mark.parametrize("provider", ["unified", "stackone", "kombo"])
async def test_a_removed_account_is_unknown_to_the_vendor_api(
    sandbox: Sandbox, provider: str
) -> None:
    account = (await sandbox.accounts(provider))[0]
    removed = await sandbox.control("DELETE", f"accounts/{provider}/{account['account']}")
    assert removed == {"provider": provider, "account": account["account"], "removed": True}
    assert account["account"] not in {a["account"] for a in await sandbox.accounts(provider)}
    # Each vendor's answer for an account it does not have (see the simulators' docs).
    assert (
        await probe(sandbox, account) == {"unified": 404, "stackone": 403, "kombo": 404}[provider]
    )
    async with sandbox.session.delete(
        f"{sandbox.url}/_sandbox/accounts/{provider}/{account['account']}"
    ) as again:
        assert again.status == 404


async def test_a_disabled_stackone_account_answers_412(sandbox: Sandbox) -> None:
    account = (await sandbox.accounts("stackone"))[0]
    path = f"accounts/stackone/{account['account']}/state"
    await sandbox.control("POST", path, {"state": "INVALID"})
    assert await probe(sandbox, account) == 412
    await sandbox.control("POST", path, {"state": "ACTIVE"})
    assert await probe(sandbox, account) == 200
    for exchange in sandbox.recorder.for_provider("stackone"):
        validate_exchange(exchange)  # 412 and its body are declared by the spec


@pytest.mark.parametrize(
    ("path", "payload", "status"),
    [
        ("accounts", {"provider": "workday"}, 400),
        ("accounts", {}, 400),
        ("accounts", ["kombo"], 400),
        ("accounts/kombo/nobody/state", {"state": "ACTIVE"}, 404),
        ("accounts/nobody/x/state", {"state": "ACTIVE"}, 400),
        ("connect/complete", {"url": "ftp://example.com/connect/kombo/x"}, 400),
        ("connect/complete", {"url": "http://example.com/connect/kombo/x", "error": 3}, 400),
    ],
)
async def test_control_refusals(sandbox: Sandbox, path: str, payload: Any, status: int) -> None:
    answer_status, answer = await post(sandbox, path, payload)
    assert answer_status == status
    assert "error" in answer


async def test_an_unknown_state_is_refused(sandbox: Sandbox) -> None:
    account = (await sandbox.accounts("kombo"))[0]["account"]
    status, answer = await post(sandbox, f"accounts/kombo/{account}/state", {"state": "PAUSED"})
    assert status == 400
    assert "ACTIVE" in answer["error"]
