"""Opaque, signed keyset cursors.

A cursor names a position in one tenant's (created_at, id) order and the direction of
the listing it came from. It is base64url of ``mac || payload`` where the payload is a
small versioned JSON array and the MAC is HMAC-SHA256 (truncated to 128 bits) over the
listing, the tenant and the payload, so a cursor that was altered, made up, signed with
another key, issued to another tenant or for another listing is refused.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ordergraph.store.errors import InvalidCursorError
from ordergraph.store.records import SortOrder
from ordergraph.store.types import as_utc

__all__ = ["CursorCodec", "OrderKey"]

_VERSION = 1
_MAC_BYTES = 16
_MAX_CURSOR_CHARS = 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# One MAC domain per listing, so a cursor of one listing is refused by another.
_DOMAINS = {
    "orders": b"ordergraph.orders.cursor\x00",
    "candidates": b"ordergraph.candidates.cursor\x00",
}
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

    def _mac(self, tenant: str, payload: bytes, listing: str) -> bytes:
        message = _DOMAINS[listing] + tenant.encode() + b"\x00" + payload
        return hmac.digest(self._key, message, "sha256")[:_MAC_BYTES]

    def encode(
        self, tenant: str, order: SortOrder, key: OrderKey, *, listing: str = "orders"
    ) -> str:
        """The cursor for ``key`` in ``tenant``'s ``listing`` sorted by ``order``."""
        payload = json.dumps(
            [_VERSION, _DIRECTION_CODES[order], _micros(key.created_at), key.id],
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        token = base64.urlsafe_b64encode(self._mac(tenant, payload, listing) + payload)
        return token.rstrip(b"=").decode("ascii")

    def decode(
        self, cursor: str, tenant: str, order: SortOrder, *, listing: str = "orders"
    ) -> OrderKey:
        """The position ``cursor`` names in ``listing``; raises ``InvalidCursorError`` for
        anything else (including a cursor of another listing)."""
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
            version, direction, micros, order_id = json.loads(payload)
        except (ValueError, TypeError) as exc:
            raise InvalidCursorError("malformed cursor") from exc
        if version != _VERSION or not isinstance(micros, int) or not isinstance(order_id, str):
            raise InvalidCursorError("cursor from an incompatible version")
        if direction != _DIRECTION_CODES[order]:
            raise InvalidCursorError(
                f"cursor belongs to a listing in the other direction, not {order.value}"
            )
        return OrderKey(_EPOCH + timedelta(microseconds=micros), order_id)
