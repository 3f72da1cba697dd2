"""Unified.to request checks: body field kinds, query parameters and the API error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ordergraph.sandbox.unified.wire import (
    ATTRIBUTE_TYPES,
    GENDERS,
    ORDER_STATUSES,
    PACKAGE_TYPES,
    WEBHOOK_EVENTS,
    WEBHOOK_TYPES,
)


class ApiError(Exception):
    """Raised by handlers; the vendor middleware turns it into the error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- request body checks ----------------------------------------------------------------


def _valid_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _valid_attributes(value: object) -> bool:
    if not isinstance(value, list):
        return False
    return all(
        isinstance(item, dict)
        and item.get("type") in ATTRIBUTE_TYPES
        and isinstance(item.get("label"), str)
        for item in value
    )


_KIND_CHECKS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "url": lambda v: isinstance(v, str) and v.startswith(("http://", "https://")),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "positive": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 1,
    "bool": lambda v: isinstance(v, bool),
    "strings": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    "objects": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
    "object": lambda v: isinstance(v, dict),
    "string_map": lambda v: isinstance(v, dict) and all(isinstance(i, str) for i in v.values()),
    "status": lambda v: v in ORDER_STATUSES,
    "gender": lambda v: v in GENDERS,
    "package_type": lambda v: v in PACKAGE_TYPES,
    "event": lambda v: v in WEBHOOK_EVENTS,
    "webhook_type": lambda v: v in WEBHOOK_TYPES,
    "datetime": _valid_datetime,
    "attributes": _valid_attributes,
}


def check_fields(
    body: Mapping[str, Any], kinds: Mapping[str, str], read_only: frozenset[str]
) -> dict[str, Any]:
    """The writable fields of ``body``; 400 on an unknown field or a wrong type."""
    unknown = sorted(set(body) - set(kinds) - read_only)
    if unknown:
        raise ApiError(400, f"Unknown field(s): {', '.join(unknown)}")
    writable: dict[str, Any] = {}
    for name, value in body.items():
        if name in read_only:
            continue
        if value is not None and not _KIND_CHECKS[kinds[name]](value):
            raise ApiError(400, f"Invalid value for {name}")
        writable[name] = value
    return writable


def merge(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Apply changes; an explicit ``null`` removes the field."""
    for name, value in changes.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "Body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "Body must be a JSON object")
    return body


def query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(float(raw))
    except ValueError as exc:
        raise ApiError(400, f"{name} must be a number") from exc
    if value < 0:
        raise ApiError(400, f"{name} must not be negative")
    return value


def query_bool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1", "yes")


def time_filter(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an ISO-8601 date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def allow_header(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
