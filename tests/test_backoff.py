"""The shared backoff curve: growth, cap, each jitter's range, the Retry-After floor."""

from __future__ import annotations

import random

import pytest

from ordergraph.backoff import RECONNECT, Backoff, Jitter


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 10.0), (10_000, 10.0)],
)
def test_the_curve_doubles_from_base_and_stops_at_the_cap(attempt: int, expected: float) -> None:
    assert Backoff(base=0.5, cap=10.0, jitter=Jitter.NONE).delay(attempt) == expected


@pytest.mark.parametrize("attempt", [0, -3])
def test_an_attempt_below_one_counts_as_the_first(attempt: int) -> None:
    assert Backoff(base=0.5, cap=10.0, jitter=Jitter.NONE).delay(attempt) == 0.5


def test_full_jitter_spreads_over_zero_to_the_ceiling() -> None:
    backoff = Backoff(base=1.0, cap=100.0, jitter=Jitter.FULL)
    rng = random.Random(1)
    samples = [backoff.delay(3, rng=rng) for _ in range(500)]
    assert all(0.0 <= s <= 4.0 for s in samples)
    assert min(samples) < 0.5
    assert max(samples) > 3.5


def test_equal_jitter_stays_between_half_the_ceiling_and_the_ceiling() -> None:
    backoff = Backoff(base=1.0, cap=100.0, jitter=Jitter.EQUAL)
    rng = random.Random(2)
    samples = [backoff.delay(3, rng=rng) for _ in range(500)]
    assert all(2.0 <= s <= 4.0 for s in samples)
    assert min(samples) < 2.2
    assert max(samples) > 3.8


def test_the_same_seed_gives_the_same_delays() -> None:
    backoff = Backoff(base=1.0, cap=100.0)
    first = [backoff.delay(n, rng=random.Random(5)) for n in range(1, 6)]
    again = [backoff.delay(n, rng=random.Random(5)) for n in range(1, 6)]
    assert first == again


@pytest.mark.parametrize("jitter", list(Jitter))
def test_retry_after_is_a_floor_never_a_ceiling(jitter: Jitter) -> None:
    backoff = Backoff(base=1.0, cap=100.0, jitter=jitter)
    assert backoff.delay(1, retry_after=30.0) == 30.0
    # a Retry-After shorter than the curve does not shorten it
    assert backoff.delay(7, retry_after=0.0, rng=random.Random(3)) >= (
        0.0 if jitter is Jitter.FULL else 32.0
    )


def test_retries_count_failures_in_a_row_and_start_over_on_reset() -> None:
    retries = Backoff(base=0.1, cap=5.0, jitter=Jitter.NONE).retries()
    assert [retries.next_delay() for _ in range(4)] == [0.1, 0.2, 0.4, 0.8]
    assert retries.failures == 4
    retries.reset()
    assert retries.next_delay() == 0.1
    assert retries.next_delay(retry_after=3.0) == 3.0


def test_reconnect_loops_never_wait_longer_than_the_plain_curve_did() -> None:
    # The loops waited 0.1 s doubling to 5 s, unjittered: now between half that and that.
    rng = random.Random(4)
    for failure in range(1, 12):
        plain = min(5.0, 0.1 * 2 ** (failure - 1))
        assert plain / 2 <= RECONNECT.delay(failure, rng=rng) <= plain
