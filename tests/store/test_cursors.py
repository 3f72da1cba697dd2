"""Cursors are opaque and signed: anything we did not issue is a clean error."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from ordergraph.errors import OrdergraphError
from ordergraph.store import (
    CursorCodec,
    EventSource,
    InvalidCursorError,
    OrderKey,
    OrderStore,
    SortOrder,
)
from tests.store.builders import make_order, minutes

KEY = OrderKey(datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), "conn-1:order-ü")


def _flip(cursor: str, position: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[position % len(raw)] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_round_trip_is_exact() -> None:
    codec = CursorCodec("secret")
    cursor = codec.encode("acme", SortOrder.DESC, KEY)

    assert codec.decode(cursor, "acme", SortOrder.DESC) == KEY
    assert KEY.id not in cursor  # opaque: not the id in clear text


@pytest.mark.parametrize("position", [0, 5, 15, 16, 20, -1])
def test_any_flipped_bit_is_refused(position: int) -> None:
    codec = CursorCodec("secret")
    cursor = codec.encode("acme", SortOrder.ASC, KEY)

    with pytest.raises(InvalidCursorError):
        codec.decode(_flip(cursor, position), "acme", SortOrder.ASC)


@pytest.mark.parametrize(
    "garbage", ["", "not a cursor", "abc", "====", "A" * 2000, "YWJj", "🙂", "a.b"]
)
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidCursorError):
        CursorCodec("secret").decode(garbage, "acme", SortOrder.ASC)


def test_foreign_secret_tenant_or_direction_is_refused() -> None:
    cursor = CursorCodec("secret").encode("acme", SortOrder.ASC, KEY)

    with pytest.raises(InvalidCursorError):
        CursorCodec("other secret").decode(cursor, "acme", SortOrder.ASC)
    with pytest.raises(InvalidCursorError):
        CursorCodec("secret").decode(cursor, "globex", SortOrder.ASC)
    with pytest.raises(InvalidCursorError, match="other direction"):
        CursorCodec("secret").decode(cursor, "acme", SortOrder.DESC)


def test_invalid_cursor_is_an_ordergraph_error() -> None:
    assert issubclass(InvalidCursorError, OrdergraphError)


async def test_store_refuses_bad_cursors(
    store: OrderStore, tenant: str, connection_id: str
) -> None:
    await store.ingest(
        tenant,
        connection_id,
        [make_order(f"o{i}", created_at=minutes(i)) for i in range(3)],
        EventSource.POLL,
    )
    page = await store.page(tenant, first=1)
    assert page.end_cursor is not None
    foreign = OrderStore(store.engine, cursor_secret="another deployment")

    for bad in (_flip(page.end_cursor, 3), "garbage", page.end_cursor + "A"):
        with pytest.raises(InvalidCursorError):
            await store.page(tenant, first=1, after=bad)
    with pytest.raises(InvalidCursorError):
        await store.page(tenant, last=1, before=page.end_cursor, order=SortOrder.DESC)
    with pytest.raises(InvalidCursorError):
        await foreign.page(tenant, first=1, after=page.end_cursor)
    with pytest.raises(InvalidCursorError):
        await store.page(f"{tenant}-other", first=1, after=page.end_cursor)


def test_event_cursor_round_trip_is_exact() -> None:
    codec = CursorCodec("secret")
    cursor = codec.encode_event("acme", 4242)

    assert codec.decode_event(cursor, "acme") == 4242


def test_event_cursor_of_another_tenant_secret_or_listing_is_refused() -> None:
    codec = CursorCodec("secret")
    cursor = codec.encode_event("acme", 7)

    with pytest.raises(InvalidCursorError):
        codec.decode_event(cursor, "globex")  # the gaps of acme's log are not globex's
    with pytest.raises(InvalidCursorError):
        CursorCodec("other").decode_event(cursor, "acme")
    with pytest.raises(InvalidCursorError):
        codec.decode(cursor, "acme", SortOrder.ASC)  # an event cursor is no page cursor
    with pytest.raises(InvalidCursorError):
        codec.decode_event(codec.encode("acme", SortOrder.ASC, KEY), "acme")


@pytest.mark.parametrize("position", [0, 5, 16, -1])
def test_event_cursor_with_a_flipped_bit_is_refused(position: int) -> None:
    codec = CursorCodec("secret")
    with pytest.raises(InvalidCursorError):
        codec.decode_event(_flip(codec.encode_event("acme", 7), position), "acme")


@pytest.mark.parametrize("event_id", [-1, 2**63, 2**70])
def test_event_cursor_outside_the_id_range_is_refused(event_id: int) -> None:
    # Even when signed by us: an id the database could not hold is no position.
    codec = CursorCodec("secret")
    with pytest.raises(InvalidCursorError):
        codec.decode_event(codec.encode_event("acme", event_id), "acme")


def test_the_unsigned_event_cursors_of_before_are_refused() -> None:
    old = base64.urlsafe_b64encode(b"event:12").decode()
    with pytest.raises(InvalidCursorError):
        CursorCodec("secret").decode_event(old, "acme")
