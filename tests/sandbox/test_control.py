"""The /_sandbox/ control API that every simulator shares."""

from __future__ import annotations

from tests.conftest import Sandbox


async def test_faults_round_trip_and_clear(sandbox: Sandbox) -> None:
    await sandbox.faults({"kombo": {"error_rate": 0.5, "statuses": [429], "retry_after": 1}})
    current = await sandbox.control("GET", "faults")
    assert current["kombo"]["statuses"] == [429]
    assert current["kombo"]["retry_after"] == 1
    await sandbox.faults({})
    assert await sandbox.control("GET", "faults") == {}


async def test_faults_refuse_bad_settings(sandbox: Sandbox) -> None:
    for bad in (
        {"nobody": {"error_rate": 0.1}},
        {"kombo": {"error_rate": 2}},
        {"kombo": {"statuses": [200]}},
        {"kombo": {"surprise": 1}},
    ):
        async with sandbox.session.post(f"{sandbox.url}/_sandbox/faults", json=bad) as response:
            assert response.status == 400, bad
            assert "error" in await response.json()


async def test_control_refuses_non_json(sandbox: Sandbox) -> None:
    async with sandbox.session.post(
        f"{sandbox.url}/_sandbox/orders", data=b"{not json"
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "body is not JSON"


async def test_stats_start_empty_and_reset_clears(sandbox: Sandbox) -> None:
    assert await sandbox.stats() == {"total": 0, "requests": {}}
    await sandbox.control("POST", "reset")
    assert (await sandbox.stats())["total"] == 0
