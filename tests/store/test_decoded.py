"""Stored documents decoded once per process (``ordergraph.store.decoded``): the same
orders as before, never a stale one."""

from __future__ import annotations

import json

from ordergraph.models import AssessmentResult, Order, OrderStatus
from ordergraph.store import EventSource, OrderStore
from ordergraph.store.decoded import DECODED_ORDERS, DecodedOrders
from tests.store.builders import make_order

_RAW = {"id": "o1", "nested": [1, 2.5, {"deep": None, "flag": True}], "text": "é\u2028"}


async def test_a_page_read_again_decodes_nothing_and_equals_what_was_ingested(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    ingested = [
        make_order(f"o{n}", emails=(f"c{n}@example.com",), job_remote_id="j1", raw=_RAW)
        for n in range(5)
    ]
    await store.ingest(tenant, connection_id, ingested, EventSource.WEBHOOK)

    first = await store.page(tenant, first=10)
    misses, hits = DECODED_ORDERS.misses, DECODED_ORDERS.hits
    again = await store.page(tenant, first=10)

    assert [edge.node.order for edge in first.edges] == ingested
    assert [edge.node.order for edge in again.edges] == ingested
    # No document was decoded again, nor even read: the page knew each by its hash
    # (store/known_documents.py).
    assert (DECODED_ORDERS.misses, DECODED_ORDERS.hits) == (misses, hits)
    # The very same frozen models: decoded once, shared.
    assert all(a.node.order is b.node.order for a, b in zip(first.edges, again.edges, strict=True))


async def test_a_changed_order_is_read_as_it_is_now(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(tenant, connection_id, [make_order("o1")], EventSource.WEBHOOK)
    await store.page(tenant, first=10)  # decoded and kept
    changed = make_order(
        "o1", status=OrderStatus.COMPLETED, result=AssessmentResult(score=7.5, max_score=10)
    )

    await store.ingest(tenant, connection_id, [changed], EventSource.POLL)

    [edge] = (await store.page(tenant, first=10)).edges
    assert edge.node.order == changed
    key = f"{connection_id}:o1"
    assert (await store.get(tenant, [key]))[key].order == changed


def test_documents_pydantic_cannot_read_are_decoded_as_before() -> None:
    # A lone surrogate escape: Python's json reads it, pydantic-core's parser refuses it.
    text = '{"provider": "kombo", "remote_id": "a\\ud800", "status": "OPEN"}'

    order = DecodedOrders().order(text)

    assert order == Order.model_validate(json.loads(text))


def test_bounded_by_entries_and_text_size() -> None:
    decoded = DecodedOrders(max_entries=3, max_text_bytes=64 * 1000)
    texts = [json.dumps(make_order(f"o{n}").model_dump(mode="json")) for n in range(5)]
    for text in texts:
        decoded.order(text)
    assert len(decoded) == 3
    decoded.order(texts[-1])
    assert decoded.hits == 1

    small = DecodedOrders(max_text_bytes=64 * 100)  # entries over 100 bytes are not kept
    small.order(texts[0])
    assert len(small) == 0
    assert small.text_bytes == 0


def test_a_dict_is_validated_and_not_kept() -> None:
    decoded = DecodedOrders()
    document = make_order("o1").model_dump(mode="json")

    assert decoded.order(document) == make_order("o1")
    assert len(decoded) == 0
