"""Unified.to wire -> canonical: orders, results, packages and the status and type
vocabularies. Pure functions (no I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ordergraph.models import (
    Address,
    Application,
    AssessmentResult,
    Attachment,
    AttributeType,
    Candidate,
    Job,
    Order,
    OrderStatus,
    Package,
    PackageRef,
    PackageType,
    ProviderName,
    ResultAttribute,
)
from ordergraph.providers.unified.wire import (
    UnifiedAddress,
    UnifiedAttribute,
    UnifiedOrder,
    UnifiedPackage,
)

_STATUS_TO_CANONICAL = {
    "OPEN": OrderStatus.OPEN,
    "IN_PROGRESS": OrderStatus.IN_PROGRESS,
    "COMPLETED": OrderStatus.COMPLETED,
    "FAILED": OrderStatus.FAILED,
    "REJECTED": OrderStatus.REJECTED,
}
_STATUS_TO_WIRE = {canonical: wire for wire, canonical in _STATUS_TO_CANONICAL.items()}
_PACKAGE_TYPE_TO_CANONICAL = {
    "SKILLS_TEST": PackageType.SKILLS_TEST,
    "BEHAVIORAL_ASSESSMENT": PackageType.BEHAVIORAL,
    "VIDEO_INTERVIEW": PackageType.VIDEO_INTERVIEW,
    "BACKGROUND_CHECK": PackageType.BACKGROUND_CHECK,
    "REFERENCE_CHECK": PackageType.REFERENCE_CHECK,
    "OTHER": PackageType.OTHER,
}
_PACKAGE_TYPE_TO_WIRE = {canonical: wire for wire, canonical in _PACKAGE_TYPE_TO_CANONICAL.items()}


def status_to_canonical(raw: str | None) -> OrderStatus:
    """Unified status → canonical; anything unknown is ``UNKNOWN``."""
    if raw is None:
        return OrderStatus.UNKNOWN
    return _STATUS_TO_CANONICAL.get(raw.upper(), OrderStatus.UNKNOWN)


def status_to_wire(status: OrderStatus) -> str:
    """Canonical status → Unified; ``ValueError`` when Unified has no such status."""
    try:
        return _STATUS_TO_WIRE[status]
    except KeyError:
        msg = f"Unified has no order status for {status.value}"
        raise ValueError(msg) from None


def _wire_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Drop absent values: Unified reads a sent ``null`` as 'clear this field'."""
    return {name: value for name, value in fields.items() if value not in (None, [], "")}


def _address(wire: UnifiedAddress) -> Address:
    return Address(
        street_1=wire.address1,
        street_2=wire.address2,
        city=wire.city,
        region=wire.region or wire.region_code,
        postal_code=wire.postal_code,
        country=wire.country or wire.country_code,
    )


def _candidate(wire: UnifiedOrder) -> Candidate | None:
    candidate = Candidate(
        remote_id=wire.candidate_id,
        first_name=wire.profile_first_name,
        last_name=wire.profile_last_name,
        name=wire.profile_name,
        emails=tuple(wire.profile_emails or ()),
        phones=tuple(wire.profile_telephones or ()),
        profile_url=wire.profile_resume_url,
        date_of_birth=wire.profile_date_of_birth,
        national_identifier=wire.profile_national_identifier,
        ip_address=wire.profile_ip_address,
        gender=wire.profile_gender,
        addresses=tuple(_address(a) for a in wire.profile_addresses or ()),
    )
    return None if candidate == Candidate() else candidate


def _attribute(wire: UnifiedAttribute) -> ResultAttribute:
    try:
        kind = AttributeType(wire.type.upper())
    except ValueError:
        kind = AttributeType.TEXT  # unknown kinds still carry a label and value
    return ResultAttribute(
        type=kind,
        label=wire.label,
        value=wire.value,
        score=wire.score_value,
        max_score=wire.score_max,
        status=None if wire.status is None else status_to_canonical(wire.status),
        reference=wire.reference,
    )


def _attachments(wire: UnifiedOrder) -> tuple[Attachment, ...]:
    urls = [Attachment(url=url) for url in wire.response_download_urls or ()]
    details = [
        Attachment(url=d.download_url, name=d.title)
        for d in wire.response_details or ()
        if d.download_url
    ]
    return tuple(urls + details)


def _summary(wire: UnifiedOrder) -> str | None:
    texts = [d.text for d in wire.response_details or () if d.text]
    return "\n\n".join(texts) or None


def _result(wire: UnifiedOrder) -> AssessmentResult | None:
    present = (
        wire.response_status,
        wire.response_score,
        wire.response_max_score,
        wire.response_url,
        wire.response_completed_at,
        wire.response_attributes,
        wire.response_download_urls,
        wire.response_details,
    )
    if all(value is None for value in present):
        return None
    return AssessmentResult(
        status=None if wire.response_status is None else status_to_canonical(wire.response_status),
        provider_status=wire.response_status,
        score=wire.response_score,
        max_score=wire.response_max_score,
        url=wire.response_url,
        completed_at=wire.response_completed_at,
        summary=_summary(wire),
        attributes=tuple(_attribute(a) for a in wire.response_attributes or ()),
        attachments=_attachments(wire),
    )


def order_to_canonical(wire: UnifiedOrder) -> Order:
    """A Unified ``AssessmentOrder`` as a canonical ``Order`` (nothing invented)."""
    raw_status = wire.status if wire.status is not None else wire.response_status
    return Order(
        provider=ProviderName.UNIFIED,
        remote_id=wire.id,
        status=status_to_canonical(raw_status),
        provider_status=raw_status,
        created_at=wire.created_at,
        updated_at=wire.updated_at,
        candidate=_candidate(wire),
        # Unified carries only ids for job and application (PROVIDERS.md 1.3).
        job=Job(remote_id=wire.job_id) if wire.job_id else None,
        application=Application(remote_id=wire.application_id) if wire.application_id else None,
        package=PackageRef(remote_id=wire.package_id) if wire.package_id else None,
        result=_result(wire),
        target_url=wire.target_url,
        redirect_url=wire.response_redirect_url,
        reference=wire.reference,
        raw=wire.raw,
    )


def package_to_canonical(wire: UnifiedPackage) -> Package:
    return Package(
        remote_id=wire.id,
        name=wire.name,
        description=wire.description,
        type=None if wire.type is None else _PACKAGE_TYPE_TO_CANONICAL.get(wire.type.upper()),
        updated_at=wire.updated_at,
    )
