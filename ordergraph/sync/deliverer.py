"""Durable result delivery: a submitted result is recorded first, then delivered.

``submit`` stores the result on the order and queues its delivery in one transaction
(``ResultLedger.record``), then makes the first attempt inline, waiting at most
``delivery.inline_timeout``: a healthy provider answers DELIVERED synchronously, a slow
one leaves the attempt running here while the caller gets IN_FLIGHT. The background
loop (``run``, started with the app) claims due deliveries under a lease and retries
failures with exponential backoff and jitter, honouring Retry-After; after
``max_attempts`` or ``max_age`` a delivery is FAILED, visibly, with its last error.

Why redelivery is safe: every provider's result write sets state rather than adding
to it (Kombo ``PUT .../result``, StackOne and Unified ``PATCH``), so a write repeated
after a crash mid-request, or by a second process after a lease ran out, leaves the
provider as one write would. Order between results of one order is kept by the queue
(ordergraph/store/deliveries.py): a newer result supersedes an older undelivered one,
and never goes out while an older one is still in flight.

What a refusal means: ``ProviderInputError`` (the provider refused the content),
``ProviderNotFoundError`` (no such order there) and ``UnsupportedOperationError`` will
not succeed on retry, so the delivery fails at once. Everything else (down, slow,
429, unreadable answer, refused credentials that an operator may fix, an unexpected
exception) is retried. A delivery that fails for good puts the result the provider
last accepted back on the order (``ResultLedger.failed``): ``Order.result`` never
keeps a result the provider does not hold once ours is given up.

``lastError`` is the provider error's ``str()``, which names provider, connection,
method, path and status but never a header or a key (ordergraph/errors.py); an
unexpected exception is logged and recorded only as a fixed sentence.

Several processes share one PostgreSQL store: each runs its own loop; SKIP LOCKED
claims keep them from taking the same delivery, and a process that dies mid-delivery
hands its claims on when their lease ends. A clean stop releases its claims at once.

Time comes from a ``Clock`` (the system's unless one is injected): what is due, when an
attempt failed, how long ``submit`` waits inline and how long the loop idles. A test
passes a clock it steps by hand, so backoff, leases and timeouts take no real time.
The HTTP bound on an attempt (``asyncio.timeout``) stays real: it limits real I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from ordergraph.backoff import Backoff, Jitter
from ordergraph.broker import Broker
from ordergraph.errors import (
    ProviderError,
    ProviderInputError,
    ProviderNotFoundError,
    UnsupportedOperationError,
)
from ordergraph.models import AssessmentResult, Order, OrderStatus, ResultSubmission
from ordergraph.providers.http import without_retries
from ordergraph.settings import DeliverySettings
from ordergraph.store import Delivery, DeliveryState, IngestResult, Store, StoreError
from ordergraph.store.types import as_utc, utcnow
from ordergraph.sync.connections import ConnectionRegistry, LiveConnection

__all__ = [
    "AttemptOutcome",
    "Clock",
    "ResultDeliverer",
    "Submitted",
    "SystemClock",
    "order_with_result",
    "retry_delay",
]

logger = logging.getLogger(__name__)

# Refusals that no retry will turn into a success.
_FATAL = (ProviderInputError, ProviderNotFoundError, UnsupportedOperationError)
_UNEXPECTED = "unexpected error while delivering (details in the server log)"
# An attempt must end (and be recorded) before its lease does.
_LEASE_SHARE = 0.8


class Clock(Protocol):
    """The deliverer's time: what "now" is, and waiting for a while."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    """Wall-clock time and real waiting: what a running gateway uses."""

    def now(self) -> datetime:
        return utcnow()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _result_of(submission: ResultSubmission) -> AssessmentResult:
    return AssessmentResult(
        status=submission.status,
        score=submission.score,
        max_score=submission.max_score,
        url=submission.url,
        started_at=submission.started_at,
        completed_at=submission.completed_at,
        summary=submission.summary,
        attributes=submission.attributes,
        attachments=submission.attachments,
    )


def order_with_result(
    order: Order,
    submission: ResultSubmission,
    status: OrderStatus | None = None,
    provider_status: str | None = None,
) -> Order:
    """``order`` carrying ``submission`` as its result; with ``status``, also the status
    the provider recorded on taking it (a later read agrees, so no spurious event).

    Without ``status`` (the result recorded, not yet delivered) the status stays what
    the provider last reported: ``status`` is the provider's truth, ``result`` ours.
    """
    update: dict[str, Any] = {"result": _result_of(submission)}
    if status is not None:
        update |= {"status": status, "provider_status": provider_status}
    return order.model_copy(update=update)


