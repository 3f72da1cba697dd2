"""Fuzzing the WebSocket transport (graphql-transport-ws on /graphql): random frames
and subscribe payloads after a valid handshake. The server answers with protocol
errors or closes with a 44xx code; never an internal error (1011) or a stack trace."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import KEYS, Fuzzed
from tests.fuzz.profiles import fuzz_settings
from tests.fuzz.strategies import documents, json_values

pytestmark = pytest.mark.fuzz

_TYPES = st.sampled_from(["subscribe", "complete", "ping", "pong", "connection_init", "next"])
_SUBSCRIBE = st.fixed_dictionaries(
    {"id": st.text(max_size=5) | st.integers(), "type": st.just("subscribe")},
    optional={
        "payload": st.fixed_dictionaries(
            {},
            optional={
                "query": documents | json_values,
                "variables": json_values,
                "operationName": st.none() | st.text(max_size=8),
                "extensions": json_values,
            },
        )
    },
)
_FRAMES = st.one_of(
    _SUBSCRIBE.map(json.dumps),
    st.fixed_dictionaries(
        {"type": _TYPES}, optional={"id": json_values, "payload": json_values}
    ).map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=40),
)
# 44xx: graphql-transport-ws protocol refusals; 1000/1001: normal closes.
_CLEAN_CLOSES = {1000, 1001, 4400, 4401, 4403, 4406, 4408, 4409, 4429, 4500}
_INTERNALS = ("Traceback", 'File "', "site-packages", "Unexpected error.")


async def _drain(ws: aiohttp.ClientWebSocketResponse, fuzzed: Fuzzed) -> None:
    """Read what the server sends for a moment; check every frame and the close code."""
    while True:
        try:
            message = await ws.receive(timeout=0.3)
        except TimeoutError:
            return
        if message.type == aiohttp.WSMsgType.TEXT:
            fuzzed.probe.captured.add("websocket frame", message.data)
            for mark in _INTERNALS:
                assert mark not in message.data, message.data
            frame: Any = json.loads(message.data)
            assert isinstance(frame, dict), message.data
            if frame.get("type") == "ping":
                await ws.send_json({"type": "pong"})
            continue
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            assert ws.close_code in _CLEAN_CLOSES, (ws.close_code, message.extra)
            return
        raise AssertionError(message)


@fuzz_settings(examples=60)
@given(frames=st.lists(_FRAMES, min_size=1, max_size=4))
async def test_random_frames_after_the_handshake_are_refused_cleanly(
    fuzzed: Fuzzed, frames: list[str]
) -> None:
    url = fuzzed.api.url.replace("http://", "ws://") + "/graphql"
    async with fuzzed.api.session.ws_connect(url, protocols=["graphql-transport-ws"]) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {KEYS['acme']}"}}
        )
        ack = await ws.receive_json(timeout=5)
        assert ack["type"] == "connection_ack", ack
        for frame in frames:
            if ws.closed:
                break
            await ws.send_str(frame)
            await _drain(ws, fuzzed)
