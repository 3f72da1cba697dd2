"""StackOne stored orders and their wire forms (order bodies, legacy result reads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ordergraph.sandbox.core import iso
from ordergraph.sandbox.data import SeedHiringMember, SeedOrder
from ordergraph.sandbox.stackone.shapes import LEGACY_CONTENT_TYPE_VALUES, LEGACY_RESULT_VALUES


@dataclass
class StoredOrder:
    """An order as posted, what StackOne answered, and the result written so far."""

    id: str
    remote_id: str
    test_url: str
    body: dict[str, Any]
    result: dict[str, Any] | None = None

    @property
    def status(self) -> str | None:
        """The latest ``result.value``; None until a result is written."""
        result = (self.result or {}).get("result") or {}
        value = result.get("value")
        return value if isinstance(value, str) else None


# --- helpers ---------------------------------------------------------------------------


def now_iso() -> str:
    return iso(datetime.now(UTC), millis=True) or ""


def requested_fields(request: web.Request) -> list[str] | None:
    raw = request.query.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def project(item: Mapping[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return {k: v for k, v in item.items() if fields is None or k in fields}


def wants_raw(request: web.Request) -> bool:
    return request.query.get("raw", "").lower() == "true"


def legacy_result(order: StoredOrder) -> dict[str, Any]:
    """The 2025-02 ``AssessmentResult`` for an order (see the module docstring on enums)."""
    result = dict(order.result or {})
    candidate = order.body.get("candidate") or {}
    wire: dict[str, Any] = {
        "id": order.id,
        "remote_id": order.remote_id,
        "candidate": {
            "id": candidate.get("id"),
            "remote_id": candidate.get("remote_id"),
            "profile_url": candidate.get("profile_url"),
        },
    }
    for key in ("score", "start_date", "submission_date", "summary", "result_url"):
        wire[key] = result.get(key)
    outcome = result.get("result")
    if isinstance(outcome, dict):
        value = outcome.get("value")
        if value is not None and value not in LEGACY_RESULT_VALUES:
            source = outcome.get("source_value")
            outcome = {"source_value": source if source is not None else value}
        wire["result"] = outcome
    wire["attachments"] = [_legacy_attachment(a) for a in result.get("attachments") or [] if a]
    return wire


def _legacy_attachment(attachment: Mapping[str, Any]) -> dict[str, Any]:
    content_type = attachment.get("content_type")
    if isinstance(content_type, dict):
        value = content_type.get("value")
        if value is not None and value not in LEGACY_CONTENT_TYPE_VALUES:
            source = content_type.get("source_value")
            content_type = {
                "value": "unmapped_value",
                "source_value": source if source is not None else value,
            }
    return {"url": attachment.get("url"), "content_type": content_type}


def _member(member: SeedHiringMember) -> dict[str, Any]:
    return {
        "user_id": member.remote_id,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "role": ", ".join(member.roles),
    }


def order_body(seed: SeedOrder, packages: list[dict[str, str]]) -> dict[str, Any]:
    """The POST body an ATS would send for a neutral seed order."""
    package = next(p for p in packages if p["remote_id"] == seed.package.id)
    return {
        "package": {
            "id": package["id"],
            "name": package["name"],
            "description": package["description"],
        },
        "application": {"id": seed.application_id, "application_status": {"value": "assessment"}},
        "job": {
            "id": seed.job.remote_id,
            "title": seed.job.title,
            "hiring_team": [_member(m) for m in seed.job.hiring_team],
        },
        "candidate": {
            "id": seed.candidate.remote_id,
            "first_name": seed.candidate.first_name,
            "last_name": seed.candidate.last_name,
            "emails": [{"type": "personal", "value": seed.candidate.email}],
            "profile_url": seed.candidate.profile_url,
        },
        "requester": _member(seed.requester),
    }
