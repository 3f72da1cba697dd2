"""StackOne wire -> canonical: orders, results, packages, statuses, error bodies and
the result input field a refusal names. Pure functions (no I/O).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ordergraph.models import (
    Application,
    AssessmentResult,
    Attachment,
    AttributeType,
    Candidate,
    HiringTeamMember,
    Job,
    Order,
    OrderStatus,
    Package,
    PackageRef,
    ProviderName,
    ResultAttribute,
)
from ordergraph.providers.http import ErrorDetail
from ordergraph.providers.stackone.wire import (
    WireCandidate,
    WireEnum,
    WireJob,
    WireMember,
    WireOrder,
    WirePackage,
    WireResult,
    WireScore,
)

_STATUS_TO_WIRE: dict[OrderStatus, str] = {
    OrderStatus.OPEN: "initiated",
    OrderStatus.IN_PROGRESS: "in_progress",
    OrderStatus.COMPLETED: "completed",
    OrderStatus.FAILED: "failed",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.EXPIRED: "expired",
}
_WIRE_TO_STATUS: dict[str, OrderStatus] = {
    **{wire: status for status, wire in _STATUS_TO_WIRE.items()},
    "passed": OrderStatus.COMPLETED,
}
_APPLICATION_STATUSES = frozenset(
    {"active", "assessment", "background_check", "converted", "declined_by_candidate", "hired",
     "interview", "lead", "offer", "reference_check", "rejected", "review", "screen", "new",
     "onboarding", "created", "accepted", "short_list", "approved"}
)  # fmt: skip
_UNMAPPED = "unmapped_value"
_CANONICAL_WORDS = frozenset(status.value for status in OrderStatus)


def result_status(
    value: str | None, source_value: Any = None
) -> tuple[OrderStatus | None, str | None]:
    """Canonical status and the provider's word for a ``result`` pair; (None, None) if empty."""
    source = source_value if isinstance(source_value, str) else None
    if value is None and source is None:
        return None, None
    if value is not None and value in _WIRE_TO_STATUS:
        return _WIRE_TO_STATUS[value], value
    if value in (None, _UNMAPPED) and source:
        # The word is in source_value: StackOne's own (the 2025-02 enum lacks some), or
        # one of our status names sent as unmapped_value (REJECTED).
        if source.lower() in _WIRE_TO_STATUS:
            return _WIRE_TO_STATUS[source.lower()], source
        if source.upper() in _CANONICAL_WORDS:
            return OrderStatus(source.upper()), source
        return OrderStatus.UNKNOWN, source
    # unmapped_value without a source, or a word newer than this adapter.
    return OrderStatus.UNKNOWN, value


def _enum_word(pair: WireEnum | None) -> str | None:
    """The word a ``{value, source_value}`` pair stands for (the source when unmapped)."""
    if pair is None:
        return None
    if pair.value and pair.value != _UNMAPPED:
        return pair.value
    return pair.source_value if isinstance(pair.source_value, str) else pair.value


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def package_to_canonical(package: WirePackage) -> Package:
    """A listed package; ``ValueError`` when it has no id at all (we cannot order it)."""
    remote_id = _first(package.id, package.remote_id)
    if remote_id is None:
        msg = "package without id"
        raise ValueError(msg)
    return Package(remote_id=remote_id, name=package.name, description=package.description)


def member_to_canonical(member: WireMember) -> HiringTeamMember:
    return HiringTeamMember(
        remote_id=_first(member.user_id, member.remote_user_id),
        first_name=member.first_name,
        last_name=member.last_name,
        email=member.email,
        roles=(member.role,) if member.role else (),
    )


def candidate_to_canonical(candidate: WireCandidate) -> Candidate:
    return Candidate(
        remote_id=_first(candidate.id, candidate.remote_id),
        first_name=candidate.first_name,
        last_name=candidate.last_name,
        emails=tuple(e.value for e in candidate.emails or () if e.value),
        profile_url=candidate.profile_url,
    )


def job_to_canonical(job: WireJob) -> Job:
    return Job(
        remote_id=_first(job.id, job.remote_id),
        title=job.title,
        hiring_team=tuple(member_to_canonical(m) for m in job.hiring_team or ()),
    )


def _package_ref(package: WirePackage | None) -> PackageRef | None:
    remote_id = _first(package.id, package.remote_id) if package else None
    if package is None or remote_id is None:
        return None
    return PackageRef(remote_id=remote_id, name=package.name, description=package.description)


