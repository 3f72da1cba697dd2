"""The secret scanner finds every secret of the settings, in every form it could leak in."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

import pytest

from ordergraph.settings import load_settings
from tests.secrets_scan import Captured, SecretScanner, capture_logs
from tests.tenants import tenant_entries

SETTINGS = load_settings(
    environ={},
    overrides={
        "store": {
            "url": "postgresql://og:pg-pass-w0rd@db.example/og",
            "cursor_secret": "cursor-s3cret",
        },
        "broker": {"url": "redis://:redis-pass-77@cache.example:6379/0"},
        "tenants": tenant_entries({"acme": "tenant-key-123"}),
        "connections": [
            {
                "id": "acme-stackone",
                "tenant": "acme",
                "provider": "stackone",
                "base_url": "https://api.stackone.example",
                "api_key": "provider+key/with=odd&chars",
                "account": "acct-1",
                "webhook_secret": "whsec-abcdef",
            }
        ],
    },
)


def test_every_secret_of_the_settings_is_collected() -> None:
    # The settings hold only the tenant key's hash: the test names the key itself.
    scanner = SecretScanner.from_settings(SETTINGS, api_key="tenant-key-123")
    assert sorted(scanner.secrets.values()) == sorted(
        [
            "pg-pass-w0rd",
            "cursor-s3cret",
            "redis-pass-77",
            "tenant-key-123",
            "provider+key/with=odd&chars",
            "whsec-abcdef",
        ]
    )


@pytest.mark.parametrize(
    "leak",
    [
        "tenant-key-123",
        base64.b64encode(b"provider+key/with=odd&chars:").decode(),  # Basic auth
        base64.urlsafe_b64encode(b"whsec-abcdef").decode().rstrip("="),
        quote("provider+key/with=odd&chars", safe=""),
        "postgresql://og:pg-pass-w0rd@db.example/og",
    ],
)
def test_a_leak_is_found_and_named_without_its_value(leak: str) -> None:
    scanner = SecretScanner.from_settings(SETTINGS, api_key="tenant-key-123")
    captured = Captured()
    captured.response("POST /graphql", 200, {"X-Thing": "1"}, f'{{"data": "{leak}"}}')
    with pytest.raises(AssertionError) as failure:
        scanner.scan(captured)
    assert "POST /graphql" in str(failure.value)
    assert leak not in str(failure.value)


def test_log_records_are_captured_with_their_tracebacks() -> None:
    scanner = SecretScanner.from_settings(SETTINGS, api_key="tenant-key-123")
    captured = Captured()
    with capture_logs(captured):
        logging.getLogger("ordergraph.example").debug("fine")
        try:
            raise ValueError("cursor-s3cret")
        except ValueError:
            logging.getLogger("ordergraph.example").exception("failed")
    assert scanner.leaks(captured) == ["store.cursor_secret in log ordergraph.example"]


def test_clean_text_passes() -> None:
    scanner = SecretScanner.from_settings(SETTINGS, api_key="tenant-key-123")
    captured = Captured()
    captured.add("stdout", "listening on http://127.0.0.1:8000/graphql")
    scanner.scan(captured)
