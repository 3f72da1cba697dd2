"""Canonical orders for store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ordergraph.models import Candidate, Job, Order, OrderStatus, PackageRef, ProviderName

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    """``T0`` plus ``n`` minutes."""
    return T0 + timedelta(minutes=n)


def make_order(
    remote_id: str,
    *,
    status: OrderStatus = OrderStatus.OPEN,
    provider: ProviderName = ProviderName.UNIFIED,
    created_at: datetime | None = T0,
    updated_at: datetime | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    name: str | None = None,
    emails: tuple[str, ...] = (),
    job_remote_id: str | None = None,
    package_id: str | None = "pkg-1",
    **extra: Any,
) -> Order:
    """An order with only what a test cares about set."""
    candidate = (
        Candidate(first_name=first_name, last_name=last_name, name=name, emails=emails)
        if first_name or last_name or name or emails
        else None
    )
    return Order(
        provider=provider,
        remote_id=remote_id,
        status=status,
        created_at=created_at,
        updated_at=updated_at,
        candidate=candidate,
        job=Job(remote_id=job_remote_id, title="Engineer") if job_remote_id else None,
        package=PackageRef(remote_id=package_id) if package_id else None,
        **extra,
    )


def kombo_order(remote_id: str, *, status: OrderStatus = OrderStatus.OPEN) -> Order:
    """A Kombo order: no timestamps at all."""
    return make_order(remote_id, status=status, provider=ProviderName.KOMBO, created_at=None)
