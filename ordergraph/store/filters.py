"""``OrderFilter`` as SQL conditions on the ``orders`` table."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from ordergraph.store.records import OrderFilter
from ordergraph.store.rows import fold_search
from ordergraph.store.tables import orders

__all__ = ["escape_like", "filter_conditions"]

_LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards and the escape character taken literally."""
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )


def filter_conditions(tenant: str, where: OrderFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions (ANDed) that select ``tenant``'s orders matching ``where``."""
    c = orders.c
    conditions: list[ColumnElement[bool]] = [c.tenant == tenant]
    if where.order_ids is not None:
        conditions.append(c.id.in_(list(where.order_ids)))
    if where.statuses is not None:
        conditions.append(c.status.in_([str(s) for s in where.statuses]))
    if where.providers is not None:
        conditions.append(c.provider.in_([str(p) for p in where.providers]))
    if where.connection_ids is not None:
        conditions.append(c.connection_id.in_(list(where.connection_ids)))
    if where.created_after is not None:
        conditions.append(c.created_at >= where.created_after)
    if where.created_before is not None:
        conditions.append(c.created_at < where.created_before)
    if where.updated_since is not None:
        conditions.append(c.changed_at >= where.updated_since)
    if where.candidate_email is not None:
        conditions.append(c.candidate_email == fold_search(where.candidate_email.strip()))
    if where.job_remote_id is not None:
        conditions.append(c.job_remote_id == where.job_remote_id)
    if where.package_id is not None:
        conditions.append(c.package_id == where.package_id)
    if where.search is not None and where.search.strip():
        # Both sides are folded in Python, so LIKE's own case rules never matter.
        pattern = f"%{escape_like(fold_search(where.search.strip()))}%"
        conditions.append(c.search_text.like(pattern, escape=_LIKE_ESCAPE))
    return conditions
