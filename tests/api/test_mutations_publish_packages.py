"""publishPackages: Kombo replaces the whole list, Unified creates and updates, StackOne
cannot; the cached package list is invalidated so ``packages`` shows what was published."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.mutation_support import (
    PACKAGES,
    PUBLISH_PACKAGES,
    connection_gid,
    live,
    provider_writes,
    route_count,
)
from tests.conftest import Sandbox

NEW_KOMBO = [
    {"remoteId": "og-coding", "name": "Coding", "type": "SKILLS_TEST", "description": "90 min"},
    {"remoteId": "og-culture", "name": "Culture", "type": "BEHAVIORAL"},
]


async def _packages(api: Api, connection_id: str) -> list[dict[str, Any]]:
    body = await api.query(PACKAGES, {"connectionId": connection_gid(connection_id)})
    assert "errors" not in body, body
    packages: list[dict[str, Any]] = body["data"]["packages"]
    return packages


async def _publish(api: Api, connection_id: str, packages: list[dict[str, Any]]) -> dict[str, Any]:
    body = await api.query(
        PUBLISH_PACKAGES,
        {"input": {"connectionId": connection_gid(connection_id), "packages": packages}},
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["publishPackages"]
    return payload


async def test_kombo_publish_replaces_the_list_and_invalidates_the_cached_one(
    api: Api, sandbox: Sandbox
) -> None:
    # given: the seeded list, read once (and cached)
    seeded = await _packages(api, "acme-kombo")
    assert len(seeded) >= 2
    assert not {p["remoteId"] for p in seeded} & {"og-coding", "og-culture"}
    assert await _packages(api, "acme-kombo") == seeded
    assert await route_count(sandbox, "kombo", "GET /assessment/packages") == 1

    # when
    payload = await _publish(api, "acme-kombo", NEW_KOMBO)

    # then: one PUT with the whole new list
    assert payload["errors"] == []
    assert [p["remoteId"] for p in payload["packages"]] == ["og-coding", "og-culture"]
    puts = [json.loads(e.body) for e in sandbox.recorder.for_provider("kombo") if e.method == "PUT"]
    assert puts == [
        {
            "packages": [
                {
                    "id": "og-coding",
                    "type": "SKILLS_TEST",
                    "name": "Coding",
                    "description": "90 min",
                },
                {"id": "og-culture", "type": "BEHAVIORAL", "name": "Culture", "description": ""},
            ]
        }
    ]
    # and packages() reads the new list from Kombo, not the stale cache
    assert await _packages(api, "acme-kombo") == [
        {"remoteId": "og-coding", "name": "Coding", "type": "SKILLS_TEST", "description": "90 min"},
        {"remoteId": "og-culture", "name": "Culture", "type": "BEHAVIORAL", "description": ""},
    ]
    assert await route_count(sandbox, "kombo", "GET /assessment/packages") == 2
    # and globex's Kombo list is untouched
    body = await api.query(
        PACKAGES, {"connectionId": connection_gid("globex-kombo")}, tenant="globex"
    )
    assert {p["remoteId"] for p in body["data"]["packages"]} == {p["remoteId"] for p in seeded}


async def test_kombo_refuses_a_package_type_it_has_not_and_sends_nothing(
    api: Api, sandbox: Sandbox
) -> None:
    # given
    writes = await provider_writes(sandbox)

    # when: OTHER, which Kombo's package types lack
    payload = await _publish(
        api, "acme-kombo", [{"remoteId": "og-x", "name": "X", "type": "OTHER"}]
    )

    # then
    assert payload["packages"] == []
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", ["packages"])]
    assert await provider_writes(sandbox) == writes


async def test_unified_publish_updates_known_packages_and_creates_new_ones(
    api: Api, sandbox: Sandbox
) -> None:
    # given: the seeded list, read once (and cached)
    seeded = await _packages(api, "acme-unified")
    existing = seeded[0]

    # when: one known package renamed, one new
    payload = await _publish(
        api,
        "acme-unified",
        [
            {"remoteId": existing["remoteId"], "name": "Renamed", "type": "VIDEO_INTERVIEW"},
            {"remoteId": "og-new", "name": "Brand new", "type": "BEHAVIORAL"},
        ],
    )

    # then: a PATCH for the known one and a POST for the new one
    assert payload["errors"] == []
    writes = await provider_writes(sandbox)
    assert writes == {
        "unified PATCH /assessment/{connection_id}/package/{id}": 1,
        "unified POST /assessment/{connection_id}/package": 1,
    }
    posted = [
        json.loads(e.body) for e in sandbox.recorder.for_provider("unified") if e.method == "POST"
    ]
    assert posted == [{"id": "og-new", "name": "Brand new", "type": "BEHAVIORAL_ASSESSMENT"}]
    # and packages() shows both changes
    after = {p["remoteId"]: p for p in await _packages(api, "acme-unified")}
    assert after[existing["remoteId"]]["name"] == "Renamed"
    assert after[existing["remoteId"]]["type"] == "VIDEO_INTERVIEW"
    assert after["og-new"] == {
        "remoteId": "og-new",
        "name": "Brand new",
        "type": "BEHAVIORAL",
        "description": None,
    }
    assert len(after) == len(seeded) + 1


async def test_stackone_cannot_publish_packages(api: Api, sandbox: Sandbox) -> None:
    # given
    writes = await provider_writes(sandbox)

    # when
    payload = await _publish(
        api, "acme-stackone", [{"remoteId": "og-x", "name": "X", "type": "SKILLS_TEST"}]
    )

    # then
    assert payload["packages"] == []
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("UNSUPPORTED_BY_PROVIDER", ["connectionId"])
    ]
    assert await provider_writes(sandbox) == writes


async def test_another_tenants_connection_is_not_found(api: Api, sandbox: Sandbox) -> None:
    # given
    writes = await provider_writes(sandbox)

    # when: globex publishes on acme's Kombo connection
    body = await api.query(
        PUBLISH_PACKAGES,
        {"input": {"connectionId": connection_gid("acme-kombo"), "packages": NEW_KOMBO}},
        tenant="globex",
    )

    # then
    payload = body["data"]["publishPackages"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["connectionId"])]
    assert await provider_writes(sandbox) == writes


async def test_a_unified_publish_that_fails_half_way_does_not_leave_a_stale_list(
    api: Api, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the cached seeded list, and a Unified that goes down after the first write
    seeded = await _packages(api, "acme-unified")
    existing = seeded[0]["remoteId"]
    http = live(api, "acme-unified").provider.http
    real_json = http.json

    async def then_down(method: str, path: str, **kwargs: Any) -> Any:
        answer = await real_json(method, path, **kwargs)
        if method != "GET":
            await sandbox.faults({"unified": {"error_rate": 1.0, "statuses": [503]}})
        return answer

    monkeypatch.setattr(http, "json", then_down)

    # when: the rename goes through, the new package does not
    payload = await _publish(
        api,
        "acme-unified",
        [
            {"remoteId": existing, "name": "Renamed", "type": "SKILLS_TEST"},
            {"remoteId": "og-new", "name": "Brand new", "type": "BEHAVIORAL"},
        ],
    )

    # then: the failure is reported, and packages() shows what Unified now holds
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("PROVIDER_UNAVAILABLE", ["packages"])
    ]
    await sandbox.faults({})
    after = {p["remoteId"]: p["name"] for p in await _packages(api, "acme-unified")}
    assert after[existing] == "Renamed"
    assert "og-new" not in after
