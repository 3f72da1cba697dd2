"""``Order.resultDelivery`` as clients read it: never from the whole-response cache (a
repeat sees the new state), one store query per request for many orders, and
idempotency claims left by a process that died mid-write become usable again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from ordergraph.api.http import CACHE_HEADER
from ordergraph.store.types import utcnow
from tests.api.conftest import KEYS, Api
from tests.api.mutation_support import (
    DELIVERY,
    SUBMIT_RESULT,
    deliver_due,
    index_kombo,
    kombo_ids,
    order_gid,
    result_input,
    truth,
)
from tests.conftest import Sandbox

DOWN = {"kombo": {"error_rate": 1.0, "statuses": [503]}}


async def _ask(api: Api, query: str, variables: dict[str, Any]) -> tuple[str | None, Any]:
    async with api.session.post(
        f"{api.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {KEYS['acme']}"},
    ) as response:
        return response.headers.get(CACHE_HEADER), json.loads(await response.text())


async def _submit(api: Api, result: dict[str, Any]) -> dict[str, Any]:
    body = await api.query(SUBMIT_RESULT, {"input": result})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["submitResult"]
    return payload


async def _open_kombo_orders(api: Api, sandbox: Sandbox, count: int = 1) -> list[str]:
    await index_kombo(api)
    ids = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[:count]
    return [order_gid("acme-kombo", remote_id) for remote_id in ids]


async def test_a_repeat_query_sees_the_new_delivery_state(api: Api, sandbox: Sandbox) -> None:
    # given: a result kept while Kombo is down
    [gid] = await _open_kombo_orders(api, sandbox)
    await sandbox.faults(DOWN)
    pending = (await _submit(api, result_input(gid)))["order"]["resultDelivery"]
    await sandbox.faults({})

    # when: the same query twice
    first_cache, first = await _ask(api, DELIVERY, {"id": gid})
    second_cache, second = await _ask(api, DELIVERY, {"id": gid})

    # then: neither came from the cache (the field is uncacheable)
    assert first["data"]["order"]["resultDelivery"]["state"] == "PENDING"
    assert second == first
    assert first_cache == second_cache == "bypass"

    # when: the delivery lands, the same query again
    await deliver_due(api, pending)
    _, third = await _ask(api, DELIVERY, {"id": gid})

    # then: the new state
    assert third["data"]["order"]["resultDelivery"]["state"] == "DELIVERED"
    assert third["data"]["order"]["status"] == "COMPLETED"
    # and a query without the field is still served from the cache
    plain = "query P($id: ID!) { order(id: $id) { id status } }"
    await _ask(api, plain, {"id": gid})
    hit, _ = await _ask(api, plain, {"id": gid})
    assert hit == "hit"


def _result_writes(stats: dict[str, Any]) -> int:
    return sum(
        n for route, n in stats["requests"].get("kombo", {}).items() if route.startswith("PUT")
    )


async def test_a_provider_that_is_down_costs_the_waiting_client_one_request(
    api: Api, sandbox: Sandbox
) -> None:
    # given: Kombo down
    [gid] = await _open_kombo_orders(api, sandbox)
    await sandbox.faults(DOWN)
    before = _result_writes(await sandbox.stats())

    # when: a result is submitted
    payload = await _submit(api, result_input(gid))

    # then: kept and pending after a single write attempt (the HTTP layer's retries
    # are left to the deliverer's durable backoff)
    assert payload["errors"] == []
    assert payload["order"]["resultDelivery"]["state"] == "PENDING"
    assert payload["order"]["resultDelivery"]["attempts"] == 1
    assert _result_writes(await sandbox.stats()) - before == 1
    await sandbox.faults({})


ORDERS_WITH_DELIVERY = """
query { orders(first: 50) { edges { node { id resultDelivery { state attempts } } } } }
"""


@contextmanager
def _delivery_queries(api: Api) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "pending_deliveries" in statement:
            statements.append(statement)

    engine = api.services.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_many_orders_read_their_deliveries_in_one_query(api: Api, sandbox: Sandbox) -> None:
    # given: results submitted for four orders (the rest have none)
    gids = await _open_kombo_orders(api, sandbox, count=4)
    for gid in gids:
        assert (await _submit(api, result_input(gid)))["errors"] == []

    # when
    with _delivery_queries(api) as statements:
        body = await api.query(ORDERS_WITH_DELIVERY)

    # then: one query for every order's delivery
    assert "errors" not in body, body
    nodes = {e["node"]["id"]: e["node"]["resultDelivery"] for e in body["data"]["orders"]["edges"]}
    assert len(nodes) > len(gids)
    assert {gid: nodes[gid] for gid in gids} == {
        gid: {"state": "DELIVERED", "attempts": 1} for gid in gids
    }
    assert all(delivery is None for gid, delivery in nodes.items() if gid not in gids)
    assert len(statements) == 1


async def test_a_key_claimed_by_a_process_that_died_is_usable_after_its_lease(
    api: Api, sandbox: Sandbox
) -> None:
    # given: two keys whose records are left as pending claims, as a process killed
    # mid-write leaves them (the hashes are the real requests'); one claim's lease ran out
    [gid] = await _open_kombo_orders(api, sandbox)
    keys = api.services.store.idempotency
    dead = result_input(gid, idempotencyKey="dead")
    alive = result_input(gid, idempotencyKey="alive")
    for request in (dead, alive):
        assert (await _submit(api, request))["errors"] == []
    await keys.complete(
        "acme",
        "dead",
        {
            "state": "pending",
            "claim": "gone",
            "until": (utcnow() - timedelta(seconds=1)).isoformat(),
        },
    )
    await keys.complete(
        "acme",
        "alive",
        {
            "state": "pending",
            "claim": "busy",
            "until": (utcnow() + timedelta(hours=1)).isoformat(),
        },
    )
    queued = len(await api.services.store.deliveries.list("acme"))

    # when: the client retries with each key
    retried = await _submit(api, dead)
    refused = await _submit(api, alive)

    # then: the expired claim was taken over and answered; the live one is still in use
    assert retried["errors"] == []
    assert retried["order"]["resultDelivery"]["state"] == "DELIVERED"
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("IDEMPOTENCY_KEY_IN_USE", ["idempotencyKey"])
    ]
    # and the retry's answer is now stored under the key
    assert await _submit(api, dead) == retried
    record = await keys.get("acme", "dead")
    assert record is not None
    assert record.response["state"] == "done"
    # the same result was already delivered: nothing new was queued
    assert len(await api.services.store.deliveries.list("acme")) == queued
