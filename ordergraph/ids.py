"""Node ids that cannot be made from outside and carry no personal data.

A Relay global id is ``base64("<Type>:<node id>")``. Before signing, the node id was the
entity's key itself (``<connection>:<remote id>`` for an order, ``e:<email>`` for a
candidate): anyone who knows a provider's id scheme could write an order's id, and a
candidate's id carried its email. Now the node id ordergraph hands out is

    ``1.<mac>.<public key>``

``mac`` is HMAC-SHA256 over the type name and public key, keyed by a key derived from
the store's ``cursor_secret``, cut to 12 bytes (16 base64url characters): forging one
takes 2**96 tries. The public key is the entity's key, except that a candidate's email
is sealed (``x:<sealed>``): encrypted deterministically (SIV construction: the IV is an
HMAC of the email, so one email is always one id, and the keystream is HMAC in counter
mode), so the id holds no email and a guessed email cannot be turned into its id.

Decoding checks the MAC in constant time. A node id that is not a valid signed one is
returned as a *legacy* key (the raw key of ids issued before signing); whether a legacy
key may resolve is the caller's decision (``ordergraph.resolvers.node_keys``), as it
depends on the store: only entities the index held before signing began.

Encoding is a few HMACs, done once per node built (nodes carry their id as a plain
field), with no I/O; the ids of recently built nodes are kept (a bounded LRU per codec),
because a polled page builds the same nodes again and signing was most of building them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DecodedNodeId", "NodeIdCodec", "b64url", "possible_keys", "unb64url"]

_VERSION = "1"
_MAC_BYTES = 12
_MAC_CHARS = 16  # base64url of 12 bytes, no padding needed
_SIV_BYTES = 16
_SEALED_PREFIX = "x:"
_EMAIL_PREFIX = "e:"
# Ids kept per codec: a few pages' worth of nodes (four per order) for every tenant that
# polls, a few MB at most.
_KEPT_IDS = 16384


def b64url(raw: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes | None:
    """The bytes of unpadded base64url text; None when it is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _xor(data: bytes, stream: bytes) -> bytes:
    """``data`` XOR ``stream`` (same length), as one integer operation."""
    mixed = int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")
    return mixed.to_bytes(len(data), "big")


def _signed_parts(node_id: str) -> tuple[str, str] | None:
    """(mac, public key) of a node id in the signed form, unchecked; None otherwise."""
    head = len(_VERSION) + 1
    end = head + _MAC_CHARS
    if not node_id.startswith(f"{_VERSION}.") or node_id[end : end + 1] != ".":
        return None
    return node_id[head:end], node_id[end + 1 :]


def possible_keys(node_id: str) -> tuple[str, ...]:
    """Every key ``node_id`` could stand for, without the secret: the signed reading
    (signature not checked) and the legacy one. For estimates that must not price an id
    below what resolving it may cost (``ordergraph.schema.cost``)."""
    parts = _signed_parts(node_id)
    return (parts[1], node_id) if parts is not None else (node_id,)


@dataclass(frozen=True, slots=True)
class DecodedNodeId:
    """The entity key behind a node id; ``legacy`` when it was not a signed id."""

    key: str
    legacy: bool


class NodeIdCodec:
    """Signs node keys into node ids and checks them back; keyed by one secret."""

    __slots__ = ("_enc_key", "_encoded", "_mac_key", "_siv_key")

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if not raw:
            raise ValueError("the node id secret must not be empty")

        # One derived key per use, so a MAC can never stand in for a cursor signature
        # or an IV (the cursor codec keys with the same secret).
        def derive(purpose: bytes) -> bytes:
            return hmac.new(raw, b"ordergraph node ids/" + purpose, hashlib.sha256).digest()

        self._mac_key = derive(b"mac")
        self._siv_key = derive(b"siv")
        self._enc_key = derive(b"enc")
        self._encoded = lru_cache(maxsize=_KEPT_IDS)(self._encode)

    # --- signing ----------------------------------------------------------------------

    def _mac(self, type_name: str, public_key: str) -> str:
        message = f"{type_name}\x00{public_key}".encode()
        return b64url(hmac.digest(self._mac_key, message, "sha256")[:_MAC_BYTES])

    def encode(self, type_name: str, key: str) -> str:
        """The node id of ``type_name``'s entity ``key`` (as given to ``relay.GlobalID``)."""
        return self._encoded(type_name, key)

    def _encode(self, type_name: str, key: str) -> str:
        public = self._public_key(key)
        return f"{_VERSION}.{self._mac(type_name, public)}.{public}"

    def decode(self, type_name: str, node_id: str) -> DecodedNodeId | None:
        """The key behind ``node_id``: signed and valid, else the legacy reading of it.

        None for a signed-looking id whose sealed part does not open (never a key an
        unsigned id could have had: those are ``e:``/``o:``/``j:`` or ``<conn>:<id>``).
        """
        signed = self._verified(type_name, node_id)
        if signed is None:
            return DecodedNodeId(node_id, legacy=True)
        key = self._private_key(signed)
        return DecodedNodeId(key, legacy=False) if key is not None else None

    def _verified(self, type_name: str, node_id: str) -> str | None:
        """The public key of a valid signed ``node_id``; None when it is not one."""
        parts = _signed_parts(node_id)
        if parts is None:
            return None
        given, public = parts
        expected = self._mac(type_name, public)
        return public if hmac.compare_digest(given.encode(), expected.encode()) else None

    # --- sealing emails ---------------------------------------------------------------

    def _public_key(self, key: str) -> str:
        if key.startswith(_EMAIL_PREFIX):
            return _SEALED_PREFIX + self._seal(key.removeprefix(_EMAIL_PREFIX))
        return key

    def _private_key(self, public: str) -> str | None:
        if public.startswith(_SEALED_PREFIX):
            email = self._open(public.removeprefix(_SEALED_PREFIX))
            return _EMAIL_PREFIX + email if email is not None else None
        return public

    def _keystream(self, iv: bytes, length: int) -> bytes:
        blocks = (
            hmac.digest(self._enc_key, iv + n.to_bytes(4, "big"), "sha256")
            for n in range(-(-length // 32))
        )
        return b"".join(blocks)[:length]

    def _seal(self, text: str) -> str:
        plain = text.encode()
        iv = hmac.digest(self._siv_key, plain, "sha256")[:_SIV_BYTES]
        cipher = _xor(plain, self._keystream(iv, len(plain)))
        return b64url(iv + cipher)

    def _open(self, sealed: str) -> str | None:
        raw = unb64url(sealed)
        if raw is None or len(raw) < _SIV_BYTES:
            return None
        iv, cipher = raw[:_SIV_BYTES], raw[_SIV_BYTES:]
        plain = _xor(cipher, self._keystream(iv, len(cipher)))
        expected = hmac.digest(self._siv_key, plain, "sha256")[:_SIV_BYTES]
        if not hmac.compare_digest(iv, expected):
            return None
        try:
            return plain.decode()
        except UnicodeDecodeError:
            return None
