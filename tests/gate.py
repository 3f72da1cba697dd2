"""Hold the sandbox's answers to chosen requests until the test lets them go.

A provider "slower than the timeout" used to be played with injected latency, which
costs that latency in real time and races the timeout on a loaded machine. A closed
gate makes the request wait exactly as long as the test wants: ``arrived`` says the
request is at the provider (an event, no polling), ``open`` lets it through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["Gate"]


@dataclass(eq=False)
class Gate:
    """A sandbox middleware: requests whose method and path match wait while closed."""

    method: str | None = None
    path_suffix: str = ""
    _open: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0

    def __post_init__(self) -> None:
        self._open.set()

    def close(self, method: str, path_suffix: str) -> None:
        """Hold every ``method`` request whose path ends with ``path_suffix``."""
        self.method, self.path_suffix = method, path_suffix
        self._arrived.clear()
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def arrived(self, within: float = 10.0) -> None:
        """Return once a matching request is being held."""
        async with asyncio.timeout(within):
            await self._arrived.wait()

    def _matches(self, request: web.Request) -> bool:
        return request.method == self.method and request.path.endswith(self.path_suffix)

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if not self._open.is_set() and self._matches(request):
            self.held += 1
            self._arrived.set()
            await self._open.wait()
        return await handler(request)
