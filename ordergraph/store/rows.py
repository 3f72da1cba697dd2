"""Conversions between canonical orders and ``orders`` / ``order_events`` rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordergraph.models import AssessmentResult, Candidate, Order, OrderStatus
from ordergraph.store.decoded import DECODED_ORDERS
from ordergraph.store.records import CreatedAtSource, EventSource, StoredEvent, StoredOrder
from ordergraph.store.types import as_utc

# What a NUL character in provider text is stored as (see ``prepare_order``).
_NUL_REPLACEMENT = "\ufffd"

__all__ = [
    "PreparedOrder",
    "event_values",
    "fold_search",
    "order_key",
    "prepare_order",
    "stored_event",
    "stored_order",
    "stored_result",
    "with_kept_result",
    "with_kept_status",
]


def order_key(connection_id: str, remote_id: str) -> str:
    """The store's global key for an order: ``"<connection_id>:<remote_id>"``."""
    return f"{connection_id}:{remote_id}"


def fold_search(text: str) -> str:
    """Case-fold text for search and email matching (the same fold on both sides)."""
    return text.casefold()


def _search_text(candidate: Candidate | None) -> str:
    if candidate is None:
        return ""
    full_name = " ".join(p for p in (candidate.first_name, candidate.last_name) if p)
    parts = [candidate.name, full_name, *candidate.emails]
    # Newline-separated so a search term (never multi-line) cannot match across parts.
    return "\n".join(fold_search(p) for p in parts if p)


def _candidate_name(candidate: Candidate | None) -> str | None:
    if candidate is None:
        return None
    full_name = " ".join(p for p in (candidate.first_name, candidate.last_name) if p)
    return candidate.name or full_name or None


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    """An order turned into column values, computed before any transaction opens."""

    id: str
    order: Order
    data: dict[str, Any]
    content_hash: str
    columns: dict[str, Any]

    @property
    def status(self) -> str:
        """The canonical status as stored."""
        return str(self.columns["status"])


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", _NUL_REPLACEMENT)
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def prepare_order(connection_id: str, order: Order) -> PreparedOrder:
    """Column values for ``order`` on ``connection_id`` (everything but the store's times).

    NUL characters become U+FFFD in every string: PostgreSQL's text and jsonb cannot
    hold them, and an order that can never be stored would fail its webhook (503) or
    poll on every retry. Replaced on SQLite too, so both backends keep the same order.
    """
    data = order.model_dump(mode="json")
    canonical = _canonical(data)
    # json.dumps writes NUL as the escape \u0000; the scan keeps the common case cheap.
    if "\\u0000" in canonical:
        data = _without_nul(data)
        order = Order.model_validate(data)
        canonical = _canonical(data)
    candidate = order.candidate
    first_email = candidate.emails[0] if candidate and candidate.emails else None
    columns: dict[str, Any] = {
        "connection_id": connection_id,
        "provider": str(order.provider),
        "remote_id": order.remote_id,
        "status": str(order.status),
        "provider_status": order.provider_status,
        "updated_at": as_utc(order.updated_at) if order.updated_at else None,
        "candidate_email": fold_search(first_email) if first_email else None,
        "candidate_name": _candidate_name(candidate),
        "job_remote_id": order.job.remote_id if order.job else None,
        "package_id": order.package.remote_id if order.package else None,
        "search_text": _search_text(candidate),
        "data": data,
    }
    return PreparedOrder(
        id=order_key(connection_id, order.remote_id),
        order=order,
        data=data,
        content_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        columns=columns,
    )


def stored_result(value: Any) -> dict[str, Any] | None:
    """The stored result document as read back from the ``data`` column (JSON), or None.

    Normalised through the model so its hash matches the same result arriving fresh,
    whatever the backend's JSON round trip did to it (e.g. key order, number spelling).
    """
    if value is None:
        return None
    return AssessmentResult.model_validate(value).model_dump(mode="json")


def with_kept_result(prepared: PreparedOrder, result: Mapping[str, Any]) -> PreparedOrder:
    """``prepared`` carrying ``result`` (a ``stored_result``) in place of its missing one.

    Only ``data`` and the content hash change: no other column derives from the result.
    The hash covers the kept result, so re-reading an unchanged order writes nothing.
    """
    data = {**prepared.data, "result": dict(result)}
    return PreparedOrder(
        id=prepared.id,
        order=prepared.order.model_copy(update={"result": AssessmentResult.model_validate(result)}),
        data=data,
        content_hash=hashlib.sha256(_canonical(data).encode()).hexdigest(),
        columns={**prepared.columns, "data": data},
    )


def with_kept_status(
    prepared: PreparedOrder, status: str, provider_status: str | None
) -> PreparedOrder:
    """``prepared`` with the stored ``status`` and ``provider_status`` in place of its
    own (a read that predates what the store recorded); everything else is the read's."""
    data = {**prepared.data, "status": status, "provider_status": provider_status}
    return PreparedOrder(
        id=prepared.id,
        order=prepared.order.model_copy(
            update={"status": OrderStatus(status), "provider_status": provider_status}
        ),
        data=data,
        content_hash=hashlib.sha256(_canonical(data).encode()).hexdigest(),
        columns={
            **prepared.columns,
            "status": status,
            "provider_status": provider_status,
            "data": data,
        },
    )


def stored_order(row: Mapping[Any, Any], order: Order | None = None) -> StoredOrder:
    """A ``StoredOrder`` from an ``orders`` row mapping; ``data`` read as text
    (``decoded.document_text``) is decoded once per process, as a dict it is validated.
    ``order``: the row's document already decoded (a row read without ``data``)."""
    return StoredOrder(
        id=row["id"],
        tenant=row["tenant"],
        connection_id=row["connection_id"],
        order=DECODED_ORDERS.order(row["data"]) if order is None else order,
        created_at=row["created_at"],
        created_at_source=CreatedAtSource(row["created_at_source"]),
        first_seen_at=row["first_seen_at"],
        ingested_at=row["ingested_at"],
        version=row["version"],
    )


def stored_event(row: Mapping[Any, Any]) -> StoredEvent:
    """A ``StoredEvent`` from an ``order_events`` row mapping."""
    previous = row["previous_status"]
    return StoredEvent(
        id=row["id"],
        tenant=row["tenant"],
        order_id=row["order_id"],
        connection_id=row["connection_id"],
        previous_status=OrderStatus(previous) if previous is not None else None,
        new_status=OrderStatus(row["new_status"]),
        source=EventSource(row["source"]),
        occurred_at=row["occurred_at"],
    )


def event_values(
    tenant: str,
    order_id: str,
    connection_id: str,
    previous_status: str | None,
    new_status: str,
    source: EventSource,
    occurred_at: datetime,
) -> dict[str, Any]:
    """Insert values for one ``order_events`` row."""
    return {
        "tenant": tenant,
        "order_id": order_id,
        "connection_id": connection_id,
        "previous_status": previous_status,
        "new_status": new_status,
        "source": str(source),
        "occurred_at": occurred_at,
    }
