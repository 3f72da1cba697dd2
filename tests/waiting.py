"""Waiting for a condition instead of sleeping for a guess.

A fixed sleep is either too short on a loaded machine (a flaky test) or too long
everywhere (a slow one). Where an event announces what a test waits for, it awaits that
(``tests/gate.py``, ``tests/manual_clock.py``); where nothing does (another process's
state, a row in the store), it polls with ``eventually``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["eventually"]


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 15.0, *, what: str = "condition"
) -> float:
    """Wait until ``check`` holds, polling; the seconds it took. For what no event
    announces (another process's state, a store row): never a fixed sleep."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        if loop.time() - started > within:
            raise AssertionError(f"{what}: not reached within {within} s")
        await asyncio.sleep(0.05)
    return loop.time() - started
