"""Each tenant's data version held in memory, so a response-cache hit needs no store read.

The store's ``tenant_state.data_version`` stays the truth (ingestion bumps it in the
transaction that changes the orders); this is a process's copy of it, with the
tenant's response epoch (``ordergraph.api.response_cache``) beside it. It is kept
exact by three feeds, from the fastest to the slowest:

1. **This process's writes**: the store tells it the new version right after the
   commit (``OrderStore.add_version_observer``), and the response cache sets a new
   epoch here when a mutation replaces it. A write is never hidden from the process
   that made it, not even for a moment.
2. **Other processes' writes**: the broker's wake-ups carry the new version
   (``Broker.watch_versions``), the same wake-ups subscriptions use, so another
   process's webhook or poll is seen as soon as Redis delivers the message.
3. **The bound**: a copy read from the store more than ``confirm_within`` seconds ago
   is read again (with the epoch) before it is used. A lost wake-up (Redis restarting,
   a dropped connection, a writer that died between commit and publish) or an epoch
   replaced by another process's mutation therefore delays a change by at most that
   long, and never hides it beyond that.

Wake-ups raise the version but do not extend the bound: only a store read does. So
the bound holds even when wake-ups keep arriving but an epoch broadcast was lost; it
costs one store read and one cache read per tenant per ``confirm_within`` seconds,
shared by every request of that tenant (single flight).

The read is started ahead of the bound: the first request after ``REFRESH_AHEAD`` of it
has passed starts it in the background and is answered from the copy, which is still
within the bound (so a tenant asked without pause costs a read every three quarters of
``confirm_within``, a third more reads than waiting for the bound). Requests wait for
a read only when none finished in time (the first one, after ``forget``, or a store
slower than the rest of the bound): under load, every request in flight used to wait
for the store and the cache once per bound (measured as a step of the hit path's tail,
bench/README.md).

Versions only grow (the store only ever increments them), so every feed merges by
maximum: a slow store read that returns after a newer wake-up cannot move a tenant
back to an older version.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["REFRESH_AHEAD", "DataStamp", "DataVersions"]

REFRESH_AHEAD = 0.75
"""The share of ``confirm_within`` after which a request starts the next read without
waiting for it."""
FINISH_READS_WITHIN = 5.0

EpochReader = Callable[[str], Awaitable[str]]
VersionReader = Callable[[str], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class DataStamp:
    """What a tenant's cached responses are keyed on: its data version and epoch."""

    version: int
    epoch: str


class _Known:
    """One tenant's copy: the stamp and when the store last confirmed it."""

    __slots__ = ("confirmed_at", "stamp")

    def __init__(self, stamp: DataStamp, confirmed_at: float) -> None:
        self.stamp = stamp
        self.confirmed_at = confirmed_at


