"""Canonical models: what every provider's wire format maps into.

No I/O here. A field a provider does not carry stays ``None`` (or an empty list);
adapters never invent values. The provider's own status string is always kept
beside the canonical status so nothing is lost in translation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Address",
    "Application",
    "AssessmentResult",
    "Attachment",
    "AttributeType",
    "Candidate",
    "CreatedOrder",
    "HiringTeamMember",
    "Job",
    "Location",
    "NewOrder",
    "Order",
    "OrderStatus",
    "Package",
    "PackageRef",
    "PackageType",
    "ProviderName",
    "Requester",
    "ResultAttribute",
    "ResultSubmission",
]


class ProviderName(StrEnum):
    """The unified-API providers ordergraph speaks to."""

    UNIFIED = "unified"
    STACKONE = "stackone"
    KOMBO = "kombo"


class OrderStatus(StrEnum):
    """Canonical order status (PROVIDERS.md section 4)."""

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"


class PackageType(StrEnum):
    """Canonical package type; the union of Unified's and Kombo's enums."""

    SKILLS_TEST = "SKILLS_TEST"
    BEHAVIORAL = "BEHAVIORAL"
    VIDEO_INTERVIEW = "VIDEO_INTERVIEW"
    BACKGROUND_CHECK = "BACKGROUND_CHECK"
    REFERENCE_CHECK = "REFERENCE_CHECK"
    OTHER = "OTHER"


class AttributeType(StrEnum):
    """Kind of a result attribute (Unified TEXT/NUMBER/SUB_RESULT, Kombo TEXT/SUB_RESULT)."""

    TEXT = "TEXT"
    NUMBER = "NUMBER"
    SUB_RESULT = "SUB_RESULT"


class _Model(BaseModel):
    # Frozen so a mapped order can be shared between loaders and caches safely;
    # extra="forbid" so a typo in a mapper is an error, not a silently dropped field.
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Model):
    """A postal address (candidate addresses are PII)."""

    street_1: str | None = None
    street_2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Location(_Model):
    """Where a job is; ``raw`` keeps the ATS's unparsed location text."""

    street_1: str | None = None
    street_2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    raw: str | None = None


class Candidate(_Model):
    """The person taking the assessment."""

    remote_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    profile_url: str | None = None
    # Sensitive fields: later issues gate them behind a `pii` scope.
    date_of_birth: str | None = None
    national_identifier: str | None = None
    ip_address: str | None = None
    gender: str | None = None
    addresses: tuple[Address, ...] = ()


class HiringTeamMember(_Model):
    """A member of the job's hiring team (or the recruiter who ordered)."""

    remote_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    roles: tuple[str, ...] = ()


Requester = HiringTeamMember


class Job(_Model):
    """The job the candidate applied to."""

    remote_id: str | None = None
    title: str | None = None
    code: str | None = None
    description: str | None = None
    location: Location | None = None
    hiring_team: tuple[HiringTeamMember, ...] = ()


class Application(_Model):
    """The candidate's application in the ATS."""

    remote_id: str | None = None
    status: str | None = None


class PackageRef(_Model):
    """What an order says about its package: always the id, sometimes more."""

    remote_id: str
    name: str | None = None
    description: str | None = None


class Package(_Model):
    """An assessment package the vendor offers on a connection."""

    remote_id: str
    name: str | None = None
    description: str | None = None
    type: PackageType | None = None
    updated_at: datetime | None = None


class Attachment(_Model):
    """A file attached to a result (report, recording)."""

    url: str | None = None
    name: str | None = None
    content_type: str | None = None


class ResultAttribute(_Model):
    """One line of a result: a text note, a number or a scored sub-result."""

    type: AttributeType = AttributeType.TEXT
    label: str
    value: str | None = None
    score: float | None = None
    max_score: float | None = None
    status: OrderStatus | None = None
    reference: str | None = None


class AssessmentResult(_Model):
    """The outcome of an assessment as read from, or written to, a provider."""

    status: OrderStatus | None = None
    provider_status: str | None = None
    score: float | None = None
    max_score: float | None = None
    url: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    summary: str | None = None
    attributes: tuple[ResultAttribute, ...] = ()
    attachments: tuple[Attachment, ...] = ()


class Order(_Model):
    """One assessment order as the provider reports it.

    ``created_at`` is ``None`` when the provider does not say (Kombo, StackOne);
    the store records first-seen time instead of inventing one here.
    """

    provider: ProviderName
    remote_id: str
    status: OrderStatus
    provider_status: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    candidate: Candidate | None = None
    job: Job | None = None
    application: Application | None = None
    package: PackageRef | None = None
    requester: HiringTeamMember | None = None
    result: AssessmentResult | None = None
    test_url: str | None = None
    target_url: str | None = None
    redirect_url: str | None = None
    results_update_url: str | None = None
    reference: str | None = None
    raw: dict[str, Any] | None = Field(default=None, repr=False)


class NewOrder(_Model):
    """What ``createOrder`` sends: the order as the ATS side describes it."""

    package: PackageRef
    candidate: Candidate
    job: Job | None = None
    application: Application | None = None
    requester: HiringTeamMember | None = None
    results_update_url: str | None = None
    target_url: str | None = None


class CreatedOrder(_Model):
    """What a provider confirms after a create: its id and maybe a test link."""

    remote_id: str
    test_url: str | None = None
    order: Order | None = None


class ResultSubmission(_Model):
    """A result to write back to the provider for one order."""

    status: OrderStatus
    score: float | None = None
    max_score: float | None = None
    min_score: float | None = None
    score_label: str | None = None
    url: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    summary: str | None = None
    attributes: tuple[ResultAttribute, ...] = ()
    attachments: tuple[Attachment, ...] = ()
