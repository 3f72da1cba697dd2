"""Kombo webhooks: ``X-Kombo-Signature`` (HMAC-SHA256 of the raw body, base64url)
verified on the bytes before any parse, and the integration a verified body names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping

from ordergraph.errors import (
    WebhookSignatureError,
)

SIGNATURE_HEADER = "X-Kombo-Signature"
ORDER_EVENTS = frozenset({"assessment:order-received", "inline-assessment:order-received"})


def webhook_integration_id(body: bytes) -> str | None:
    """``data.integration_id`` of a delivery, for routing it to a connection.

    Call it on a body whose signature already matched (``signature_matches``), and
    whose nesting the caller has bounded: ``json.loads`` recurses per level.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    data = payload.get("data") if isinstance(payload, dict) else None
    value = data.get("integration_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _decode_signature(signature: str) -> bytes | None:
    text = signature.strip().rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def signature_matches(secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is base64url(HMAC-SHA256(secret, raw body)), compared in
    constant time. Works on the raw bytes: nothing of the body is parsed."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    given = _decode_signature(signature)
    return given is not None and hmac.compare_digest(given, expected)


def verify_signature(secret: str, body: bytes, signature: str | None) -> None:
    """Raise ``WebhookSignatureError`` unless ``signature`` is base64url(HMAC-SHA256)."""
    if not signature:
        msg = f"missing {SIGNATURE_HEADER} header"
        raise WebhookSignatureError(msg)
    if not signature_matches(secret, body, signature):
        msg = f"{SIGNATURE_HEADER} does not match the body"
        raise WebhookSignatureError(msg)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
