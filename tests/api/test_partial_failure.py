"""Partial failure (DESIGN §6): a provider that is down or rate-limited costs only its
own fields. The rest of the answer comes back; each lost field carries an error naming
the connection, the provider and a code, and no error shows a secret or internals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ordergraph.sandbox.core import SandboxContext
from tests.api.conftest import KEYS, Api
from tests.api.helpers import DASHBOARD, fill_index, gid
from tests.conftest import Sandbox


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=7, orders_per_account=12)


def _secrets(api: Api) -> list[str]:
    """Every secret the gateway holds: provider keys, webhook secrets, tenant keys."""
    found = list(KEYS.values())
    for connection in api.services.connections:
        found.append(connection.settings.api_key.get_secret_value())
        if connection.settings.webhook_secret is not None:
            found.append(connection.settings.webhook_secret.get_secret_value())
    return [s for s in found if s]


def _assert_nothing_internal(api: Api, errors: list[dict[str, Any]]) -> None:
    text = json.dumps(errors)
    for secret in _secrets(api):
        assert secret not in text
    for internal in ("Authorization", "Bearer", "Traceback", 'File "', "/work/", ".py"):
        assert internal not in text, internal


async def _dashboard_with_kombo_down(
    api: Api, sandbox: Sandbox, fault: dict[str, Any]
) -> dict[str, Any]:
    # given both tenants indexed while every provider was up, and a cold package cache
    await fill_index(api, sandbox)
    # when Kombo fails every request and acme's dashboard is loaded
    await sandbox.faults({"kombo": fault})
    body: dict[str, Any] = await api.query(DASHBOARD, {"first": 50})
    await sandbox.faults({})
    return body


def _kombo_edges(body: dict[str, Any]) -> list[int]:
    edges = body["data"]["orders"]["edges"]
    return [i for i, edge in enumerate(edges) if edge["node"]["provider"] == "KOMBO"]


async def test_kombo_down_costs_only_kombo_package_names(api: Api, sandbox: Sandbox) -> None:
    body = await _dashboard_with_kombo_down(api, sandbox, {"error_rate": 1.0, "statuses": [503]})

    # then every order is there, with everything the index holds
    edges = body["data"]["orders"]["edges"]
    assert body["data"]["orders"]["totalCount"] == len(edges) == 12 + 4 + 12
    kombo = _kombo_edges(body)
    assert len(kombo) == 12
    for index, edge in enumerate(edges):
        node = edge["node"]
        assert node["candidate"]["emails"]
        assert node["package"]["remoteId"]
        # Kombo's package names are lost; Unified's and StackOne's are there
        if index in kombo:
            assert node["package"]["name"] is None
            assert node["job"]["title"]  # the rest of a Kombo order is still answered
        else:
            assert node["package"]["name"]
    # and each lost name has its own error, naming the connection, provider and a code
    errors = body["errors"]
    assert sorted(tuple(e["path"]) for e in errors) == [
        ("orders", "edges", i, "node", "package", "name") for i in kombo
    ]
    for error in errors:
        extensions = error["extensions"]
        assert extensions["connectionId"] == "acme-kombo"
        assert extensions["provider"] == "kombo"
        assert isinstance(extensions["code"], str)
        assert extensions["code"]
        assert "retryAfter" not in extensions
        assert "acme-kombo" in error["message"]
    _assert_nothing_internal(api, errors)


async def test_rate_limited_kombo_says_when_to_retry(api: Api, sandbox: Sandbox) -> None:
    body = await _dashboard_with_kombo_down(
        api, sandbox, {"error_rate": 1.0, "statuses": [429], "retry_after": 7}
    )

    # then the Kombo names carry the provider's Retry-After; the rest is answered
    kombo = _kombo_edges(body)
    assert len(body["errors"]) == len(kombo) == 12
    for error in body["errors"]:
        assert error["extensions"]["connectionId"] == "acme-kombo"
        assert error["extensions"]["provider"] == "kombo"
        assert error["extensions"]["retryAfter"] == 7
    named = [e for i, e in enumerate(body["data"]["orders"]["edges"]) if i not in kombo]
    assert all(e["node"]["package"]["name"] for e in named)
    _assert_nothing_internal(api, body["errors"])


async def test_a_failure_is_not_cached_the_next_request_recovers(
    api: Api, sandbox: Sandbox
) -> None:
    # given a dashboard loaded while Kombo was down
    failed = await _dashboard_with_kombo_down(api, sandbox, {"error_rate": 1.0, "statuses": [503]})
    assert failed["errors"]
    # when it is loaded again after Kombo came back (another `first`, so a response
    # cache cannot answer it)
    body = await api.query(DASHBOARD, {"first": 49})
    # then every package name is there
    assert "errors" not in body
    assert all(e["node"]["package"]["name"] for e in body["data"]["orders"]["edges"])


async def test_packages_of_a_down_connection_fail_alone(api: Api, sandbox: Sandbox) -> None:
    # given Kombo down
    await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
    query = "query($c: ID!) { packages(connectionId: $c) { name } }"
    # when acme asks for the packages of its Kombo connection, then of its Unified one
    kombo = await api.query(query, {"c": gid("ProviderConnection", "acme-kombo")})
    unified = await api.query(query, {"c": gid("ProviderConnection", "acme-unified")})
    # then Kombo's list is an error naming the connection; Unified's is answered
    assert kombo["data"] is None  # packages is non-null: the error reaches the root
    [error] = kombo["errors"]
    assert error["path"] == ["packages"]
    assert error["extensions"]["connectionId"] == "acme-kombo"
    assert error["extensions"]["provider"] == "kombo"
    assert error["extensions"]["code"]
    _assert_nothing_internal(api, kombo["errors"])
    assert "errors" not in unified
    assert len(unified["data"]["packages"]) == 7
