"""The PostgreSQL pool's liveness check at checkout, without a round trip for a
connection that was in use a moment ago.

A PostgreSQL restart kills every pooled connection without a word; without a check at
checkout the next request on each would fail (tests/faults). SQLAlchemy's ``pool_pre_ping``
sends one: its own is three round trips (BEGIN, ``;``, ROLLBACK, for PgBouncer's
transaction mode); ``SELECT 1`` in the simple query protocol prepares nothing, so it is
as safe there in one (~100 µs of this process's CPU against ~300).

Under load a connection goes back to the pool and out again within milliseconds, and
that round trip was a third of PostgreSQL's work per request and two of its six context
switches (two workers on two cores: 811-859 req/s with it, 886-912 without; bench/README.md).
So, as HikariCP does by default (``aliveBypassWindowMs``, 500 ms), a connection
returned less than ``recent`` seconds ago is not pinged; it is only asked whether its
driver has seen it close. A server that stops or restarts, or a backend that is
terminated, closes its sockets: asyncpg sees that as soon as the event loop reads it,
and the pool replaces the connection (and invalidates the rest, as after a failed ping).
What only a round trip could tell (a peer gone without closing, a firewall that dropped
an idle connection) comes after idle time, and idle connections are pinged as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy.util import await_

__all__ = ["RECENT_USE", "CheckoutPing"]

RECENT_USE: Final = 0.5
"""Seconds since a connection went back to the pool within which it is not pinged."""


class CheckoutPing:
    """``dialect.do_ping`` for asyncpg connections, and the pool ``checkin`` listener
    that tells it when each connection went back."""

    def __init__(self, recent: float = RECENT_USE, clock: Callable[[], float] = time.monotonic):
        self.recent = recent
        self._clock = clock
        # By the driver's connection: the DB-API adapter takes no weak reference.
        self._returned: WeakKeyDictionary[Any, float] = WeakKeyDictionary()
        self.round_trips = 0  # pings sent (tests, benches)

    def returned(self, dbapi_connection: Any, _record: Any) -> None:
        """Pool ``checkin``: ``dbapi_connection`` is None when it was invalidated."""
        if dbapi_connection is not None:
            self._returned[dbapi_connection.driver_connection] = self._clock()

    def __call__(self, dbapi_connection: Any) -> bool:
        """False when the connection is known dead (the pool replaces it); raises the
        DB-API error of a failed ping, as SQLAlchemy's own does."""
        driver = dbapi_connection.driver_connection
        if driver.is_closed():
            return False
        returned = self._returned.get(driver)
        if returned is not None and self._clock() - returned < self.recent:
            return True
        self.round_trips += 1
        try:
            await_(driver.execute("SELECT 1"))
        except Exception as error:
            dbapi_connection._handle_exception(error)  # raises the DB-API error
        return True