class DataVersions:
    """The in-memory copy of every tenant's ``DataStamp`` (see the module docstring)."""

    def __init__(
        self,
        *,
        read_version: VersionReader,
        read_epoch: EpochReader,
        confirm_within: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_version = read_version
        self._read_epoch = read_epoch
        self.confirm_within = confirm_within
        self._clock = clock
        self._known: dict[str, _Known] = {}
        # The read under way per tenant, with the ``forget`` count it started under.
        self._reads: dict[str, tuple[asyncio.Future[DataStamp], int]] = {}
        # Bumped by every ``forget``: a store read that was in flight across one may
        # predate what the forget stands for, so its result is not trusted for long.
        self._forgets = 0
        # The newest version each tenant's writes reported, and the epoch this process
        # last set (with a count of such sets), kept even before the tenant's first
        # store read: a read that was in flight when a write committed here must not
        # bring back what the write replaced.
        self._observed: dict[str, int] = {}
        self._local_epochs: dict[str, tuple[int, str]] = {}

    async def stamp(self, tenant: str) -> DataStamp:
        """The tenant's current stamp; reads the store only when the bound ran out.

        Raises what the store or cache raises (the caller bypasses the cache then).
        """
        known = self._known.get(tenant)
        if known is not None:
            age = self._clock() - known.confirmed_at
            if age < self.confirm_within:
                if age >= self.confirm_within * REFRESH_AHEAD and tenant not in self._reads:
                    self._start_read(tenant)  # for the requests after this one
                return known.stamp
        under_way = self._reads.get(tenant)
        # A read begun before a ``forget`` may miss what the forget stands for.
        if under_way is not None and under_way[1] == self._forgets:
            return await asyncio.shield(under_way[0])
        return await asyncio.shield(self._start_read(tenant))

    def _start_read(self, tenant: str) -> asyncio.Future[DataStamp]:
        # What the read is compared with is taken now, before its task first runs:
        # anything that happens from here on may be missing from what it reads.
        pending = asyncio.ensure_future(
            self._confirm(tenant, self._clock(), self._local_epochs.get(tenant), self._forgets)
        )
        self._reads[tenant] = (pending, self._forgets)
        pending.add_done_callback(lambda done: self._read_done(tenant, done))
        return pending

    def _read_done(self, tenant: str, done: asyncio.Future[DataStamp]) -> None:
        under_way = self._reads.get(tenant)
        if under_way is not None and under_way[0] is done:
            del self._reads[tenant]
        if not done.cancelled():
            # A read started ahead may have nobody waiting for it; its failure is the
            # next waiting read's to report (the caller logs it and bypasses the cache).
            done.exception()

    async def finish_reads(self, within: float = FINISH_READS_WITHIN) -> None:
        """Wait (up to ``within`` seconds) for the reads under way: at shutdown, before
        the store closes. Not cancelled: a database read cut off half way leaves its
        pooled connection to be torn down later, which the closing store may never do."""
        pending = [read for read, _ in self._reads.values()]
        if pending:
            await asyncio.wait(pending, timeout=within)

    async def _confirm(
        self,
        tenant: str,
        started: float,
        epoch_set_before: tuple[int, str] | None,
        forgets_before: int,
    ) -> DataStamp:
        version, epoch = await asyncio.gather(self._read_version(tenant), self._read_epoch(tenant))
        # From when the read began: anything committed after that may not be in it.
        confirmed_at = started if self._forgets == forgets_before else float("-inf")
        version = max(version, self._observed.get(tenant, 0))
        epoch_set = self._local_epochs.get(tenant)
        if epoch_set is not None and epoch_set != epoch_set_before:
            epoch = epoch_set[1]  # set here while we read: newer than what we read
        known = self._known.get(tenant)
        if known is None:
            known = self._known[tenant] = _Known(DataStamp(version, epoch), confirmed_at)
            return known.stamp
        known.stamp = DataStamp(max(version, known.stamp.version), epoch)
        known.confirmed_at = confirmed_at
        return known.stamp

    # --- the feeds --------------------------------------------------------------------

    def observe(self, tenant: str, version: int) -> None:
        """A write committed ``version`` for ``tenant`` (here, or elsewhere via a wake-up)."""
        if version > self._observed.get(tenant, 0):
            self._observed[tenant] = version
        known = self._known.get(tenant)
        if known is not None and version > known.stamp.version:
            known.stamp = DataStamp(version, known.stamp.epoch)

    def set_epoch(self, tenant: str, epoch: str) -> None:
        """This process replaced the tenant's response epoch (after a mutation)."""
        count = self._local_epochs.get(tenant, (0, ""))[0]
        self._local_epochs[tenant] = (count + 1, epoch)
        known = self._known.get(tenant)
        if known is not None:
            known.stamp = DataStamp(known.stamp.version, epoch)

    def forget(self, tenant: str | None = None) -> None:
        """Wake-ups for ``tenant`` (None: for every tenant) may have been missed or an
        epoch changed elsewhere: read the store again at the next lookup."""
        self._forgets += 1
        for name, known in self._known.items():
            if tenant is None or name == tenant:
                known.confirmed_at = float("-inf")
