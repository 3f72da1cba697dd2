"""``Order.updatedAt`` for every provider: the provider's time where it gives one
(Unified), else when ordergraph saw the last change (Kombo, StackOne), so
``filter: {updatedSince}`` finds recently changed orders of every provider."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ordergraph.models import OrderStatus
from ordergraph.sandbox.core import SandboxContext
from ordergraph.store import EventSource
from tests.api.conftest import Api
from tests.api.helpers import connection, fill_index
from tests.conftest import Sandbox

LIST = """query($f: OrderFilter) {
  orders(first: 100, filter: $f) {
    totalCount
    nodes { id remoteId provider updatedAt updatedAtFromProvider ingestedAt }
  }
}"""


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=11, orders_per_account=6)


async def _orders(api: Api, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    body = await api.query(LIST, {"f": where})
    assert "errors" not in body, body
    nodes: list[dict[str, Any]] = body["data"]["orders"]["nodes"]
    assert body["data"]["orders"]["totalCount"] == len(nodes)
    return nodes


async def test_every_provider_has_an_update_time(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)
    nodes = await _orders(api)
    assert {n["provider"] for n in nodes} == {"UNIFIED", "STACKONE", "KOMBO"}
    for node in nodes:
        assert node["updatedAt"] is not None, node
        assert node["updatedAtFromProvider"] is (node["provider"] == "UNIFIED"), node
        if not node["updatedAtFromProvider"]:
            assert node["updatedAt"] == node["ingestedAt"], node


async def test_updated_since_finds_a_kombo_order_changed_after_it(
    api: Api, sandbox: Sandbox
) -> None:
    await fill_index(api, sandbox)
    since = datetime.now(UTC)
    stamp = since.isoformat()
    # Nothing of Kombo or StackOne changed since the index was filled.
    assert not [
        n for n in await _orders(api, {"updatedSince": stamp}) if n["provider"] != "UNIFIED"
    ]

    # when one Kombo order changes (as a poll would read it)
    store = api.services.store.orders
    kombo = [n for n in await _orders(api, {"providers": ["KOMBO"]})]
    key = f"acme-kombo:{kombo[0]['remoteId']}"
    stored = (await store.get("acme", [key]))[key]
    new_status = (
        OrderStatus.CANCELLED if stored.order.status != OrderStatus.CANCELLED else OrderStatus.OPEN
    )
    changed = stored.order.model_copy(update={"status": new_status})
    result = await api.services.ingestor.ingest(
        connection(api, "acme-kombo"), [changed], EventSource.POLL
    )
    assert result.events

    # then updatedSince finds it, and its updatedAt says when ordergraph saw the change
    found = [n for n in await _orders(api, {"updatedSince": stamp}) if n["provider"] != "UNIFIED"]
    assert [n["remoteId"] for n in found] == [kombo[0]["remoteId"]]
    seen = datetime.fromisoformat(found[0]["updatedAt"])
    assert seen >= since.replace(microsecond=since.microsecond // 1000 * 1000)
    assert found[0]["updatedAt"] == found[0]["ingestedAt"]
