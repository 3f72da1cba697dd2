"""Fuzzing /graphql with generated fragment shapes (chains, diamonds and doubling
spreads, inline fragments, directives, cycles, unknown names), over HTTP and WebSocket:
never a 5xx, always an answer, the event loop never held (``/healthz`` answers)."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.ws_client import connect
from tests.fuzz.conftest import KEYS, Fuzzed
from tests.fuzz.fragment_shapes import bomb, fragment_documents
from tests.fuzz.probe import assert_clean, assert_graphql_shaped
from tests.fuzz.profiles import fuzz_settings

pytestmark = pytest.mark.fuzz

JSON = "application/json"
_SHAPES = fragment_documents() | st.integers(2, 64).map(bomb)


async def _healthy(fuzzed: Fuzzed) -> None:
    async with fuzzed.api.session.get(fuzzed.api.url + "/healthz") as response:
        assert response.status == 200


@fuzz_settings(examples=120)
@given(document=_SHAPES, operation=st.sampled_from([None, "Shapes", "Bomb", "Nope"]))
async def test_fragment_shapes_over_http_are_answered(
    fuzzed: Fuzzed, document: str, operation: str | None
) -> None:
    sent = json.dumps({"query": document, "operationName": operation})

    async def post() -> None:
        reply = await fuzzed.probe.send(
            "POST",
            "/graphql",
            headers={"Authorization": f"Bearer {KEYS['acme']}", "Content-Type": JSON},
            data=sent,
        )
        assert_clean(reply, sent)
        assert reply.status < 500, reply.text
        assert_graphql_shaped(reply)

    await asyncio.wait_for(asyncio.gather(post(), _healthy(fuzzed)), timeout=10)


@fuzz_settings(examples=40)
@given(documents=st.lists(_SHAPES, min_size=1, max_size=4))
async def test_fragment_shapes_over_websocket_are_answered(
    fuzzed: Fuzzed, documents: list[str]
) -> None:
    async with connect(fuzzed.api.session, fuzzed.api.url) as client:
        ack = await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        assert ack == {"type": "connection_ack"}
        for n, document in enumerate(documents):
            await client.subscribe(str(n), document, {})
            message = await asyncio.wait_for(client.message(str(n), within=10), timeout=10)
            await _healthy(fuzzed)
            if "close" in message:
                # Strawberry closes the socket on a document that does not parse;
                # these all parse, so a close would be a failure of ours.
                pytest.fail(f"socket closed: {message}")
            assert message["type"] in ("next", "error", "complete"), message
            if message["type"] == "next":
                assert "data" in message["payload"] or "errors" in message["payload"]
