"""A clock that moves only when a test says so: retries, leases and timeouts of the code
under test come due at once, and nothing waits in real time for them.

It satisfies ``ordergraph.sync.deliverer.Clock``. ``advance`` moves time and wakes every
sleeper whose time has come; ``sleepers`` waits (on an event, not a sleep) until the
code under test has started waiting on the clock, so a test advances only once there
is something to wake.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock"]


@dataclass(eq=False)
class _Sleeper:
    seconds: float
    until: datetime
    woken: asyncio.Future[None]


@dataclass(eq=False)
class ManualClock:
    """Starts at the real time (so stored timestamps look ordinary) and stands still."""

    current: datetime = field(default_factory=lambda: datetime.now(UTC))
    _sleepers: list[_Sleeper] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        sleeper = _Sleeper(
            seconds,
            self.current + timedelta(seconds=seconds),
            asyncio.get_running_loop().create_future(),
        )
        self._sleepers.append(sleeper)
        self._changed.set()
        try:
            await sleeper.woken
        finally:
            self._sleepers.remove(sleeper)
            self._changed.set()

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds`` and wake whoever is due by then."""
        self.current += timedelta(seconds=seconds)
        for sleeper in self._sleepers:
            if sleeper.until <= self.current and not sleeper.woken.done():
                sleeper.woken.set_result(None)

    async def sleepers(
        self, count: int = 1, *, seconds: float | None = None, within: float = 10.0
    ) -> None:
        """Return once at least ``count`` callers are asleep on this clock (with
        ``seconds``: asleep for that long, to tell an inline timeout from a poll)."""
        async with asyncio.timeout(within):
            while self._pending(seconds) < count:
                self._changed.clear()
                await self._changed.wait()

    def _pending(self, seconds: float | None) -> int:
        return sum(
            1
            for s in self._sleepers
            if not s.woken.done() and (seconds is None or s.seconds == seconds)
        )
