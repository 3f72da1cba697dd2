"""What the order store hands back: plain frozen records, no SQL types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ordergraph.models import Order, OrderStatus, ProviderName

__all__ = [
    "CreatedAtSource",
    "Edge",
    "EventSource",
    "IngestResult",
    "OrderFilter",
    "OrderPage",
    "SortOrder",
    "StoredEvent",
    "StoredOrder",
]


class EventSource(StrEnum):
    """How a change reached the store."""

    WEBHOOK = "WEBHOOK"
    POLL = "POLL"
    MUTATION = "MUTATION"
    CREATE = "CREATE"


class SortOrder(StrEnum):
    """Direction of the (created_at, id) order a listing follows."""

    ASC = "ASC"
    DESC = "DESC"


class CreatedAtSource(StrEnum):
    """Where ``StoredOrder.created_at`` came from."""

    PROVIDER = "provider"
    FIRST_SEEN = "first_seen"


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """A canonical order as the store holds it, with the facts only the store knows.

    ``order`` is exactly what was ingested (its ``created_at`` may be ``None``);
    ``created_at`` is resolved: the provider's time, else when the store first saw it.
    """

    id: str
    tenant: str
    connection_id: str
    order: Order
    created_at: datetime
    created_at_source: CreatedAtSource
    first_seen_at: datetime
    ingested_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of the append-only order event log."""

    id: int
    tenant: str
    order_id: str
    connection_id: str
    previous_status: OrderStatus | None
    new_status: OrderStatus
    source: EventSource
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ingestion changed.

    ``stale`` counts orders skipped because the store already holds a newer
    ``updated_at`` for them; ``data_version`` is the tenant's version after the commit.
    ``duplicate`` is True when the ingestion's webhook receipt was already recorded:
    nothing was written, the delivery had been taken before.
    """

    inserted: int
    updated: int
    unchanged: int
    stale: int
    events: tuple[StoredEvent, ...]
    changed_ids: tuple[str, ...]
    data_version: int
    duplicate: bool = False

    @property
    def event_ids(self) -> tuple[int, ...]:
        """Ids of the events appended, in log order."""
        return tuple(e.id for e in self.events)

    @property
    def changed(self) -> bool:
        """True when the ingestion wrote anything (the caller should publish a wake-up)."""
        return bool(self.changed_ids)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Conditions an order must meet to be listed; ``None`` means "any".

    An empty sequence matches nothing. ``created_after`` is inclusive and
    ``created_before`` exclusive, so adjacent ranges neither overlap nor leave a gap.
    ``updated_since`` compares when the order last changed (inclusive): the provider's
    ``updated_at`` where it gives one, else when ordergraph stored the last change
    (the ``changed_at`` column). ``candidate_email`` is an exact,
    case-insensitive match on the candidate's first email; ``search`` is a
    case-insensitive substring of the candidate's name or any of their emails.
    """

    statuses: Sequence[OrderStatus] | None = None
    providers: Sequence[ProviderName] | None = None
    connection_ids: Sequence[str] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_since: datetime | None = None
    candidate_email: str | None = None
    job_remote_id: str | None = None
    package_id: str | None = None
    search: str | None = None
    # Global keys (``<connection id>:<remote id>``): a listing of chosen orders.
    order_ids: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """One listed order and the opaque cursor of its position."""

    cursor: str
    node: StoredOrder


@dataclass(frozen=True, slots=True)
class OrderPage:
    """A Relay page: edges in listing order plus exact page info.

    ``total_count`` is filled only when asked for (it costs a COUNT).
    """

    edges: tuple[Edge, ...]
    has_next_page: bool
    has_previous_page: bool
    total_count: int | None = field(default=None)

    @property
    def start_cursor(self) -> str | None:
        """Cursor of the first edge, if any."""
        return self.edges[0].cursor if self.edges else None

    @property
    def end_cursor(self) -> str | None:
        """Cursor of the last edge, if any."""
        return self.edges[-1].cursor if self.edges else None