def _score(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def result_to_canonical(result: WireResult) -> AssessmentResult:
    """A read-back result; a score that is not a number is kept as a text attribute."""
    outcome = result.result or WireEnum()
    status, provider_status = result_status(outcome.value, outcome.source_value)
    score = result.score or WireScore()
    attributes: tuple[ResultAttribute, ...] = ()
    if score.value is not None and _score(score.value) is None:
        attributes = (
            ResultAttribute(
                type=AttributeType.TEXT, label=score.label or "score", value=score.value
            ),
        )
    return AssessmentResult(
        status=status,
        provider_status=provider_status,
        score=_score(score.value),
        max_score=_score(score.max),
        url=result.result_url,
        started_at=result.start_date,
        completed_at=result.submission_date,
        summary=result.summary,
        attributes=attributes,
        attachments=tuple(
            Attachment(url=a.url, content_type=_content_type(a.content_type))
            for a in result.attachments or ()
        ),
    )


def _content_type(pair: WireEnum | None) -> str | None:
    """The MIME type we sent in ``source_value``; else StackOne's word."""
    if pair is not None and isinstance(pair.source_value, str) and "/" in pair.source_value:
        return pair.source_value
    return _enum_word(pair)


def _has_result(result: WireResult | None) -> bool:
    if result is None:
        return False
    written = result.model_dump(exclude={"id", "remote_id"}, exclude_none=True)
    return bool({k: v for k, v in written.items() if v != []})


def order_to_canonical(
    order: WireOrder,
    *,
    remote_id: str | None = None,
    test_url: str | None = None,
    result: WireResult | None = None,
) -> Order:
    """An order from its wire body (the POST we sent, or the 2025-02 GET).

    StackOne orders have no status: OPEN (``provider_status`` None) until a result is
    written, then the result's status. ``ValueError`` when there is no id at all.
    """
    order_id = _first(remote_id, order.id, order.remote_id)
    if order_id is None:
        msg = "order without id"
        raise ValueError(msg)
    canonical_result = result_to_canonical(result) if result and _has_result(result) else None
    status, provider_status = OrderStatus.OPEN, None
    if canonical_result is not None and canonical_result.status is not None:
        status, provider_status = canonical_result.status, canonical_result.provider_status
    application = order.application
    return Order(
        provider=ProviderName.STACKONE,
        remote_id=order_id,
        status=status,
        provider_status=provider_status,
        candidate=candidate_to_canonical(order.candidate) if order.candidate else None,
        job=job_to_canonical(order.job) if order.job else None,
        application=(
            Application(
                remote_id=_first(application.id, application.remote_id),
                status=_enum_word(application.application_status),
            )
            if application
            else None
        ),
        package=_package_ref(order.package),
        requester=member_to_canonical(order.requester) if order.requester else None,
        result=canonical_result,
        test_url=test_url,
        results_update_url=order.results_update_url,
        raw=order.model_dump(mode="json", exclude_none=True),
    )


def parse_error(status: int, body: object) -> ErrorDetail | None:
    """``{statusCode, message, timestamp}`` → ErrorDetail; None for any other body."""
    del status
    if not isinstance(body, Mapping):
        return None
    message, code = body.get("message"), body.get("statusCode")
    if isinstance(message, list) and all(isinstance(m, str) for m in message):
        message = "; ".join(message)  # request-validation errors may come as a list
    if not isinstance(message, str) or isinstance(code, bool) or not isinstance(code, int | float):
        return None
    return ErrorDetail(message=message)


# StackOne's field paths, as its validation messages name them, to the result input's.
_RESULT_FIELD = re.compile(
    r"(?<![\w.\[])(?P<name>score\.(?:value|max|min|label)|score|start_date|submission_date"
    r"|summary|result_url|result(?:\.(?:value|source_value))?"
    r"|attachments(?:\[(?P<index>\d+)\](?:\.(?P<inner>url|content_type))?)?)(?![\w])"
)
_RESULT_FIELD_NAMES = {
    "score.value": ("score",),
    "score": ("score",),
    "score.max": ("maxScore",),
    "score.min": ("minScore",),
    "score.label": ("scoreLabel",),
    "start_date": ("startedAt",),
    "submission_date": ("completedAt",),
    "summary": ("summary",),
    "result_url": ("url",),
    "result": ("status",),
    "result.value": ("status",),
    "result.source_value": ("status",),
}


def result_input_field(message: str) -> tuple[str, ...] | None:
    """The result input field a StackOne refusal names (``attachments[0].url`` ->
    ``("attachments", "0", "url")``); None when it names none."""
    found = _RESULT_FIELD.search(message)
    if found is None:
        return None
    name = found["name"]
    if name in _RESULT_FIELD_NAMES:
        return _RESULT_FIELD_NAMES[name]
    index, inner = found["index"], found["inner"]
    if index is None:
        return ("attachments",)
    if inner is None:
        return ("attachments", index)
    return ("attachments", index, "url" if inner == "url" else "contentType")
