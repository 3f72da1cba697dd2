"""``as_utc``: every datetime the store hands out is aware and in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from ordergraph.store.types import as_utc


def test_a_utc_value_is_returned_as_it_is() -> None:
    value = datetime(2026, 12, 4, 7, 30, 1, 123456, tzinfo=UTC)
    assert as_utc(value) is value
    # what asyncpg and fromisoformat hand back carry this very zone object
    assert datetime.fromisoformat("2026-12-04T07:30:01.123456Z").tzinfo is UTC


def test_another_zone_becomes_the_same_instant_in_utc() -> None:
    value = datetime(2026, 12, 4, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    converted = as_utc(value)
    assert converted == value
    assert converted.tzinfo is UTC
    assert converted.hour == 7


def test_a_naive_value_is_taken_to_be_utc() -> None:
    converted = as_utc(datetime(2026, 12, 4, 7, 30))
    assert converted == datetime(2026, 12, 4, 7, 30, tzinfo=UTC)
    assert converted.tzinfo is UTC
