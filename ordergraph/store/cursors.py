"""Opaque, signed keyset cursors.

A cursor names a position in one tenant's (created_at, id) order and the direction of
the listing it came from. It is base64url of ``mac || payload`` where the payload is a
small versioned JSON array and the MAC is HMAC-SHA256 (truncated to 128 bits) over the
listing, the tenant and the payload, so a cursor that was altered, made up, signed with
another key, issued to another tenant or for another listing is refused.

Event cursors (a position in a tenant's event log: the last event id seen) are signed
the same way under their own listing, so one tenant's event cursor is refused for
another tenant, and the gaps between a tenant's event ids (other tenants' activity)
cannot be probed with made-up cursors.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from ordergraph.store.errors import InvalidCursorError
from ordergraph.store.records import SortOrder
from ordergraph.store.types import as_utc

__all__ = ["MAX_EVENT_ID", "CursorCodec", "OrderKey"]

_VERSION = 1
_MAC_BYTES = 16
_MAX_CURSOR_CHARS = 1024
_KEPT_CURSORS = 4096
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# One MAC domain per listing, so a cursor of one listing is refused by another.
_DOMAINS = {
    "orders": b"ordergraph.orders.cursor\x00",
    "candidates": b"ordergraph.candidates.cursor\x00",
    "events": b"ordergraph.events.cursor\x00",
}
# Event ids are 64-bit integers in the store: a larger one is no cursor of ours (and
# would overflow the database driver instead of matching nothing).
MAX_EVENT_ID = 2**63 - 1
_DIRECTION_CODES = {SortOrder.ASC: "a", SortOrder.DESC: "d"}


@dataclass(frozen=True, slots=True, order=True)
class OrderKey:
    """A position in the keyset order: creation time, then the order's global id."""

    created_at: datetime
    id: str


def _micros(value: datetime) -> int:
    # Integer microseconds keep the position exact; a float would round.
    delta = as_utc(value) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class CursorCodec:
    """Encodes and checks cursors with one server-side secret."""

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        if not key:
            raise ValueError("cursor secret must not be empty")
        self._key = key
        # A page signs one cursor per row, the same rows page after page (~15 µs each:
        # JSON, HMAC, base64); a cursor is a pure function of its arguments.
        self._signed = lru_cache(maxsize=_KEPT_CURSORS)(self._encode)

    def _mac(self, tenant: str, payload: bytes, listing: str) -> bytes:
        message = _DOMAINS[listing] + tenant.encode() + b"\x00" + payload
        return hmac.digest(self._key, message, "sha256")[:_MAC_BYTES]

    def _sign(self, tenant: str, payload: list[object], listing: str) -> str:
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        token = base64.urlsafe_b64encode(self._mac(tenant, data, listing) + data)
        return token.rstrip(b"=").decode("ascii")

    def _verified(self, cursor: str, tenant: str, listing: str) -> object:
        """The payload of a cursor this codec signed for ``tenant`` and ``listing``."""
        if len(cursor) > _MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(cursor):
            raise InvalidCursorError("not a cursor issued by this service")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursorError("not a cursor issued by this service") from exc
        mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        if len(mac) != _MAC_BYTES or not hmac.compare_digest(
            mac, self._mac(tenant, payload, listing)
        ):
            raise InvalidCursorError("not a cursor issued by this service")
        # Signed by us, so the payload is ours; still check its shape defensively.
        try:
            return json.loads(payload)
        except (ValueError, TypeError) as exc:
            raise InvalidCursorError("malformed cursor") from exc

    def encode_event(self, tenant: str, event_id: int) -> str:
        """The cursor of ``tenant``'s event ``event_id`` (resume after it)."""
        return self._sign(tenant, [_VERSION, event_id], "events")

    def decode_event(self, cursor: str, tenant: str) -> int:
        """The event id ``cursor`` names in ``tenant``'s log; raises ``InvalidCursorError``
        for a cursor of another tenant or listing, or one altered or made up."""
        payload = self._verified(cursor, tenant, "events")
        if (
            not isinstance(payload, list)
            or len(payload) != 2
            or payload[0] != _VERSION
            or type(payload[1]) is not int
            or not 0 <= payload[1] <= MAX_EVENT_ID
        ):
            raise InvalidCursorError("cursor from an incompatible version")
        return payload[1]

    def encode(
        self, tenant: str, order: SortOrder, key: OrderKey, *, listing: str = "orders"
    ) -> str:
        """The cursor for ``key`` in ``tenant``'s ``listing`` sorted by ``order``."""
        return self._signed(tenant, order, key, listing)

    def _encode(self, tenant: str, order: SortOrder, key: OrderKey, listing: str) -> str:
        return self._sign(
            tenant, [_VERSION, _DIRECTION_CODES[order], _micros(key.created_at), key.id], listing
        )

    def decode(
        self, cursor: str, tenant: str, order: SortOrder, *, listing: str = "orders"
    ) -> OrderKey:
        """The position ``cursor`` names in ``listing``; raises ``InvalidCursorError`` for
        anything else (including a cursor of another listing)."""
        payload = self._verified(cursor, tenant, listing)
        if not isinstance(payload, list) or len(payload) != 4:
            raise InvalidCursorError("malformed cursor")
        version, direction, micros, order_id = payload
        if version != _VERSION or not isinstance(micros, int) or not isinstance(order_id, str):
            raise InvalidCursorError("cursor from an incompatible version")
        if direction != _DIRECTION_CODES[order]:
            raise InvalidCursorError(
                f"cursor belongs to a listing in the other direction, not {order.value}"
            )
        return OrderKey(_EPOCH + timedelta(microseconds=micros), order_id)
