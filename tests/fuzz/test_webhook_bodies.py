"""Fuzzing the webhook endpoints with random bytes, random JSON, and hypothesis-made
JSON signed correctly with the sandbox's own signers.

Every answer is a 2xx or a 4xx (a 5xx would make the vendor retry a delivery that can
never succeed), and a validly signed but malformed delivery never corrupts the store:
everything stored stays readable through GraphQL, without errors.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from ordergraph.sandbox.kombo import sign as kombo_sign
from ordergraph.sandbox.unified import webhook_signature
from tests.api.helpers import gid
from tests.fuzz.conftest import KEYS, Fuzzed
from tests.fuzz.probe import Reply, assert_clean
from tests.fuzz.profiles import fuzz_settings
from tests.fuzz.strategies import json_values
from tests.kombo_events import order_received

ENDPOINTS = ["/webhooks/unified/acme-unified", "/webhooks/unified/nope", "/webhooks/kombo"]
READ_BACK = """query($c: [ID!]) {
  orders(first: 100, filter: {connectionIds: $c}) {
    totalCount
    nodes { id remoteId status providerStatus createdAt updatedAt
      candidate { id name emails phones } job { title hiringTeam { email roles } }
      application { remoteId } requester { email } result { status score url attributes { label } }
      testUrl targetUrl events(first: 100) { edges { node { newStatus previousStatus source } } } }
  }
}"""
UNIFIED_FIELDS = ["id", "status", "package_id", "job_id", "profile_first_name", "profile_emails",
                  "created_at", "updated_at", "response_score", "response_max_score",
                  "connection_id", "workspace_id", "candidate_id", "response_url"]  # fmt: skip
KOMBO_FIELDS = ["id", "status", "package_id", "integration_id", "candidate", "job", "application"]
_HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)

pytestmark = pytest.mark.fuzz


def _check_reply(reply: Reply) -> None:
    event(f"status {reply.status}")
    assert_clean(reply)
    assert 200 <= reply.status < 500, (reply.status, reply.text[:300])
    body = reply.json()
    if reply.status >= 400:
        assert isinstance(body["error"]["code"], str), body
        assert isinstance(body["error"]["message"], str), body


async def _store_reads_back(fuzzed: Fuzzed, connection_id: str) -> None:
    """Everything the connection holds reads back through GraphQL with no error."""
    connection = gid("ProviderConnection", connection_id)
    body = await fuzzed.probe.graphql(READ_BACK, {"c": [connection]}, key=KEYS["acme"])
    assert "errors" not in body, body
    assert body["data"]["orders"]["totalCount"] == len(body["data"]["orders"]["nodes"]) or (
        body["data"]["orders"]["totalCount"] > 100
    )


def _secret(fuzzed: Fuzzed, connection_id: str) -> tuple[str, str]:
    connection = fuzzed.api.services.connections.get(connection_id)
    assert connection is not None
    assert connection.settings.webhook_secret is not None
    return connection.settings.webhook_secret.get_secret_value(), connection.settings.account


@fuzz_settings(examples=120)
@given(
    path=st.sampled_from(ENDPOINTS),
    body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
    content_type=st.none() | st.sampled_from(["application/json", "text/plain"]) | _HEADER_TEXT,
    signature=st.none() | _HEADER_TEXT,
)
async def test_random_bodies_are_refused_cleanly(
    fuzzed: Fuzzed, path: str, body: bytes, content_type: str | None, signature: str | None
) -> None:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if signature is not None:
        headers["X-Kombo-Signature"] = signature
    reply = await fuzzed.probe.send("POST", path, headers=headers, data=body)
    _check_reply(reply)
    assert reply.status >= 400 or path != ENDPOINTS[1], reply.text


@st.composite
def unified_items(draw: st.DrawFn, account: str) -> Any:
    """An order as Unified sends it, with some fields replaced by anything; or anything."""
    item: dict[str, Any] = {
        "id": draw(st.sampled_from(["fz_1", "fz_2", "fz_3"]) | st.text(max_size=12)),
        "workspace_id": "ws_fuzz",
        "connection_id": account,
        "status": draw(st.sampled_from(["OPEN", "COMPLETED", "CANCELED"]) | st.text(max_size=8)),
        "package_id": "pkg_001",
        "profile_first_name": draw(st.text(max_size=12)),
        "profile_emails": [draw(st.emails() | st.text(max_size=12))],
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-01T10:00:00Z",
    }
    for name in draw(st.lists(st.sampled_from(UNIFIED_FIELDS), max_size=3)):
        item[name] = draw(json_values)
    return draw(st.just(item) | json_values)


@fuzz_settings(examples=80)
@given(data=st.data())
async def test_signed_unified_deliveries_of_any_shape_keep_the_store_readable(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    secret, account = _secret(fuzzed, "acme-unified")
    items = data.draw(st.lists(unified_items(account), max_size=3))
    nonce = data.draw(st.text(max_size=10))
    payload = {
        "data": items,
        "webhook": {
            "id": "wh_fuzz",
            "connection_id": data.draw(st.just(account) | st.text(max_size=8)),
            "object_type": "assessment_order",
            "event": data.draw(st.sampled_from(["created", "updated", "deleted"])),
        },
        "nonce": nonce,
        "sig": webhook_signature(secret, items, nonce),
        "type": data.draw(st.sampled_from(["VIRTUAL", "INITIAL-PARTIAL", "NATIVE", "x"])),
    }
    body = json.dumps(payload, ensure_ascii=data.draw(st.booleans())).encode()
    reply = await fuzzed.probe.send(
        "POST", ENDPOINTS[0], headers={"Content-Type": "application/json"}, data=body
    )
    _check_reply(reply)
    if reply.status == 200:
        await _store_reads_back(fuzzed, "acme-unified")


@fuzz_settings(examples=80)
@given(data=st.data())
async def test_signed_kombo_events_of_any_shape_keep_the_store_readable(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    secret, account = _secret(fuzzed, "acme-kombo")
    remote_id = data.draw(st.sampled_from(["kfz_1", "kfz_2"]) | st.text(max_size=12))
    event = order_received(account, remote_id)
    event["type"] = data.draw(
        st.sampled_from(["assessment:order-received", "assessment:order-cancelled"])
        | st.text(max_size=12)
    )
    candidate = event["data"]["candidate"]
    for name in data.draw(st.lists(st.sampled_from(sorted(candidate)), max_size=2)):
        candidate[name] = data.draw(json_values)
    for name in data.draw(st.lists(st.sampled_from(KOMBO_FIELDS[1:]), max_size=3)):
        event["data"][name] = data.draw(json_values)
    body = json.dumps(event).encode()
    reply = await fuzzed.probe.send(
        "POST",
        ENDPOINTS[2],
        headers={"Content-Type": "application/json", "X-Kombo-Signature": kombo_sign(secret, body)},
        data=body,
    )
    _check_reply(reply)
    if reply.status == 200:
        await _store_reads_back(fuzzed, "acme-kombo")


# --- nesting and size -------------------------------------------------------------------

_KEYS = st.text(st.sampled_from(list('ab[]{}"\\')), max_size=4)
# Values of any shape, recursively: lists and objects inside each other, strings that
# hold brackets, quotes and backslashes (what a depth scan could mistake for nesting).
_NESTED: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.integers() | _KEYS,
    lambda inner: (
        inner.map(lambda v: [v])
        | inner.map(lambda v: {"k": v})
        | st.lists(inner, max_size=3)
        | st.dictionaries(_KEYS, inner, max_size=3)
    ),
    max_leaves=30,
)
_OPENERS = st.sampled_from([("[", "]"), ('{"a":', "}"), ('["]",', "]"), ('{"[":', "}")])
MAX_NESTING = 64


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@st.composite
def nested_texts(draw: st.DrawFn) -> tuple[str, int]:
    """A JSON text and its depth: a recursive value wrapped in up to 100,000 more levels
    (as text: Python's encoder would recurse as deep)."""
    inner = draw(_NESTED)
    opener, closer = draw(_OPENERS)
    levels = draw(st.sampled_from([0, 1, 30, 63]) | st.integers(0, 100_000))
    text = opener * levels + json.dumps(inner) + closer * levels
    return text, levels + _depth(inner)


@fuzz_settings(examples=60)
@given(nested=nested_texts(), signed=st.booleans())
async def test_nested_kombo_bodies_are_refused_or_taken_cleanly(
    fuzzed: Fuzzed, nested: tuple[str, int], signed: bool
) -> None:
    text, depth = nested
    secret, _ = _secret(fuzzed, "acme-kombo")
    body = text.encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Kombo-Signature"] = kombo_sign(secret, body)
    reply = await fuzzed.probe.send("POST", ENDPOINTS[2], headers=headers, data=body)
    _check_reply(reply)
    if not signed:
        assert reply.status == 401, reply.text  # refused on the raw bytes, unparsed
    elif depth > MAX_NESTING:
        assert (reply.status, reply.json()["error"]["code"]) == (400, "BAD_PAYLOAD")


@fuzz_settings(examples=60)
@given(nested=nested_texts(), where=st.sampled_from(["body", "data", "item"]))
async def test_nested_unified_bodies_are_refused_or_taken_cleanly(
    fuzzed: Fuzzed, nested: tuple[str, int], where: str
) -> None:
    text, depth = nested
    secret, account = _secret(fuzzed, "acme-unified")
    if where == "body":
        body = text
    else:
        # Nested inside the signed data (signed when shallow enough to serialise).
        data = f"[{text}]" if where == "data" else f'[{{"id": "fz_n", "raw": {text}}}]'
        depth += 2 if where == "data" else 3
        sig = webhook_signature(secret, json.loads(data), "n") if depth < 500 else "x"
        webhook = {"connection_id": account, "object_type": "assessment_order", "event": "x"}
        body = (
            f'{{"data": {data}, "webhook": {json.dumps(webhook)}, "nonce": "n", '
            f'"sig": {json.dumps(sig)}, "type": "VIRTUAL"}}'
        )
        depth += 1
    reply = await fuzzed.probe.send(
        "POST", ENDPOINTS[0], headers={"Content-Type": "application/json"}, data=body.encode()
    )
    _check_reply(reply)
    if depth > MAX_NESTING:
        assert (reply.status, reply.json()["error"]["code"]) == (400, "BAD_PAYLOAD")


# The probe posts raw bytes; aiohttp's advice to stream megabytes is about the client.
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
@fuzz_settings(examples=12)
@given(
    path=st.sampled_from(ENDPOINTS),
    size=st.sampled_from([1_500_000, 2 * 1024 * 1024 - 100, 2 * 1024 * 1024 + 1]),
    filler=st.sampled_from([b" ", b"[", b"[]", b'"x",', b"\xff"]),
    signed=st.booleans(),
)
async def test_huge_bodies_are_refused_cleanly(
    fuzzed: Fuzzed, path: str, size: int, filler: bytes, signed: bool
) -> None:
    body = (b'{"data": [' + filler * size)[:size]
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Kombo-Signature"] = kombo_sign(_secret(fuzzed, "acme-kombo")[0], body)
    reply = await fuzzed.probe.send("POST", path, headers=headers, data=body)
    _check_reply(reply)
    assert reply.status >= 400
    if size > 2 * 1024 * 1024:
        assert reply.status in (404, 413), reply.text
    assert len(reply.text) < 300
