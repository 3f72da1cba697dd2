"""Plain GraphQL value types, each built from its canonical model, and the ``DateTime``
scalar every time of ours is written and read with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import strawberry
from graphql import GraphQLError
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from ordergraph import models
from ordergraph.schema.enums import AttributeType, OrderStatus

__all__ = [
    "DATETIME_SCALAR",
    "Address",
    "Application",
    "AssessmentResult",
    "Attachment",
    "DateTimeOutOfRangeError",
    "HiringTeamMember",
    "Location",
    "ResultAttribute",
    "format_datetime",
    "parse_datetime",
]


class DateTimeOutOfRangeError(GraphQLError):
    """A DateTime that names no instant a datetime can hold once put in UTC.

    ``0001-01-01T00:00:00+14:00`` parses, but is in year 0 in UTC: converting it (to
    compare it with stored times, or to store it) raised ``OverflowError`` inside the
    store, which was masked as "Unexpected error." and logged with the SQL statement.
    graphql-core keeps this error's code on the variable or argument error it becomes.
    """

    def __init__(self, value: str) -> None:
        super().__init__(
            f"{value} is outside the range of DateTime once converted to UTC "
            "(0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)",
            extensions={"code": "INVALID_ARGUMENT"},
        )


_PARSE_ISO: Final = DateTimeDefinition.parse_value

DATETIME_SPEC_URL: Final = "https://datatracker.ietf.org/doc/html/rfc3339"
DATETIME_DESCRIPTION: Final = (
    "An instant, as an RFC 3339 date-time. Output is always UTC with `Z` and exactly "
    "three fractional digits (milliseconds, truncated), e.g. `2026-12-03T15:04:05.123Z`. "
    "Input may be any RFC 3339 date-time; an offset is converted to UTC (a time without "
    "one is taken as UTC)."
)


def format_datetime(value: datetime) -> str:
    """``value`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC; naive values are UTC already.

    One wire format, so clients can compare and sort times as strings and codegen can map
    the scalar to one type. Milliseconds are truncated, not rounded: rounding could carry
    into the next second (or past year 9999), and a truncated time used as an inclusive
    lower bound (``updatedSince``) still includes the instant it was read from.
    Formatted by hand: ``strftime("%Y")`` does not pad years before 1000 on every libc.
    """
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def _serialize_datetime(value: object) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"DateTime cannot represent {type(value).__name__}")
    return format_datetime(value)


def parse_datetime(value: object) -> datetime:
    """Strawberry's ``DateTime`` parsing, in UTC, refusing values that overflow there."""
    assert _PARSE_ISO is not None  # Strawberry's DateTime always has a parser
    parsed = _PARSE_ISO(value)
    if not isinstance(parsed, datetime):  # isoparse always returns one
        raise DateTimeOutOfRangeError(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise DateTimeOutOfRangeError(str(value)) from None


DATETIME_SCALAR: Final = ScalarDefinition(
    name=DateTimeDefinition.name,
    description=DATETIME_DESCRIPTION,
    specified_by_url=DATETIME_SPEC_URL,
    serialize=_serialize_datetime,
    parse_value=parse_datetime,
    parse_literal=None,
    origin=datetime,
)
"""``DateTime`` (Strawberry's name) with one output format (``format_datetime``), read
with ``parse_datetime``: the schema uses it for every ``datetime`` (``scalar_overrides``)."""


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
