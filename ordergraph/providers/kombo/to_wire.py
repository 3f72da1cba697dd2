"""Canonical -> Kombo wire: results and packages as Kombo takes them, and the result
input field a Kombo refusal names (rules in the package docstring).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from ordergraph.models import (
    AttributeType,
    OrderStatus,
    Package,
    ResultAttribute,
    ResultSubmission,
)
from ordergraph.providers.kombo.mapping import _KOMBO_PACKAGE_TYPES, format_datetime

MAX_ATTACHMENTS = 5
_CONTENT_TYPE = re.compile(r"^[\w.-]+/[\w.-]+$")
_RESULT_STATUS = {
    OrderStatus.OPEN: "OPEN",
    OrderStatus.IN_PROGRESS: "OPEN",
    OrderStatus.COMPLETED: "COMPLETED",
    OrderStatus.FAILED: "COMPLETED",
    OrderStatus.CANCELLED: "CANCELLED",
    OrderStatus.REJECTED: "CANCELLED",
    OrderStatus.EXPIRED: "CANCELLED",
}
# Canonical statuses Kombo's result status cannot say: kept in a TEXT attribute.
_STATUS_WORDS = {
    OrderStatus.IN_PROGRESS: "In progress",
    OrderStatus.FAILED: "Failed",
    OrderStatus.REJECTED: "Rejected",
    OrderStatus.EXPIRED: "Expired",
}
_SUB_RESULT_STATUS = {
    OrderStatus.COMPLETED: "COMPLETED",
    OrderStatus.FAILED: "COMPLETED",
    OrderStatus.CANCELLED: "CANCELLED",
    OrderStatus.REJECTED: "CANCELLED",
    OrderStatus.EXPIRED: "CANCELLED",
}


def _number(value: float) -> str:
    """90.0 -> "90", 4.5 -> "4.5" (no exponent notation)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _score_text(attribute: ResultAttribute) -> str | None:
    if attribute.value is not None:
        return attribute.value
    if attribute.score is None:
        return None
    text = _number(attribute.score)
    if attribute.max_score is not None:
        text += f" / {_number(attribute.max_score)}"
    return text


def _attribute_to_wire(attribute: ResultAttribute, overall: str) -> dict[str, Any] | None:
    """One Kombo attribute; None when there is nothing to say."""
    if (
        attribute.type is AttributeType.SUB_RESULT
        and attribute.score is not None
        and attribute.max_score is not None
        and attribute.max_score >= 1
    ):
        # A sub-result without its own (expressible) status shares the overall one.
        status = overall if overall in ("COMPLETED", "CANCELLED") else "COMPLETED"
        if attribute.status is not None:
            status = _SUB_RESULT_STATUS.get(attribute.status, status)
        return {
            "type": "SUB_RESULT",
            "id": attribute.reference or attribute.label,
            "label": attribute.label,
            "score": {"value": attribute.score, "max": attribute.max_score},
            "status": status,
        }
    # TEXT, NUMBER and sub-results Kombo cannot take as such are rendered as text.
    text = _score_text(attribute)
    if text is None:
        return None
    return {"type": "TEXT", "label": attribute.label, "value": text}


def _attachment_name(url: str, name: str | None, number: int) -> str:
    if name:
        return name
    return PurePosixPath(urlparse(url).path).name or f"attachment-{number}"


def _is_absolute_uri(value: str) -> bool:
    """The spec's ``format: uri``: a scheme and a host, nothing that needs escaping."""
    if any(c.isspace() for c in value):
        return False
    try:
        parts = urlparse(value)
    except ValueError:
        return False
    return bool(parts.scheme) and bool(parts.netloc)


def _attachments_to_wire(result: ResultSubmission) -> list[dict[str, Any]]:
    """Attachments by URL (Kombo fetches ``data_url`` at once); one without a URL has
    no content to send and is skipped."""
    usable = [(a.url, a) for a in result.attachments if a.url]
    if len(usable) > MAX_ATTACHMENTS:
        msg = f"Kombo takes at most {MAX_ATTACHMENTS} attachments per result, got {len(usable)}"
        raise ValueError(msg)
    for index, attachment in enumerate(result.attachments):
        if attachment.url and not _is_absolute_uri(attachment.url):
            msg = f"attachments.{index}.data_url must be an absolute URI"
            raise ValueError(msg)
    wire = []
    for number, (url, attachment) in enumerate(usable, start=1):
        item: dict[str, Any] = {
            "name": _attachment_name(url, attachment.name, number),
            "data_url": url,
        }
        # Kombo's pattern is type/subtype; anything else is left out rather than refused.
        if attachment.content_type and _CONTENT_TYPE.match(attachment.content_type):
            item["content_type"] = attachment.content_type
        wire.append(item)
    return wire


