"""Signed webhook deliveries built by hand, as Unified and Kombo would send them."""

from __future__ import annotations

import json
from typing import Any

from ordergraph.sandbox.kombo import sign as kombo_sign
from ordergraph.sandbox.unified import webhook_signature
from tests.sync.conftest import Gateway


def _secret(gateway: Gateway, connection_id: str) -> str:
    connection = gateway.services.connections.get(connection_id)
    assert connection is not None
    assert connection.settings.webhook_secret is not None
    return connection.settings.webhook_secret.get_secret_value()


def account(gateway: Gateway, connection_id: str) -> str:
    connection = gateway.services.connections.get(connection_id)
    assert connection is not None
    return connection.settings.account


def unified_order(account: str, order_id: str, status: str = "OPEN") -> dict[str, Any]:
    """One ``AssessmentOrder`` of ``account``, as a delivery's ``data`` carries it."""
    return {
        "id": order_id,
        "workspace_id": "ws_test",
        "connection_id": account,
        "status": status,
        "package_id": "pkg_001",
        "profile_first_name": "Ada",
        "profile_last_name": "Lovelace",
        "profile_emails": ["ada@example.com"],
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-01T10:00:00Z",
    }


def unified_body(
    gateway: Gateway,
    data: list[Any],
    nonce: str = "n-1",
    connection_id: str = "acme-unified",
) -> bytes:
    """A Unified delivery of ``data`` for the connection, signed with its secret."""
    secret = _secret(gateway, connection_id)
    payload = {
        "data": data,
        "webhook": {
            "id": "wh_test",
            "connection_id": account(gateway, connection_id),
            "object_type": "assessment_order",
            "event": "updated",
        },
        "nonce": nonce,
        "sig": webhook_signature(secret, data, nonce),
        "type": "VIRTUAL",
    }
    return json.dumps(payload).encode()


def kombo_signed(
    gateway: Gateway, event: dict[str, Any], connection_id: str = "acme-kombo"
) -> tuple[bytes, dict[str, str]]:
    """A Kombo event's body and its ``X-Kombo-Signature`` header."""
    return kombo_signed_bytes(gateway, json.dumps(event).encode(), connection_id)


def kombo_signed_bytes(
    gateway: Gateway, body: bytes, connection_id: str = "acme-kombo"
) -> tuple[bytes, dict[str, str]]:
    """Any bytes, signed as Kombo signs a body (the raw bytes, whatever they hold)."""
    return body, {"X-Kombo-Signature": kombo_sign(_secret(gateway, connection_id), body)}
