"""graphql-transport-ws frames that are JSON but no message object close with 4400."""

from __future__ import annotations

import aiohttp
import pytest

from tests.api.conftest import KEYS, Api


@pytest.mark.parametrize(
    "frame",
    [
        "null",
        "1",
        "[]",
        '"subscribe"',
        '{"id": "1", "type": "subscribe", "payload": 1}',
        '{"id": "1", "type": "subscribe", "payload": {"query": "  "}}',
        '{"type": "complete", "id": []}',
    ],
)
async def test_a_frame_that_is_no_message_closes_with_4400(api: Api, frame: str) -> None:
    # Found by tests/fuzz: these raised TypeError in Strawberry's handler (close 1006).
    url = api.url.replace("http://", "ws://") + "/graphql"
    async with api.session.ws_connect(url, protocols=["graphql-transport-ws"]) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {KEYS['acme']}"}}
        )
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        await ws.send_str(frame)
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE, message
        assert ws.close_code == 4400


async def test_an_empty_operation_name_means_none(api: Api) -> None:
    # Found by tests/fuzz: Strawberry looked for an operation named "" (masked error).
    url = api.url.replace("http://", "ws://") + "/graphql"
    async with api.session.ws_connect(url, protocols=["graphql-transport-ws"]) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {KEYS['acme']}"}}
        )
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        query = "query Named { connections { provider } }"
        payload = {"query": query, "operationName": ""}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        message = await ws.receive_json(timeout=5)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message


async def test_an_unknown_operation_name_is_an_error_message(api: Api) -> None:
    # Found by tests/fuzz: Strawberry raised on it, masked as "Unexpected error."
    url = api.url.replace("http://", "ws://") + "/graphql"
    async with api.session.ws_connect(url, protocols=["graphql-transport-ws"]) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {KEYS['acme']}"}}
        )
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        payload = {"query": "query Named { connections { provider } }", "operationName": "0"}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        message = await ws.receive_json(timeout=5)
        assert message == {
            "id": "1",
            "type": "error",
            "payload": [
                {
                    "message": "the document has no operation named '0'",
                    "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
                }
            ],
        }
