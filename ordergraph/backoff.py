"""The one backoff curve every retry in ordergraph waits on.

The delay after the ``n``-th failure in a row (1-based) is ``base * 2 ** (n - 1)``,
capped at ``cap``, then jittered, and never shorter than a provider's ``Retry-After``
when one was given. Who uses it, and with which jitter:

- ``Jitter.FULL`` (anywhere in ``[0, ceiling]``): the provider HTTP client's retries
  inside one request (``RetryPolicy.backoff``), where many callers fail together.
- ``Jitter.EQUAL`` (half fixed, half random: ``[ceiling / 2, ceiling]``): the result
  deliverer's durable retries (``retry_delay``, from the attempt count the queue
  keeps) and the reconnect loops (Redis listener, subscription hubs and catch-up
  reads, webhook registration). Never longer than the plain curve, so a dependency
  that is back is found as soon as before, but the processes and subscriptions that
  lost it together do not come back in step.
- ``Jitter.NONE``: the Kombo poller, whose wait after a failure is its interval
  doubled (it already runs once per connection, elected, not in a herd).

The HTTP client takes a ``Retry-After`` as the wait itself, not as a floor (a caller
is waiting, and the provider named the moment); see ``ordergraph.providers.http``.

Why not tenacity or stamina: the deliverer computes one delay from an attempt count
stored in the database (there is no loop to wrap), the HTTP client's loop has stopping
rules of its own (total wait, a Retry-After cap, non-idempotent requests), and the
loops wait on a stop event rather than sleep. What they share is the curve: this module.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

__all__ = ["RECONNECT", "Backoff", "Jitter", "Retries"]

# 2**60 times any sane base is far above any cap; the exponent is bounded so that a
# large attempt number cannot overflow a float.
_MAX_EXPONENT = 60


class Jitter(enum.Enum):
    """How much of the delay is random (see the module docstring for who uses which)."""

    NONE = "none"
    FULL = "full"
    EQUAL = "equal"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``base * 2 ** (attempt - 1)`` seconds, capped, jittered."""

    base: float
    cap: float
    jitter: Jitter = Jitter.EQUAL

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay after failure ``attempt`` (1-based; below 1 counts as 1)."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return min(self.cap, self.base * float(2**exponent))

    def delay(
        self,
        attempt: int,
        *,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait after failure ``attempt``, never less than ``retry_after``."""
        ceiling = self.ceiling(attempt)
        draw = (rng or random).uniform
        if self.jitter is Jitter.FULL:
            delay = draw(0, ceiling)
        elif self.jitter is Jitter.EQUAL:
            delay = ceiling / 2 + draw(0, ceiling / 2)
        else:
            delay = ceiling
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def retries(self, rng: random.Random | None = None) -> Retries:
        """A failure counter for a loop that retries on this curve."""
        return Retries(self, rng)


class Retries:
    """Failures in a row of one loop: each ``next_delay`` counts one more and says how
    long to wait; ``reset`` after a success starts the curve again."""

    def __init__(self, backoff: Backoff, rng: random.Random | None = None) -> None:
        self.backoff = backoff
        self.failures = 0
        self._rng = rng

    def next_delay(self, *, retry_after: float | None = None) -> float:
        self.failures += 1
        return self.backoff.delay(self.failures, retry_after=retry_after, rng=self._rng)

    def reset(self) -> None:
        self.failures = 0


RECONNECT = Backoff(base=0.1, cap=5.0, jitter=Jitter.EQUAL)
"""Waiting for the store or Redis to come back: from 0.1 s, at most 5 s."""