def retry_delay(
    attempts: int,
    settings: DeliverySettings,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds before attempt ``attempts + 1``: exponential, capped, with "equal jitter"
    (half fixed, half random) so many failing deliveries do not retry in step, and
    never sooner than the provider's Retry-After (ordergraph.backoff)."""
    backoff = Backoff(settings.backoff_base, settings.backoff_cap, Jitter.EQUAL)
    return backoff.delay(attempts, retry_after=retry_after, rng=rng)


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """How one attempt ended: the state it left, and the error it met, if any."""

    state: DeliveryState
    error: BaseException | None = None

    @property
    def refusal(self) -> ProviderError | None:
        """The provider's error when the delivery failed for good on it (a refusal, or
        the last of the attempts allowed): the caller is told, not only the field."""
        if self.state is DeliveryState.FAILED and isinstance(self.error, ProviderError):
            return self.error
        return None


@dataclass(frozen=True, slots=True)
class Submitted:
    """What ``submit`` did: the delivery as it stands, and the first attempt's outcome
    when it ended within the inline timeout."""

    delivery: Delivery
    outcome: AttemptOutcome | None


def _payload(remote_id: str, submission: ResultSubmission) -> dict[str, Any]:
    return {"remote_id": remote_id, "result": submission.model_dump(mode="json")}


class ResultDeliverer:
    """Records results and delivers them, inline and in the background, for one process."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        connections: ConnectionRegistry,
        settings: DeliverySettings,
        *,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.connections = connections
        self.settings = settings
        self._rng = rng or random.Random()
        self.clock: Clock = clock or SystemClock()
        self._wake = asyncio.Event()
        # Attempts running in this process, with the claim each holds.
        self._running: dict[asyncio.Task[AttemptOutcome], Delivery] = {}
        self._closed = False

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease)

    def wake(self) -> None:
        """Look at the queue now (something was queued or finished in this process)."""
        self._wake.set()

    # --- recording ------------------------------------------------------------------

    async def submit(
        self, connection: LiveConnection, order_key: str, submission: ResultSubmission
    ) -> Submitted | None:
        """Record ``submission`` for the order and attempt its delivery (bounded by
        the inline timeout); None when the connection's tenant has no such order."""
        remote_id = order_key.removeprefix(f"{connection.id}:")
        recorded = await self.store.results.record(
            connection.tenant,
            connection.id,
            order_key,
            _payload(remote_id, submission),
            update=lambda order: order_with_result(order, submission),
            lease=self.lease,
            now=self.clock.now(),
        )
        if recorded is None:
            return None
        await self._publish(connection.tenant, recorded.ingest)
        if not recorded.claimed:
            # A repeat of what is queued, or an older result still in flight: the loop
            # takes it when its turn comes.
            self.wake()
            return Submitted(recorded.delivery, None)
        task = self._spawn(recorded.delivery, inline=True)
        done = await self._within(task, self.settings.inline_timeout)
        outcome = task.result() if done and not task.cancelled() else None
        current = await self.store.deliveries.get(recorded.delivery.id)
        return Submitted(current or recorded.delivery, outcome)

    async def _within(self, task: asyncio.Task[AttemptOutcome], seconds: float) -> bool:
        """Wait for ``task`` at most ``seconds`` on the clock (it keeps running after);
        True when it ended in time."""
        timer = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        return task.done()

    def _now(self, now: datetime | None) -> datetime:
        return as_utc(now) if now is not None else self.clock.now()

    async def _publish(self, tenant: str, ingest: IngestResult | None) -> None:
        if ingest is not None and ingest.changed:
            # After the commit: a subscriber woken now finds the events in the log, and
            # every process's response cache learns the new data version.
            await self.broker.publish(
                tenant,
                ingest.events[-1].id if ingest.events else 0,
                data_version=ingest.data_version,
            )

    # --- attempts -------------------------------------------------------------------

    def _spawn(
        self, delivery: Delivery, now: datetime | None = None, *, inline: bool = False
    ) -> asyncio.Task[AttemptOutcome]:
        task = asyncio.create_task(self._attempt(delivery, now, inline=inline))
        self._running[task] = delivery
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[AttemptOutcome]) -> None:
        self._running.pop(task, None)
        # A slot is free, and a newer result of the same order may be waiting.
        self._wake.set()

    async def _attempt(
        self, delivery: Delivery, now: datetime | None, *, inline: bool = False
    ) -> AttemptOutcome:
        """One try of a claimed delivery, recorded as delivered, due again or failed.

        The inline attempt (a client is waiting) sends once, without the HTTP layer's
        retries: a provider that is down answers the client PENDING after one request,
        and the retries are the deliverer's, durable and visible in ``attempts``.
        """
        connection = self.connections.get(delivery.connection_id)
        if connection is None or connection.tenant != delivery.tenant:
            # Perhaps configured in another process (a rolling change): retry, don't drop.
            return await self._failed(
                delivery, "the order's connection is not configured in this process", None, now
            )
        try:
            submission = ResultSubmission.model_validate(delivery.payload["result"])
            remote_id = str(delivery.payload["remote_id"])
            sending = without_retries() if inline else contextlib.nullcontext()
            async with asyncio.timeout(self.settings.lease * _LEASE_SHARE):
                with sending:
                    status, provider_status = await connection.provider.submit_result(
                        remote_id, submission
                    )
        except _FATAL as exc:
            return await self._failed(delivery, str(exc), exc, now, fatal=True)
        except ProviderError as exc:
            return await self._failed(delivery, str(exc), exc, now)
        except ValueError as exc:
            # The adapter cannot express it (checked before recording, so rare).
            return await self._failed(delivery, f"cannot be sent: {exc}", exc, now, fatal=True)
        except TimeoutError as exc:
            return await self._failed(delivery, "the provider did not answer in time", exc, now)
        except Exception as exc:
            logger.exception(
                "delivering result %s of order %s failed", delivery.id, delivery.order_id
            )
            return await self._failed(delivery, _UNEXPECTED, exc, now)
        ingest = await self.store.results.delivered(
            delivery,
            update=lambda order: order_with_result(order, submission, status, provider_status),
            now=self._now(now),
        )
        await self._publish(delivery.tenant, ingest)
        logger.info(
            "delivered result %s of order %s (attempt %d)",
            delivery.id,
            delivery.order_id,
            delivery.attempts,
        )
        return AttemptOutcome(DeliveryState.DELIVERED)

    async def _failed(
        self,
        delivery: Delivery,
        error: str,
        exc: BaseException | None,
        now: datetime | None,
        *,
        fatal: bool = False,
    ) -> AttemptOutcome:
        at = self._now(now)
        too_old = at - delivery.created_at >= timedelta(seconds=self.settings.max_age)
        give_up = fatal or too_old or delivery.attempts >= self.settings.max_attempts
        retry_at: datetime | None = None
        if not give_up:
            retry_after = exc.retry_after if isinstance(exc, ProviderError) else None
            delay = retry_delay(
                delivery.attempts, self.settings, retry_after=retry_after, rng=self._rng
            )
            retry_at = at + timedelta(seconds=delay)
        if give_up:
            # Failed for good: the order shows the provider's last accepted result again
            # (ordergraph/store/results.py), in the transaction that records the failure.
            restored = await self.store.results.failed(delivery, error, now=at)
            await self._publish(delivery.tenant, restored)
        else:
            await self.store.deliveries.fail(
                delivery.id, error, retry_at=retry_at, attempt=delivery.attempts, now=at
            )
        if give_up:
            logger.warning(
                "gave up delivering result %s of order %s after %d attempts: %s",
                delivery.id,
                delivery.order_id,
                delivery.attempts,
                error,
            )
            return AttemptOutcome(DeliveryState.FAILED, exc)
        logger.info(
            "result %s of order %s not delivered (attempt %d), retrying at %s: %s",
            delivery.id,
            delivery.order_id,
            delivery.attempts,
            retry_at,
            error,
        )
        return AttemptOutcome(DeliveryState.PENDING, exc)

    # --- the background loop ----------------------------------------------------------

    async def deliver_due(self, *, now: datetime | None = None) -> list[AttemptOutcome]:
        """Claim what is due (as of ``now``) up to the free slots, attempt it and wait
        for those attempts (the loop's step; tests call it to step time by hand)."""
        tasks = self._claim_and_spawn(await self._claim(now), now)
        # Plain gather: the attempts are this deliverer's tasks (``_running``, already
        # bounded by ``concurrency``); ``close`` cancels them and hands their claims
        # back, which a sibling's failure cancelling them would skip.
        return list(await asyncio.gather(*tasks)) if tasks else []

    async def _claim(self, now: datetime | None) -> list[Delivery]:
        free = self.settings.concurrency - len(self._running)
        if free <= 0 or self._closed:
            return []
        return await self.store.deliveries.claim(limit=free, lease=self.lease, now=self._now(now))

    def _claim_and_spawn(
        self, claimed: list[Delivery], now: datetime | None
    ) -> list[asyncio.Task[AttemptOutcome]]:
        return [self._spawn(delivery, now) for delivery in claimed]

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver due results until ``stop`` is set: woken by this process's enqueues
        and finished attempts, else every ``poll_interval``."""
        while not stop.is_set():
            self._wake.clear()
            try:
                claimed = await self._claim(None)
            except (StoreError, SQLAlchemyError, OSError) as exc:
                # The store may be away for a moment (a restart): one line, no traceback;
                # the next round tries again.
                logger.warning("claiming due result deliveries failed: %s", type(exc).__name__)
                claimed = []
            except Exception:
                logger.warning("claiming due result deliveries failed", exc_info=True)
                claimed = []
            self._claim_and_spawn(claimed, None)
            if claimed and len(self._running) < self.settings.concurrency:
                continue  # there may be more due right now
            waits = [
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(self.clock.sleep(self.settings.poll_interval)),
            ]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def close(self) -> None:
        """Stop the attempts running here and hand their claims back (due at once), so
        another process or the next start delivers them without waiting for a lease."""
        self._closed = True
        running = dict(self._running)
        for task in running:
            task.cancel()
        for task, delivery in running.items():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            if task.cancelled():
                with contextlib.suppress(Exception):
                    await self.store.deliveries.release(
                        delivery.id, attempt=delivery.attempts, now=self.clock.now()
                    )
