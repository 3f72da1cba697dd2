"""Kombo wire -> canonical: orders, statuses, packages, and the status filter.

Pure functions (no I/O), tested without HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ordergraph.models import (
    Application,
    Candidate,
    HiringTeamMember,
    Job,
    Location,
    Order,
    OrderStatus,
    Package,
    PackageRef,
    PackageType,
    ProviderName,
)
from ordergraph.providers.kombo.wire import (
    KomboCandidate,
    KomboHiringMember,
    KomboJob,
    KomboLocation,
    KomboOrder,
    KomboPackage,
)

_STATUS_TO_CANONICAL = {
    "OPEN": OrderStatus.OPEN,
    "COMPLETED": OrderStatus.COMPLETED,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}
# The canonical statuses Kombo's ``statuses`` filter can express (same words).
_FILTERABLE = {status: raw for raw, status in _STATUS_TO_CANONICAL.items()}


def status_to_canonical(raw: str | None) -> OrderStatus:
    """Kombo order status -> canonical (PROVIDERS.md section 4); anything else is UNKNOWN."""
    return _STATUS_TO_CANONICAL.get(raw or "", OrderStatus.UNKNOWN)


def _location(wire: KomboLocation | None) -> Location | None:
    if wire is None:
        return None
    return Location(
        street_1=wire.street_1,
        street_2=wire.street_2,
        city=wire.city,
        region=wire.state,
        postal_code=wire.zip_code,
        country=wire.country,
        raw=wire.raw,
    )


def _member(wire: KomboHiringMember) -> HiringTeamMember:
    return HiringTeamMember(
        remote_id=wire.remote_id,
        first_name=wire.first_name,
        last_name=wire.last_name,
        email=wire.email,
        roles=tuple(wire.hiring_team_roles),
    )


def _candidate(wire: KomboCandidate) -> Candidate:
    return Candidate(
        remote_id=wire.remote_id,
        first_name=wire.first_name,
        last_name=wire.last_name,
        emails=(wire.email,) if wire.email else (),
        phones=(wire.phone,) if wire.phone else (),
    )


def _job(wire: KomboJob) -> Job:
    return Job(
        remote_id=wire.remote_id,
        title=wire.name,
        code=wire.job_code,
        description=wire.description,
        location=_location(wire.location),
        hiring_team=tuple(_member(member) for member in wire.hiring_team),
    )


def order_to_canonical(wire: KomboOrder, raw: Mapping[str, Any] | None = None) -> Order:
    """A Kombo order as a canonical ``Order``; ``raw`` is the item as received.

    Kombo returns no creation time, package name or result on an order: those stay
    None (the store records first-seen time; package names come from the packages).
    """
    return Order(
        provider=ProviderName.KOMBO,
        remote_id=wire.id,
        status=status_to_canonical(wire.status),
        provider_status=wire.status,
        candidate=_candidate(wire.candidate),
        job=_job(wire.job),
        application=Application(remote_id=wire.application.remote_id),
        package=PackageRef(remote_id=wire.package_id),
        raw=dict(raw) if raw is not None else None,
    )


def format_datetime(moment: datetime) -> str:
    """Kombo's ``YYYY-MM-DDTHH:mm:ss.sssZ`` in UTC (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def status_filter(statuses: Sequence[OrderStatus] | None) -> list[str] | None:
    """Kombo ``statuses`` values for a canonical filter; None = no filter, [] = nothing
    can match (only statuses Kombo never reports were asked for)."""
    if not statuses:
        return None
    return sorted({_FILTERABLE[status] for status in statuses if status in _FILTERABLE})


_KOMBO_PACKAGE_TYPES = {
    "BEHAVIORAL": PackageType.BEHAVIORAL,
    "VIDEO_INTERVIEW": PackageType.VIDEO_INTERVIEW,
    "SKILLS_TEST": PackageType.SKILLS_TEST,
    "BACKGROUND_CHECK": PackageType.BACKGROUND_CHECK,
    "REFERENCE_CHECK": PackageType.REFERENCE_CHECK,
}


def package_to_canonical(wire: KomboPackage) -> Package:
    """A Kombo package; a type Kombo added after this adapter was written is OTHER."""
    kind = None if wire.type is None else _KOMBO_PACKAGE_TYPES.get(wire.type, PackageType.OTHER)
    return Package(
        remote_id=wire.id,
        name=wire.name,
        description=wire.description,
        type=kind,
        updated_at=wire.updated_at,
    )
