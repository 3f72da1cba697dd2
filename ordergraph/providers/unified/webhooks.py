"""Unified.to's webhook signature: HMAC-SHA256 of ``JSON.stringify(data) + nonce``,
so a delivery must be parsed before it can be verified.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any


def _js_numbers(value: Any) -> Any:
    """Integral floats as ints, as JavaScript's ``JSON.stringify`` writes them ("100",
    not "100.0"): Unified signs what its Node service serialises."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    return value


def signature_digest(secret: str, data: Sequence[Any], nonce: str) -> bytes:
    """HMAC-SHA1(secret, compact JSON of ``data`` + nonce).

    The serialization is our choice (PROVIDERS.md 1.7: not found); this is the only
    place the adapter makes it.
    """
    text = json.dumps(_js_numbers(list(data)), separators=(",", ":"), ensure_ascii=False)
    message = text + nonce
    return hmac.new(secret.encode(), message.encode(), hashlib.sha1).digest()


def verify_signature(secret: str, data: Sequence[Any], nonce: str, sig: str) -> bool:
    """Constant-time check of ``sig`` as a base64 or a hex digest."""
    digest = signature_digest(secret, data, nonce)
    given = sig.strip().encode()
    candidates = (base64.b64encode(digest), digest.hex().encode())
    # Compare against every candidate so timing does not reveal which encoding matched.
    matches = [hmac.compare_digest(given, candidate) for candidate in candidates]
    return any(matches)
