"""Keyset conditions and orderings over (created_at, id) for either listing direction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from ordergraph.store.cursors import OrderKey
from ordergraph.store.records import SortOrder
from ordergraph.store.tables import orders
from ordergraph.store.types import OrderKeyText, UTCDateTime

__all__ = ["after_key", "at_or_after_key", "at_or_before_key", "before_key", "ordering"]


def _columns() -> ColumnElement[tuple[object, ...]]:
    return sa.tuple_(orders.c.created_at, orders.c.id)


def _value(key: OrderKey) -> ColumnElement[tuple[object, ...]]:
    # Typed binds so SQLite gets the same fixed-width text the column holds.
    return sa.tuple_(
        sa.bindparam(None, key.created_at, type_=UTCDateTime()),
        sa.bindparam(None, key.id, type_=OrderKeyText),
    )


def after_key(key: OrderKey, order: SortOrder) -> ColumnElement[bool]:
    """Rows listed strictly after ``key``. A row-value comparison, which both backends
    answer with a range scan of the (tenant, created_at, id) index."""
    return _columns() > _value(key) if order is SortOrder.ASC else _columns() < _value(key)


def before_key(key: OrderKey, order: SortOrder) -> ColumnElement[bool]:
    """Rows listed strictly before ``key``."""
    return _columns() < _value(key) if order is SortOrder.ASC else _columns() > _value(key)


def at_or_after_key(key: OrderKey, order: SortOrder) -> ColumnElement[bool]:
    """Rows listed at ``key`` or after it."""
    return _columns() >= _value(key) if order is SortOrder.ASC else _columns() <= _value(key)


def at_or_before_key(key: OrderKey, order: SortOrder) -> ColumnElement[bool]:
    """Rows listed at ``key`` or before it."""
    return _columns() <= _value(key) if order is SortOrder.ASC else _columns() >= _value(key)


def ordering(order: SortOrder, *, reverse: bool = False) -> list[UnaryExpression[object]]:
    """ORDER BY terms for ``order``, or its reverse (for reading backwards)."""
    ascending = (order is SortOrder.ASC) != reverse
    columns = (orders.c.created_at, orders.c.id)
    return [col.asc() if ascending else col.desc() for col in columns]
