"""graphql-transport-ws spoken by hand, so the tests see every frame and close code.

``TransportWS`` rides on aiohttp's client. ``RawSubscriber`` is a bare socket with
tiny receive buffers that can simply stop reading, the only honest way to be a slow
consumer (aiohttp's client reads ahead into its own buffers).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiohttp

__all__ = ["PROTOCOL", "RawSubscriber", "TransportWS", "connect"]

PROTOCOL = "graphql-transport-ws"


class TransportWS:
    """One graphql-transport-ws connection; messages sorted by operation id."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inbox: dict[str, list[dict[str, Any]]] = defaultdict(list)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def init(self, payload: dict[str, Any] | None) -> dict[str, Any]:
        """Send ``connection_init``; the ack, or ``{"close": code}`` when refused."""
        await self.send({"type": "connection_init", "payload": payload or {}})
        return await self._receive(within=5)

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.send(
            {
                "id": op_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )

    async def complete(self, op_id: str) -> None:
        await self.send({"id": op_id, "type": "complete"})

    async def message(self, op_id: str, within: float = 5.0) -> dict[str, Any]:
        """The next message for ``op_id`` (``next``, ``error`` or ``complete``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not self.inbox[op_id]:
            received = await self._receive(within=max(0.01, deadline - loop.time()))
            if "close" in received:
                return received
            self.inbox[str(received.get("id"))].append(received)
        return self.inbox[op_id].pop(0)

    async def events(self, op_id: str, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        """``count`` events of ``op_id``: the subscription field's value of each."""
        found: list[dict[str, Any]] = []
        while len(found) < count:
            message = await self.message(op_id, within)
            assert message.get("type") == "next", message
            assert "errors" not in message["payload"], message
            data = message["payload"]["data"]
            found.append(next(iter(data.values())))
        return found

    async def silent(self, op_id: str, seconds: float) -> bool:
        """True when nothing arrives for ``op_id`` within ``seconds``."""
        try:
            message = await self.message(op_id, within=seconds)
        except TimeoutError:
            return True
        self.inbox[op_id].insert(0, message)
        return False

    async def _receive(self, within: float) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.ws.receive(), within)
        if msg.type == aiohttp.WSMsgType.TEXT:
            parsed: dict[str, Any] = json.loads(msg.data)
            return parsed
        if msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
        ):
            return {"close": self.ws.close_code, "reason": msg.extra}
        raise AssertionError(f"unexpected frame {msg.type}")


@asynccontextmanager
async def connect(
    session: aiohttp.ClientSession,
    url: str,
    *,
    protocols: tuple[str, ...] = (PROTOCOL,),
    headers: dict[str, str] | None = None,
) -> AsyncIterator[TransportWS]:
    ws_url = url.replace("http://", "ws://", 1) + "/graphql"
    async with session.ws_connect(
        ws_url, protocols=protocols, headers=headers or {}, autoping=True
    ) as ws:
        yield TransportWS(ws)


class RawSubscriber:
    """A WebSocket client on a bare socket with ~4 KiB of receive buffer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> RawSubscriber:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (host, port))
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(data))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def frame(self) -> tuple[int, bytes]:
        """The next frame's opcode and payload (server frames are not masked)."""
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(length)

    async def message(self) -> dict[str, Any]:
        """The next text message, or ``{"close": code, "reason": text}``."""
        while True:
            opcode, payload = await self.frame()
            if opcode == 0x1:
                parsed: dict[str, Any] = json.loads(payload)
                return parsed
            if opcode == 0x8:
                (code,) = struct.unpack("!H", payload[:2])
                return {"close": code, "reason": payload[2:].decode()}
            # ping (0x9) and others: a slow consumer does not answer

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
