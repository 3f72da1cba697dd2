"""Plain GraphQL value types, each built from its canonical model."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergraph import models
from ordergraph.schema.enums import AttributeType, OrderStatus

__all__ = [
    "Address",
    "Application",
    "AssessmentResult",
    "Attachment",
    "HiringTeamMember",
    "Location",
    "ResultAttribute",
]


@strawberry.type(description="Where a job is.")
class Location:
    street1: str | None = strawberry.field(description="First street line.")
    street2: str | None = strawberry.field(description="Second street line.")
    city: str | None = strawberry.field(description="City.")
    region: str | None = strawberry.field(description="State, province or region.")
    postal_code: str | None = strawberry.field(description="Postal code.")
    country: str | None = strawberry.field(description="Country (ISO 3166-1 alpha-2 when known).")
    raw: str | None = strawberry.field(description="The location as the ATS wrote it.")

    @classmethod
    def from_model(cls, location: models.Location) -> Location:
        return cls(
            street1=location.street_1,
            street2=location.street_2,
            city=location.city,
            region=location.region,
            postal_code=location.postal_code,
            country=location.country,
            raw=location.raw,
        )


@strawberry.type(description="A candidate's postal address (personal data: needs the `pii` scope).")
class Address:
    street1: str | None = strawberry.field(description="First street line.")
    street2: str | None = strawberry.field(description="Second street line.")
    city: str | None = strawberry.field(description="City.")
    region: str | None = strawberry.field(description="State, province or region.")
    postal_code: str | None = strawberry.field(description="Postal code.")
    country: str | None = strawberry.field(description="Country (ISO 3166-1 alpha-2 when known).")

    @classmethod
    def from_model(cls, address: models.Address) -> Address:
        return cls(
            street1=address.street_1,
            street2=address.street_2,
            city=address.city,
            region=address.region,
            postal_code=address.postal_code,
            country=address.country,
        )


@strawberry.type(description="A member of a job's hiring team, or the person who ordered.")
class HiringTeamMember:
    remote_id: str | None = strawberry.field(description="The person's id in the ATS.")
    first_name: str | None = strawberry.field(description="First name.")
    last_name: str | None = strawberry.field(description="Last name.")
    email: str | None = strawberry.field(description="Email address.")
    roles: list[str] = strawberry.field(
        description="Roles on the hiring team (e.g. RECRUITER, HIRING_MANAGER)."
    )

    @classmethod
    def from_model(cls, member: models.HiringTeamMember) -> HiringTeamMember:
        return cls(
            remote_id=member.remote_id,
            first_name=member.first_name,
            last_name=member.last_name,
            email=member.email,
            roles=list(member.roles),
        )


@strawberry.type(description="The candidate's application in the ATS.")
class Application:
    remote_id: str | None = strawberry.field(description="The application's id in the ATS.")
    status: str | None = strawberry.field(description="The application's status, as reported.")

    @classmethod
    def from_model(cls, application: models.Application) -> Application:
        return cls(remote_id=application.remote_id, status=application.status)


@strawberry.type(description="One line of a result: a note, a number or a scored sub-result.")
class ResultAttribute:
    type: AttributeType = strawberry.field(description="Kind of attribute.")
    label: str = strawberry.field(description="What the attribute measures.")
    value: str | None = strawberry.field(description="Text or number, as text.")
    score: float | None = strawberry.field(description="Score of a sub-result.")
    max_score: float | None = strawberry.field(description="Highest possible score.")
    status: OrderStatus | None = strawberry.field(description="Status of a sub-result.")
    reference: str | None = strawberry.field(description="Provider-side id of the attribute.")

    @classmethod
    def from_model(cls, attribute: models.ResultAttribute) -> ResultAttribute:
        return cls(
            type=attribute.type,
            label=attribute.label,
            value=attribute.value,
            score=attribute.score,
            max_score=attribute.max_score,
            status=attribute.status,
            reference=attribute.reference,
        )


@strawberry.type(description="A file attached to a result (report, recording).")
class Attachment:
    url: str | None = strawberry.field(description="Where the file can be fetched.")
    name: str | None = strawberry.field(description="File name.")
    content_type: str | None = strawberry.field(description="MIME type.")

    @classmethod
    def from_model(cls, attachment: models.Attachment) -> Attachment:
        return cls(url=attachment.url, name=attachment.name, content_type=attachment.content_type)


@strawberry.type(description="The outcome of an assessment.")
class AssessmentResult:
    status: OrderStatus | None = strawberry.field(description="Canonical result status.")
    provider_status: str | None = strawberry.field(description="The provider's own status word.")
    score: float | None = strawberry.field(description="Score achieved.")
    max_score: float | None = strawberry.field(description="Highest possible score.")
    url: str | None = strawberry.field(description="Where the full result can be seen.")
    started_at: datetime | None = strawberry.field(description="When the candidate started.")
    completed_at: datetime | None = strawberry.field(description="When it was completed.")
    summary: str | None = strawberry.field(description="A short summary.")
    attributes: list[ResultAttribute] = strawberry.field(description="Detail lines.")
    attachments: list[Attachment] = strawberry.field(description="Attached files.")

    @classmethod
    def from_model(cls, result: models.AssessmentResult) -> AssessmentResult:
        return cls(
            status=result.status,
            provider_status=result.provider_status,
            score=result.score,
            max_score=result.max_score,
            url=result.url,
            started_at=result.started_at,
            completed_at=result.completed_at,
            summary=result.summary,
            attributes=[ResultAttribute.from_model(a) for a in result.attributes],
            attachments=[Attachment.from_model(a) for a in result.attachments],
        )
