"""StackOne wire details: enums, request-body shapes and their checks, cursors."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

PREFIX = "/unified/ats/assessments"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100

# ResultEnum.value and AttachmentContentType.value in the 2025-12 spec.
RESULT_VALUES = frozenset(
    {"initiated", "in_progress", "cancelled", "completed", "expired", "failed", "passed",
     "unmapped_value"}
)  # fmt: skip
CONTENT_TYPE_VALUES = frozenset({"text", "pdf", "video", "other", "unmapped_value"})
APPLICATION_STATUS_VALUES = frozenset(
    {"active", "assessment", "background_check", "converted", "declined_by_candidate", "hired",
     "interview", "lead", "offer", "reference_check", "rejected", "review", "screen", "new",
     "onboarding", "created", "accepted", "short_list", "approved", "unmapped_value"}
)  # fmt: skip
# The narrower enums of the 2025-02 spec, which documents the legacy GETs.
LEGACY_RESULT_VALUES = frozenset({"cancelled", "completed", "expired", "failed", "passed"})
LEGACY_CONTENT_TYPE_VALUES = frozenset({"text", "unmapped_value"})

# --- request-body shapes ---------------------------------------------------------------
# A shape is a kind name, an enum (frozenset), a nested object shape (dict) or an
# array of one shape (list). ``None`` is accepted everywhere: every field is nullable.
Shape = str | frozenset[str] | dict[str, Any] | list[Any]
_S, _DATE, _OBJ, _ANY = "string", "date-time", "object", "any"
_MEMBER: dict[str, Shape] = {
    "user_id": _S, "remote_user_id": _S, "first_name": _S, "last_name": _S, "email": _S,
    "role": _S,
}  # fmt: skip
_PACKAGE: dict[str, Shape] = {"id": _S, "remote_id": _S, "name": _S, "description": _S}
ORDER_SHAPE: dict[str, Shape] = {
    "id": _S,
    "package": _PACKAGE,
    "application": {
        "id": _S, "remote_id": _S, "passthrough": _OBJ,
        "application_status": {"value": APPLICATION_STATUS_VALUES, "source_value": _ANY},
    },
    "job": {"id": _S, "remote_id": _S, "title": _S, "hiring_team": [_MEMBER], "passthrough": _OBJ},
    "candidate": {
        "id": _S, "remote_id": _S, "first_name": _S, "last_name": _S, "profile_url": _S,
        "emails": [{"type": _S, "value": _S}], "passthrough": _OBJ,
    },
    "requester": _MEMBER,
    "results_update_url": _S,
    "passthrough": _OBJ,
}  # fmt: skip
RESULT_SHAPE: dict[str, Shape] = {
    "score": {"label": _S, "value": _S, "min": _S, "max": _S},
    "start_date": _DATE,
    "submission_date": _DATE,
    "summary": _S,
    "result": {"value": RESULT_VALUES, "source_value": _ANY},
    "result_url": _S,
    "attachments": [
        {"url": _S, "content_type": {"value": CONTENT_TYPE_VALUES, "source_value": _ANY}}
    ],
    "candidate": {"id": _S, "profile_url": _S},
    "passthrough": _OBJ,
}  # fmt: skip


class BodyError(ValueError):
    """A request body StackOne's validation would refuse (→ 400)."""


class UnknownPackageError(ValueError):
    """The order names a package the account does not offer (→ 422)."""


def _is_date_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _scalar_problem(value: Any, kind: str | frozenset[str], where: str) -> str | None:
    if isinstance(kind, frozenset):
        if not isinstance(value, str) or value not in kind:
            return f"{where} must be one of the following values: {', '.join(sorted(kind))}"
        return None
    if kind == _ANY:
        return None
    if kind == _OBJ:
        return None if isinstance(value, dict) else f"{where} must be an object"
    if not isinstance(value, str):
        return f"{where} must be a string"
    if kind == _DATE and not _is_date_time(value):
        return f"{where} must be a valid ISO 8601 date string"
    return None


def shape_problem(value: Any, shape: Shape, where: str = "body") -> str | None:
    """The first way ``value`` breaks ``shape`` (a message as StackOne words it), or None."""
    if value is None:
        return None
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where} must be an object"
        for name, inner in shape.items():
            path = name if where == "body" else f"{where}.{name}"
            problem = shape_problem(value.get(name), inner, path)
            if problem:
                return problem
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where} must be an array"
        for index, item in enumerate(value):
            problem = shape_problem(item, shape[0], f"{where}[{index}]")
            if problem:
                return problem
        return None
    return _scalar_problem(value, shape, where)


def compact(value: Any) -> Any:
    """Drop ``None`` members recursively (3.1 schemas refuse ``null`` for typed fields)."""
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [compact(v) for v in value if v is not None]
    return value


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def encode_cursor(offset: int) -> str:
    return b64(json.dumps({"offset": offset}))


def decode_cursor(cursor: str) -> int:
    """The offset in an opaque cursor; ``ValueError`` when it is not one of ours."""
    try:
        offset = json.loads(_unb64(cursor))["offset"]
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(cursor) from exc
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(cursor)
    return offset
