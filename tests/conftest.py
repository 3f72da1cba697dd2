"""Shared fixtures: a real sandbox on loopback, recording every exchange for contract checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from ordergraph.sandbox.app import create_sandbox_app
from ordergraph.sandbox.core import SandboxContext
from tests.contract import Recorder
from tests.gate import Gate

# Database fixtures (SQLite and PostgreSQL, one fresh database per run) for every suite.
pytest_plugins = ["tests.databases"]


@dataclass
class Sandbox:
    """A running sandbox: its base URL, control helpers and the exchange recorder."""

    url: str
    context: SandboxContext
    recorder: Recorder
    session: aiohttp.ClientSession
    # Holds chosen requests until the test opens it (a provider exactly as slow as needed).
    gate: Gate = field(default_factory=Gate)

    def base(self, provider: str) -> str:
        return (
            self.url
            + {"unified": "/unified", "stackone": "/stackone", "kombo": "/kombo/v1"}[provider]
        )

    async def control(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.session.request(
            method, f"{self.url}/_sandbox/{path}", json=payload
        ) as response:
            body = await response.json()
            assert response.status < 300, (response.status, body)
            return body

    async def accounts(self, provider: str) -> list[dict[str, Any]]:
        listed = (await self.control("GET", "accounts"))["accounts"]
        return [a for a in listed if a["provider"] == provider]

    async def faults(self, config: dict[str, Any]) -> None:
        await self.control("POST", "faults", config)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.control("GET", "stats")
        return result


@pytest.fixture
def sandbox_context() -> SandboxContext:
    """Small, fast data by default; tests that need more build their own context."""
    return SandboxContext(seed=7, orders_per_account=30)


@pytest.fixture
async def sandbox(sandbox_context: SandboxContext) -> AsyncIterator[Sandbox]:
    recorder = Recorder()
    gate = Gate()
    app = create_sandbox_app(sandbox_context)
    app.middlewares.append(recorder.middleware)
    app.middlewares.append(gate.middleware)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Sandbox(
            url=str(server.make_url("")).rstrip("/"),
            context=sandbox_context,
            recorder=recorder,
            session=session,
            gate=gate,
        )
    gate.open()  # a request still held would keep the server from closing
    await server.close()
