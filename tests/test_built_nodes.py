"""Order nodes built once per row (``ordergraph.schema.orders._BuiltNodes``): the same
row gives the node already built, any change to the row or another codec a new one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ordergraph.ids import NodeIdCodec
from ordergraph.models import Candidate, Order, OrderStatus, ProviderName
from ordergraph.schema.orders import Order as OrderNode
from ordergraph.store import CreatedAtSource, StoredOrder

_T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _stored(order: Order, *, version: int = 1) -> StoredOrder:
    return StoredOrder(
        id=f"c1:{order.remote_id}",
        tenant="acme",
        connection_id="c1",
        order=order,
        created_at=_T0,
        created_at_source=CreatedAtSource.FIRST_SEEN,
        first_seen_at=_T0,
        ingested_at=_T0,
        version=version,
    )


def _order(status: OrderStatus = OrderStatus.OPEN) -> Order:
    return Order(
        provider=ProviderName.KOMBO,
        remote_id="o1",
        status=status,
        candidate=Candidate(first_name="Ada", emails=("ada@example.com",)),
    )


def test_the_same_row_gives_the_node_built_before() -> None:
    ids = NodeIdCodec("secret-one")
    order = _order()

    first = OrderNode.wrap(_stored(order), ids)
    # Another read of the same row: a new StoredOrder around the same decoded document.
    again = OrderNode.wrap(_stored(order), ids)

    assert again is first
    assert first.status is OrderStatus.OPEN
    assert first.candidate is not None
    assert first.candidate.first_name == "Ada"


def test_a_changed_row_or_another_codec_gives_a_new_node() -> None:
    ids = NodeIdCodec("secret-one")
    order = _order()
    built = OrderNode.wrap(_stored(order), ids)

    completed = _order(OrderStatus.COMPLETED)  # an update: a new document, version 2
    changed = OrderNode.wrap(_stored(completed, version=2), ids)
    later = OrderNode.wrap(replace(_stored(order), ingested_at=_T0 + timedelta(seconds=1)), ids)
    other_codec = OrderNode.wrap(_stored(order), NodeIdCodec("secret-two"))
    equal_document = OrderNode.wrap(_stored(order.model_copy()), ids)

    assert changed.status is OrderStatus.COMPLETED
    assert later is not built
    assert later.ingested_at == _T0 + timedelta(seconds=1)
    assert other_codec is not built
    assert other_codec.id.node_id != built.id.node_id
    # An equal document that is another object is not assumed to be the same row.
    assert equal_document is not built
    assert OrderNode.wrap(_stored(order), ids) is built
