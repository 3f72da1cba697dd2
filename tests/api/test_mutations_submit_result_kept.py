"""A submitted result survives the provider reads that follow it: Kombo's orders never
carry a result, so a poll that re-reads the order must not erase ours (the store's
ingestion keeps it, ordergraph/store/ingest_plan.py), nor append an event for it; and a
poll page read before the result was delivered cannot put the old status back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ordergraph.store.sync_state import SyncState
from ordergraph.store.types import utcnow
from ordergraph.sync.poller import OrderPoller
from tests.api.conftest import Api
from tests.api.mutation_support import (
    DELIVERY,
    SUBMIT_RESULT,
    events,
    index_kombo,
    kombo_ids,
    live,
    order_gid,
    read_order,
    result_input,
    truth,
)
from tests.conftest import Sandbox

DOWN = {"kombo": {"error_rate": 1.0, "statuses": [503]}}
SCORED = {
    "status": "COMPLETED",
    "score": 87.5,
    "maxScore": 100.0,
    "url": "https://assess.example.com/r/1",
}


async def _submit(api: Api, result: dict[str, Any]) -> dict[str, Any]:
    body = await api.query(SUBMIT_RESULT, {"input": result})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["submitResult"]
    assert payload["errors"] == [], payload
    return payload


async def _delivery(api: Api, gid: str) -> dict[str, Any]:
    body = await api.query(DELIVERY, {"id": gid})
    assert "errors" not in body, body
    order: dict[str, Any] = body["data"]["order"]
    return order


async def test_a_full_poll_after_a_delivered_result_keeps_it_and_appends_nothing(
    api: Api, sandbox: Sandbox
) -> None:
    # given: a result delivered to an OPEN Kombo order
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)
    assert (await _submit(api, result_input(gid)))["order"]["resultDelivery"]["state"] == (
        "DELIVERED"
    )
    before = await read_order(api, gid)
    assert before["result"] == SCORED

    # when: the poller walks every order again (its state reset), re-reading this one
    await api.services.store.sync_state.put(SyncState(connection_id="acme-kombo"))
    await index_kombo(api)

    # then: the result is still ours, the status Kombo's, and no event was appended
    after = await read_order(api, gid)
    assert after["result"] == SCORED
    assert after["status"] == "COMPLETED"
    assert (
        events(after)
        == events(before)
        == [
            (None, "OPEN", "POLL"),
            ("OPEN", "COMPLETED", "MUTATION"),
        ]
    )


async def test_a_poll_while_the_result_waits_for_delivery_keeps_it(
    api: Api, sandbox: Sandbox
) -> None:
    # given: a result recorded while Kombo is down (its delivery pending, order OPEN)
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)
    await sandbox.faults(DOWN)
    pending = await _submit(api, result_input(gid))
    await sandbox.faults({})
    assert pending["order"]["resultDelivery"]["state"] == "PENDING"
    version = await api.services.store.orders.data_version("acme")

    # when: a regular poll lists the OPEN orders, this one among them, without a result
    await index_kombo(api)

    # then: Order.result still holds the submitted score; nothing changed, no event
    order = await _delivery(api, gid)
    assert order["status"] == "OPEN"
    assert order["result"] == {"status": "COMPLETED", "score": 87.5, "url": SCORED["url"]}
    assert order["resultDelivery"]["state"] == "PENDING"
    assert events(await read_order(api, gid)) == [(None, "OPEN", "POLL")]
    assert await api.services.store.orders.data_version("acme") == version


async def test_a_poll_page_read_before_the_delivery_cannot_put_the_old_status_back(
    api: Api, sandbox: Sandbox
) -> None:
    # given: a result delivered (COMPLETED at Kombo and here)
    await index_kombo(api)
    order_id = kombo_ids(await truth(sandbox, api, "acme-kombo"), "OPEN")[0]
    gid = order_gid("acme-kombo", order_id)
    await _submit(api, result_input(gid))
    delivered = await read_order(api, gid)
    assert delivered["status"] == "COMPLETED"
    # and Kombo answering as it did before the delivery (OPEN)
    connection = live(api, "acme-kombo")
    await sandbox.control(
        "PATCH",
        "orders",
        {
            "provider": "kombo",
            "account": connection.settings.account,
            "id": order_id,
            "status": "OPEN",
        },
    )
    store = api.services.store

    async def full_walk(clock: Callable[[], datetime]) -> None:
        await store.sync_state.put(SyncState(connection_id=connection.id))
        poller = OrderPoller(
            connection,
            api.services.ingestor,
            store.orders,
            store.sync_state,
            interval=3600,
            clock=clock,
        )
        await poller.poll_once()

    # when: a walk whose pages were read before the delivery is ingested after it
    before_delivery = utcnow() - timedelta(hours=1)
    await full_walk(lambda: before_delivery)

    # then: the delivered status stands, and no event was appended
    stale = await read_order(api, gid)
    assert stale["status"] == "COMPLETED"
    assert events(stale) == events(delivered)

    # when: a walk read after the delivery shows OPEN, that is Kombo's word
    await full_walk(utcnow)

    # then: the status follows Kombo with one POLL event; our result is still held
    fresh = await read_order(api, gid)
    assert fresh["status"] == "OPEN"
    assert fresh["result"] == SCORED
    assert events(fresh) == [*events(delivered), ("COMPLETED", "OPEN", "POLL")]
