"""Kombo orders as stored, and the filters, cursors and pages of the order lists."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ordergraph.sandbox.data import OrderFactory, SeedOrder
from ordergraph.sandbox.kombo.wire import (
    DATE_TIME,
    DEFAULT_PAGE_SIZE,
    INPUT_INVALID,
    MAX_PAGE_SIZE,
    ORDER_STATUSES,
    KomboApiError,
)

# --- stored data ----------------------------------------------------------------------


@dataclass
class StoredOrder:
    """One order as Kombo holds it; ``created_at`` is internal (never returned)."""

    id: str
    created_at: datetime
    status: str
    fields: dict[str, Any]  # package_id, candidate, application, job (wire shapes)
    result: dict[str, Any] | None = None

    def wire(self, *, with_status: bool = True) -> dict[str, Any]:
        head: dict[str, Any] = {"id": self.id, "package_id": self.fields["package_id"]}
        if with_status:
            head["status"] = self.status
        return head | {key: self.fields[key] for key in ("candidate", "application", "job")}


@dataclass
class Integration:
    """One integration (one customer ATS) with its orders and packages."""

    id: str
    factory: OrderFactory
    rng: random.Random
    orders: list[StoredOrder] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    created: list[datetime] = field(default_factory=list)  # parallel to orders, sorted
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    category: str = "ASSESSMENT"
    state: str = "ACTIVE"  # ACTIVE | INACTIVE | INVALID, Kombo's integration states
    # organization_name, creator_email, origin_id: who connected it (connect flow)
    end_user: dict[str, str | None] = field(default_factory=dict)
    connected_at: datetime = datetime(2025, 12, 1, 8, 0, tzinfo=UTC)  # seeded ones

    @property
    def tool(self) -> str:
        """Kombo integration ids are ``<tool>:<id>``."""
        return self.id.partition(":")[0]

    def add(self, order: StoredOrder) -> None:
        # Orders arrive in creation order; ``created`` must stay sorted for bisect.
        if self.created and order.created_at < self.created[-1]:
            msg = f"order {order.id} is older than the newest order of {self.id}"
            raise ValueError(msg)
        self.index[order.id] = len(self.orders)
        self.orders.append(order)
        self.created.append(order.created_at)

    def get(self, order_id: str) -> StoredOrder | None:
        position = self.index.get(order_id)
        return None if position is None else self.orders[position]


def _job_wire(order: SeedOrder) -> dict[str, Any]:
    job = order.job
    location = {
        "street_1": job.location.street_1,
        "city": job.location.city,
        "state": job.location.state,
        "zip_code": job.location.zip_code,
        "country": job.location.country,
        "raw": job.location.raw,
    }
    return {
        "remote_id": job.remote_id,
        "name": job.title,
        "job_code": job.code,
        "description": job.description,
        "location": location,
        "hiring_team": [
            {
                "remote_id": member.remote_id,
                "email": member.email,
                "first_name": member.first_name,
                "last_name": member.last_name,
                "hiring_team_roles": list(member.roles),
            }
            for member in job.hiring_team
        ],
    }


def stored_order(order: SeedOrder) -> StoredOrder:
    candidate = order.candidate
    fields = {
        "package_id": order.package.id,
        "candidate": {
            "remote_id": candidate.remote_id,
            "email": candidate.email,
            "first_name": candidate.first_name,
            "last_name": candidate.last_name,
            "phone": candidate.phone,
        },
        "application": {"remote_id": order.application_id},
        "job": _job_wire(order),
    }
    return StoredOrder(id=order.id, created_at=order.created_at, status=order.status, fields=fields)


# --- query parsing --------------------------------------------------------------------


def encode_cursor(order_id: str) -> str:
    raw = json.dumps({"v": 1, "after": order_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, integration: Integration) -> int:
    """The position of the last order the previous page returned."""
    invalid = KomboApiError(400, INPUT_INVALID, "The cursor is invalid.")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc
    after = payload.get("after") if isinstance(payload, dict) else None
    if not isinstance(after, str) or after not in integration.index:
        raise invalid
    return integration.index[after]


def page_size(query: Mapping[str, str]) -> int:
    raw = query.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise KomboApiError(
            400, INPUT_INVALID, f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}."
        )
    return size


def csv_values(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_statuses(query: Mapping[str, str]) -> frozenset[str] | None:
    wanted = csv_values(query.get("statuses"))
    unknown = [status for status in wanted if status not in ORDER_STATUSES]
    if unknown:
        raise KomboApiError(
            400,
            INPUT_INVALID,
            f"statuses may only contain {', '.join(ORDER_STATUSES)}; got {', '.join(unknown)}.",
        )
    return frozenset(wanted) or None


def parse_created_after(query: Mapping[str, str]) -> datetime | None:
    raw = query.get("created_after")
    if raw is None or raw == "":
        return None
    invalid = KomboApiError(
        400, INPUT_INVALID, "created_after must be a date-time like 2024-01-31T12:00:00.000Z."
    )
    if not DATE_TIME.match(raw):
        raise invalid
    try:
        parsed = datetime.fromisoformat(raw.removesuffix("Z"))
    except ValueError as exc:
        raise invalid from exc
    return parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OrderFilter:
    after: int  # position of the last order already returned; -1 at the start
    statuses: frozenset[str] | None = None
    ids: tuple[str, ...] | None = None
    created_after: datetime | None = None


def _positions(integration: Integration, wanted: OrderFilter) -> Iterator[int]:
    """Candidate positions after the cursor, in creation order (filters not yet applied)."""
    if wanted.ids is not None:
        known = sorted({integration.index[i] for i in wanted.ids if i in integration.index})
        yield from known[bisect.bisect_right(known, wanted.after) :]
        return
    start = wanted.after + 1
    if wanted.created_after is not None:
        start = max(start, bisect.bisect_left(integration.created, wanted.created_after))
    yield from range(start, len(integration.orders))


def select_page(
    integration: Integration, wanted: OrderFilter, size: int
) -> tuple[list[StoredOrder], str | None]:
    """One page and the cursor for the next (None when nothing follows)."""
    found: list[StoredOrder] = []
    for position in _positions(integration, wanted):
        order = integration.orders[position]
        if wanted.statuses is not None and order.status not in wanted.statuses:
            continue
        if wanted.created_after is not None and order.created_at < wanted.created_after:
            continue
        found.append(order)
        if len(found) > size:  # one look-ahead row tells whether a next page exists
            break
    if len(found) <= size:
        return found, None
    page = found[:size]
    return page, encode_cursor(page[-1].id)
