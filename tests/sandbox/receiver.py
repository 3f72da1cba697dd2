"""A real HTTP receiver on 127.0.0.1 standing in for ordergraph: it keeps every webhook
POST and every browser GET (redirect targets) the sandbox sends it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        query: dict[str, list[str]] = {}
        for name, value in request.query.items():
            query.setdefault(name, []).append(value)
        self.requests.append(
            Received(
                request.method, request.path, query, dict(request.headers), await request.read()
            )
        )
        self.arrived.set()
        return web.Response(text="ok")

    def posts(self) -> list[Received]:
        return [r for r in self.requests if r.method == "POST"]

    def gets(self) -> list[Received]:
        return [r for r in self.requests if r.method == "GET"]


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    receiver.url = str(server.make_url("")).rstrip("/")
    try:
        yield receiver
    finally:
        await server.close()
