"""Canonical -> StackOne wire: new orders, results and attachments as StackOne takes
them (``_compact`` drops what is unset).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ordergraph.models import (
    Application,
    Attachment,
    Candidate,
    HiringTeamMember,
    Job,
    NewOrder,
    PackageRef,
    ResultSubmission,
)
from ordergraph.providers.stackone.mapping import _APPLICATION_STATUSES, _STATUS_TO_WIRE, _UNMAPPED


def _compact(value: Any) -> Any:
    """Drop ``None`` and empty containers recursively (never send ``null``: see docstring)."""
    if isinstance(value, dict):
        pairs = ((k, _compact(v)) for k, v in value.items())
        return {k: v for k, v in pairs if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_compact(v) for v in value if v is not None]
    return value


def _iso(moment: datetime | None) -> str | None:
    """``2021-01-01T01:01:01.000Z`` as in the spec's examples; naive times count as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_score(number: float | None) -> str | None:
    """A score as StackOne's string: "100", "87.5", "0.0001" (never "1e-04" or "100.0")."""
    if number is None:
        return None
    if not math.isfinite(number):
        msg = f"score must be a finite number, not {number!r}"
        raise ValueError(msg)
    if float(number).is_integer():
        return str(int(number))
    return format(Decimal(repr(float(number))), "f")


def package_ref_to_wire(package: PackageRef) -> dict[str, Any]:
    return {"id": package.remote_id, "name": package.name, "description": package.description}


def member_to_wire(member: HiringTeamMember) -> dict[str, Any]:
    return {
        "user_id": member.remote_id,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "role": ", ".join(member.roles) or None,
    }


def candidate_to_wire(candidate: Candidate) -> dict[str, Any]:
    return {
        "id": candidate.remote_id,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        # StackOne's emails carry a ``type``; we do not know it, so none is sent.
        "emails": [{"value": email} for email in candidate.emails],
        "profile_url": candidate.profile_url,
    }


def job_to_wire(job: Job) -> dict[str, Any]:
    return {
        "id": job.remote_id,
        "title": job.title,
        "hiring_team": [member_to_wire(m) for m in job.hiring_team],
    }


def application_to_wire(application: Application) -> dict[str, Any]:
    status = application.status
    if status is None:
        application_status = None
    elif status in _APPLICATION_STATUSES:
        application_status = {"value": status}
    else:
        application_status = {"value": _UNMAPPED, "source_value": status}
    return {"id": application.remote_id, "application_status": application_status}


def new_order_to_wire(order: NewOrder) -> dict[str, Any]:
    """``AtsCreateCandidatesAssessmentsRequestDto`` for a new order (no ``target_url`` field)."""
    wire: dict[str, Any] = _compact(
        {
            "package": package_ref_to_wire(order.package),
            "application": application_to_wire(order.application) if order.application else None,
            "job": job_to_wire(order.job) if order.job else None,
            "candidate": candidate_to_wire(order.candidate),
            "requester": member_to_wire(order.requester) if order.requester else None,
            "results_update_url": order.results_update_url,
        }
    )
    return wire


_CONTENT_TYPE_PREFIXES = (("text/", "text"), ("video/", "video"), ("application/pdf", "pdf"))
_CONTENT_TYPE_WORDS = frozenset({"text", "pdf", "video", "other"})


def attachment_to_wire(attachment: Attachment) -> dict[str, Any]:
    """``{url, content_type: {value, source_value}}``: StackOne's word (``other`` when it
    has none) and the MIME type itself, so a read back gives the MIME type again."""
    mime = attachment.content_type
    content_type: dict[str, Any] | None = None
    if mime:
        lowered = mime.lower()
        if lowered in _CONTENT_TYPE_WORDS:
            content_type = {"value": lowered}  # a word, not a MIME type: nothing to keep
        else:
            value = next((w for p, w in _CONTENT_TYPE_PREFIXES if lowered.startswith(p)), None)
            content_type = {"value": value or "other", "source_value": mime}
    return {"url": attachment.url, "content_type": content_type}


def result_to_wire(result: ResultSubmission) -> dict[str, Any]:
    """``AtsUpdateCandidatesAssessmentsResultsRequestDto`` for a result (scores as strings)."""
    wire_value = _STATUS_TO_WIRE.get(result.status)
    outcome = (
        {"value": wire_value}
        if wire_value
        else {"value": _UNMAPPED, "source_value": result.status.value}
    )
    wire: dict[str, Any] = _compact(
        {
            "score": {
                "label": result.score_label,
                "value": format_score(result.score),
                "min": format_score(result.min_score),
                "max": format_score(result.max_score),
            },
            "start_date": _iso(result.started_at),
            "submission_date": _iso(result.completed_at),
            "summary": result.summary,
            "result": outcome,
            "result_url": result.url,
            "attachments": [attachment_to_wire(a) for a in result.attachments],
        }
    )
    return wire
