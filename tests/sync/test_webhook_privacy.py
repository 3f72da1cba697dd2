"""What the webhook endpoints tell a caller who is not the vendor: an unknown endpoint
gets one generic 404 whatever it asked for, and no refusal carries a secret or a
stack trace."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kombo_events import order_received
from tests.sync.conftest import Gateway
from tests.sync.signed import account, kombo_signed, unified_body, unified_order

KNOWN_IDS = ("acme-unified", "acme-kombo")


async def _raw(
    gateway: Gateway, path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, bytes, str]:
    async with gateway.session.post(
        gateway.url + path,
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    ) as response:
        return response.status, await response.read(), response.content_type


def _secrets(gateway: Gateway) -> list[str]:
    settings = gateway.services.settings
    found = [s.get_secret_value() for s in (settings.store.cursor_secret,) if s is not None]
    for connection in settings.connections:
        found.append(connection.api_key.get_secret_value())
        if connection.webhook_secret is not None:
            found.append(connection.webhook_secret.get_secret_value())
    return found


def _assert_discreet(gateway: Gateway, body: bytes) -> None:
    text = body.decode()
    secrets = _secrets(gateway)
    assert secrets, "the gateway under test has no secrets to leak"
    for secret in secrets:
        assert secret not in text
    assert "Traceback" not in text


async def test_every_unknown_endpoint_gets_the_same_404(gateway: Gateway) -> None:
    body = unified_body(gateway, [unified_order(account(gateway, "acme-unified"), "ord_1")])
    stranger = order_received("greenhouse:nobody", "ko_1")
    stranger_body, stranger_headers = kombo_signed(gateway, stranger)

    answers = [
        await _raw(gateway, "/webhooks/unified/nobody", body),
        await _raw(gateway, "/webhooks/unified/somebody-else", body),
        # a real connection, of another provider, is just as unknown here
        await _raw(gateway, "/webhooks/unified/acme-kombo", body),
        # Kombo routes by the integration in the body: one nobody configured
        await _raw(gateway, "/webhooks/kombo", stranger_body, stranger_headers),
    ]

    assert len(set(answers)) == 1
    status, raw, content_type = answers[0]
    assert (status, content_type) == (404, "application/json")
    assert json.loads(raw) == {
        "error": {"code": "NOT_FOUND", "message": "no such webhook endpoint"}
    }
    for known in (*KNOWN_IDS, account(gateway, "acme-kombo"), account(gateway, "acme-unified")):
        assert known not in raw.decode()
    assert await gateway.order_count() == 0


async def test_bad_signatures_are_refused_without_secrets(gateway: Gateway) -> None:
    owner = account(gateway, "acme-unified")
    tampered = json.loads(unified_body(gateway, [unified_order(owner, "ord_1")]))
    tampered["data"][0]["status"] = "COMPLETED"
    kombo_body, _ = kombo_signed(gateway, order_received(account(gateway, "acme-kombo"), "k1"))

    for path, body, headers in [
        ("/webhooks/unified/acme-unified", json.dumps(tampered).encode(), {}),
        ("/webhooks/kombo", kombo_body, {"X-Kombo-Signature": "AAAA"}),
        ("/webhooks/kombo", kombo_body, {}),
    ]:
        status, raw, _ = await _raw(gateway, path, body, headers)
        assert status == 401, path
        assert json.loads(raw)["error"]["code"] == "BAD_SIGNATURE"
        _assert_discreet(gateway, raw)
        # the expected signature is not given away either
        assert "sig" not in json.loads(raw)["error"]
    assert await gateway.order_count() == 0


def _json_of(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner),
        max_leaves=20,
    )


_json = _json_of(st.text(max_size=20))
# JSON can also carry lone surrogates ("\ud800"): valid JSON, not encodable text.
_any_json = _json_of(st.text(max_size=20) | st.text(st.characters(categories=["Cs"]), max_size=2))
_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


@settings(
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(
        ["/webhooks/unified/acme-unified", "/webhooks/unified/nobody", "/webhooks/kombo"]
    ),
    body=st.one_of(
        st.binary(max_size=200),
        _any_json.map(lambda value: json.dumps(value).encode()),
        st.fixed_dictionaries(
            {"id": _any_json, "type": _any_json, "data": _any_json},
            optional={"nonce": _any_json, "sig": _any_json, "webhook": _any_json},
        ).map(lambda value: json.dumps(value).encode()),
    ),
    signature=st.none() | _header_text,
)
async def test_arbitrary_deliveries_get_a_clear_refusal(
    gateway: Gateway, path: str, body: bytes, signature: str | None
) -> None:
    headers = {} if signature is None else {"X-Kombo-Signature": signature}
    status, raw, content_type = await _raw(gateway, path, body, headers)

    assert status in {400, 401, 404}
    assert content_type == "application/json"
    answer: dict[str, Any] = json.loads(raw)
    assert answer["error"]["code"] in {"BAD_PAYLOAD", "BAD_SIGNATURE", "NOT_FOUND"}
    _assert_discreet(gateway, raw)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.lists(_json, max_size=3), nonce=st.text(max_size=30))
async def test_arbitrary_signed_unified_data_is_mapped_or_refused(
    gateway: Gateway, data: list[Any], nonce: str
) -> None:
    # Signed with the real secret, so the mapping itself is what is being fuzzed.
    status, raw, _ = await _raw(
        gateway, "/webhooks/unified/acme-unified", unified_body(gateway, data, nonce)
    )

    assert status in {200, 400}, raw
    if status == 400:
        assert json.loads(raw)["error"]["code"] == "BAD_PAYLOAD"
    _assert_discreet(gateway, raw)


async def test_a_lone_surrogate_in_a_unified_delivery_is_a_bad_payload(gateway: Gateway) -> None:
    # JSON escapes of lone surrogates are valid JSON but have no UTF-8 form to sign:
    # the signature check used to raise on them (a 500).
    body = b'{"data": ["\\udfff"], "nonce": "\\ud800", "sig": "x", "type": "VIRTUAL"}'
    status, raw, _ = await _raw(gateway, "/webhooks/unified/acme-unified", body)

    assert status == 400
    assert json.loads(raw)["error"]["code"] == "BAD_PAYLOAD"


async def test_a_signed_delivery_with_nul_characters_is_taken(gateway: Gateway) -> None:
    # PostgreSQL cannot store NUL: this used to be a 503 on every retry of the delivery.
    order = unified_order(account(gateway, "acme-unified"), "ord_nul")
    order["profile_first_name"] = "A\x00da"

    status, answer = await gateway.post(
        "/webhooks/unified/acme-unified", unified_body(gateway, [order])
    )

    assert (status, answer["status"], answer["events"]) == (200, "ok", 1)
