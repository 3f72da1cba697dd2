"""A repeated request is not read and checked again (``ordergraph.api.prepared``), and
what that skips is never skipped where it could answer differently: another key's
scopes, another tenant, a request refused before, a changed set of connections, a
persisted document.

Work skipped is counted by wrapping the handler's limit check, which runs once per
request that is prepared.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ordergraph.api import GRAPHQL_HTTP
from ordergraph.api.documents import DocumentFacts
from ordergraph.api.http import CACHE_HEADER, GraphQLHTTPHandler
from ordergraph.api.prepared import PreparedKey, PreparedRequest, PreparedRequests
from ordergraph.api.request import GraphQLRequest
from ordergraph.providers.registry import create_provider
from ordergraph.schema.cost import ConnectionCost
from ordergraph.schema.limits import RequestLimits
from ordergraph.sync.connections import LiveConnection
from tests.api.conftest import KEYS, WRITE_ONLY_KEY, Api
from tests.api.test_limits import REFRESH, GatewayFactory, make_gateway, order_ids

__all__ = ["make_gateway"]  # test_limits' fixture, used here by name

ORDERS = "query Orders($first: Int) { orders(first: $first) { edges { node { remoteId } } } }"
PROVIDERS: dict[str, ConnectionCost] = {"c": ConnectionCost("unified")}


def prepared(query: str = "{ __typename }") -> PreparedRequest:
    return PreparedRequest(GraphQLRequest(query), DocumentFacts(operation=None), PROVIDERS)


def key(body: bytes, tenant: str = "acme") -> PreparedKey:
    return ("POST", tenant, frozenset({"read"}), body)


def test_an_entry_is_used_only_with_the_connections_it_was_checked_against() -> None:
    requests = PreparedRequests()
    entry = prepared()
    requests.put(key(b"{}"), entry)
    assert requests.get(key(b"{}"), PROVIDERS) is entry
    # Equal content, another mapping: the registry made a new one after a change.
    assert requests.get(key(b"{}"), dict(PROVIDERS)) is None
    assert requests.get(key(b"{}", tenant="globex"), PROVIDERS) is None
    assert requests.get(("GET", "acme", frozenset({"read"}), "{}"), PROVIDERS) is None


def test_entries_hold_to_their_count_and_byte_bounds() -> None:
    requests = PreparedRequests(max_entries=3, max_bytes=20_000, max_entry_bytes=8_000)
    for n in range(5):
        requests.put(key(b"%d" % n), prepared())
    assert len(requests) == 3
    assert requests.get(key(b"0"), PROVIDERS) is None
    assert requests.get(key(b"4"), PROVIDERS) is not None
    # Weighed twice its bytes and 1,024: over max_entry_bytes, prepared each time.
    requests.put(key(b"x" * 4_000), prepared())
    assert requests.get(key(b"x" * 4_000), PROVIDERS) is None
    for n in range(3):  # 7,024 bytes each: two fit in 20,000, not three
        requests.put(key(bytes([n]) * 3_000), prepared())
    assert len(requests) == 2


@pytest.fixture
def checks(api: Api) -> list[str]:
    """The documents whose limits the handler checked, in order."""
    return counted_checks(api)


def counted_checks(api: Api) -> list[str]:
    handler = _handler(api)
    seen: list[str] = []
    check = handler.limits.check

    def counted(schema: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(query)
        return check(schema, query, *args, **kwargs)

    handler.limits = _with_check(handler.limits, counted)
    return seen


def _handler(api: Api) -> GraphQLHTTPHandler:
    assert api.app is not None
    return api.app[GRAPHQL_HTTP]


def _with_check(limits: RequestLimits, check: Any) -> RequestLimits:
    copy = RequestLimits(limits.settings)
    copy.check = check  # type: ignore[method-assign]
    return copy


async def post(
    api: Api,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    key: str = KEYS["acme"],
) -> tuple[int, str | None, dict[str, Any]]:
    async with api.session.post(
        f"{api.url}/graphql",
        json={"query": document, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        return response.status, response.headers.get(CACHE_HEADER), await response.json()


async def test_a_repeated_request_is_checked_once_and_still_answers_fresh(
    api: Api, checks: list[str]
) -> None:
    first = await post(api, ORDERS, {"first": 2})
    again = await post(api, ORDERS, {"first": 2})
    assert (first[0], first[1]) == (200, "miss")
    assert again == (200, "hit", first[2])
    assert checks == [ORDERS]
    # Other variables are other bytes; a GET of the same request is its own entry.
    await post(api, ORDERS, {"first": 3})
    async with api.session.get(
        f"{api.url}/graphql",
        params={"query": ORDERS, "variables": '{"first": 2}'},
        headers={"Authorization": f"Bearer {KEYS['acme']}"},
    ) as response:
        assert response.status == 200
        assert response.headers[CACHE_HEADER] == "hit"
    assert checks == [ORDERS] * 3


async def test_a_key_without_the_scope_is_refused_every_time(api: Api, checks: list[str]) -> None:
    for _ in range(2):
        assert (await post(api, ORDERS))[0] == 200
    for _ in range(2):
        status, _, body = await post(api, ORDERS, key=WRITE_ONLY_KEY)
        assert status == 403, body
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert checks == [ORDERS]  # a refusal is not kept, and is not checked against limits


async def test_a_refused_request_is_refused_and_checked_every_time(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(max_cost=5)
    variables = {"ids": order_ids("acme-unified", 6)}
    for _ in range(2):
        async with gateway.untouched():
            status, body = await gateway.post(REFRESH, variables)
        assert status == 400, body
        assert "QUERY_TOO_COSTLY" in [e["extensions"]["code"] for e in body["errors"]]
    assert len(_handler(gateway.api).prepared) == 0


async def test_a_change_of_the_tenants_connections_checks_the_request_again(
    make_gateway: GatewayFactory,
) -> None:
    # 3 StackOne ids cost nothing on the current API version (the resolver answers
    # without a call) and 6 on the legacy one, over max_cost 5.
    gateway = await make_gateway(stackone_api_version="2025-12-03", max_cost=5)
    checks = counted_checks(gateway.api)
    variables = {"ids": order_ids("acme-stackone", 3)}
    for _ in range(2):
        status, body = await gateway.post(REFRESH, variables)
        assert (status, "errors" in body) == (200, False), body
    assert checks == [REFRESH]
    registry = gateway.api.services.connections
    current = registry.get("acme-stackone")
    assert current is not None
    legacy_settings = current.settings.model_copy(update={"api_version": "2025-02-24"})
    legacy = dataclasses.replace(
        current,
        settings=legacy_settings,
        provider=create_provider(legacy_settings.adapter_config()),
    )
    registry.replace("acme-stackone", legacy)
    try:
        status, body = await gateway.post(REFRESH, variables)
        assert status == 400, body
        assert [e["extensions"] for e in body["errors"]] == [
            {"code": "QUERY_TOO_COSTLY", "cost": 6, "maxCost": 5}
        ]
        # Refused by the check before execution (which checks again, for WebSockets).
        assert checks == [REFRESH, REFRESH]
    finally:
        await current.provider.close()


def test_live_connection_is_a_dataclass() -> None:
    # The test above swaps a connection's settings with dataclasses.replace.
    assert dataclasses.is_dataclass(LiveConnection)