def result_to_wire(result: ResultSubmission, *, now: datetime | None = None) -> dict[str, Any]:
    """The body of ``PUT /assessment/orders/{id}/result`` (rules in the module docstring).

    ``now`` stands in for a missing ``completed_at`` on a COMPLETED/CANCELLED result.
    """
    status = _RESULT_STATUS.get(result.status)
    if status is None:
        msg = f"cannot send a result with status {result.status} to Kombo"
        raise ValueError(msg)
    if not _is_absolute_uri(result.url):
        msg = "result_url must be an absolute URI"
        raise ValueError(msg)
    body: dict[str, Any] = {"status": status, "result_url": result.url}
    completed_at = result.completed_at
    if completed_at is None and status != "OPEN":
        completed_at = now or datetime.now(UTC)
    if completed_at is not None:
        body["completed_at"] = format_datetime(completed_at)
    if result.score is not None:
        body["score"] = result.score
    if result.max_score is not None:
        body["max_score"] = result.max_score
    attributes: list[dict[str, Any]] = []
    if result.status in _STATUS_WORDS:
        attributes.append(
            {"type": "TEXT", "label": "Status", "value": _STATUS_WORDS[result.status]}
        )
    if result.summary:
        attributes.append({"type": "TEXT", "label": "Summary", "value": result.summary})
    for attribute in result.attributes:
        wire = _attribute_to_wire(attribute, status)
        if wire is not None:
            attributes.append(wire)
    body["attributes"] = attributes
    body["attachments"] = _attachments_to_wire(result)
    if result.score_label:
        body["remote_fields"] = {"smartrecruiters": {"scoreLabel": result.score_label}}
    return body


# Kombo's field paths, as its validation messages name them, to the result input's.
_RESULT_FIELD = re.compile(
    r"(?<![\w.])(?P<name>result_url|max_score|score|completed_at|status|remote_fields"
    r"|attributes|attachments)(?:\.(?P<index>\d+))?(?:\.(?P<inner>\w+))?"
)
_RESULT_FIELD_NAMES = {
    "result_url": ("url",),
    "max_score": ("maxScore",),
    "score": ("score",),
    "completed_at": ("completedAt",),
    "status": ("status",),
    "remote_fields": ("scoreLabel",),
}


def result_input_field(message: str) -> tuple[str, ...] | None:
    """The result input field a Kombo refusal (or our own check) names: the first of
    Kombo's result fields in ``message`` (``attachments.0.data_url`` ->
    ``("attachments", "0", "url")``); None when it names none."""
    found = _RESULT_FIELD.search(message)
    if found is None:
        return None
    name, index = found["name"], found["index"]
    if name in _RESULT_FIELD_NAMES:
        return _RESULT_FIELD_NAMES[name]
    if index is None:
        return (name,)
    if name == "attachments" and found["inner"] == "data_url":
        return (name, index, "url")
    return (name, index)


_CANONICAL_PACKAGE_TYPES = {canonical: raw for raw, canonical in _KOMBO_PACKAGE_TYPES.items()}


def package_to_wire(package: Package) -> dict[str, Any]:
    """An item of ``PUT /assessment/packages``; Kombo needs a name and one of its types."""
    kind = _CANONICAL_PACKAGE_TYPES.get(package.type) if package.type else None
    if kind is None:
        msg = f"package {package.remote_id!r}: Kombo needs one of {sorted(_KOMBO_PACKAGE_TYPES)}"
        raise ValueError(msg)
    if not package.name:
        msg = f"package {package.remote_id!r}: Kombo needs a name"
        raise ValueError(msg)
    return {
        "id": package.remote_id,
        "type": kind,
        "name": package.name,
        "description": package.description or "",
    }
