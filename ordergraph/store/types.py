"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

__all__ = ["JSONDocument", "OrderKeyText", "UTCDateTime", "as_utc", "utcnow"]

# SQLite has no datetime type: values are stored as text and compared as text, so the
# text must sort like the instant it names. A fixed width, zero-padded UTC form with
# microseconds ("0001-01-01T00:00:00.000000Z", 27 characters) does exactly that.
_SQLITE_WIDTH = 27


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    zone = value.tzinfo
    if zone is UTC:
        # What asyncpg and fromisoformat("...Z") hand back: every datetime a page reads
        # (three a row) would otherwise be copied to an equal one.
        return value
    if zone is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _to_sqlite_text(value: datetime) -> str:
    v = as_utc(value)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T"
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}Z"
    )


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both backends.

    PostgreSQL stores ``timestamptz``; SQLite stores fixed-width UTC text, so ``ORDER BY``
    and keyset comparisons are correct there too. Reads always return aware UTC values.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(_SQLITE_WIDTH))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _to_sqlite_text(value)
        return as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return as_utc(value)
        if isinstance(value, str):
            return as_utc(datetime.fromisoformat(value))
        raise TypeError(f"unexpected datetime column value {type(value).__name__}")


# JSONB on PostgreSQL (binary, indexable later); JSON text on SQLite.
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Order keys take part in keyset comparisons; the "C" collation makes PostgreSQL order
# them bytewise, as SQLite's BINARY collation does, whatever the database's locale.
OrderKeyText = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
