"""Unified.to wire details: enums, writable fields, signing, ids and stored records."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ordergraph.sandbox.core import iso
from ordergraph.sandbox.data import OrderFactory

ORDER_STATUSES = ("OPEN", "IN_PROGRESS", "COMPLETED", "FAILED", "REJECTED")
PACKAGE_TYPES = (
    "SKILLS_TEST",
    "BEHAVIORAL_ASSESSMENT",
    "VIDEO_INTERVIEW",
    "BACKGROUND_CHECK",
    "REFERENCE_CHECK",
    "OTHER",
)
ATTRIBUTE_TYPES = ("TEXT", "NUMBER", "SUB_RESULT")
GENDERS = ("MALE", "FEMALE", "INTERSEX", "TRANS", "NON_BINARY")
WEBHOOK_EVENTS = ("created", "updated", "deleted")
WEBHOOK_TYPES = ("virtual", "native")
ORDER_OBJECT = "assessment_order"
# Assessment integrations named in Unified's 2026 blog post (PROVIDERS.md 1.7).
INTEGRATION_TYPES = ("greenhouse", "ashby", "workable", "recruitee", "talentlyft", "cornerstone")

# What a connection may do unless the authorization asked for other ``scopes``.
DEFAULT_PERMISSIONS = (
    "assessment_order_write",
    "assessment_package_read",
    "assessment_package_write",
    "webhook",
)

DEFAULT_LIST_LIMIT = 100
DEFAULT_PAGE_MAX_LIMIT = 100
CATALOGUE_TIME = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
# The neutral seed data says BEHAVIORAL; Unified's enum says BEHAVIORAL_ASSESSMENT.
SEED_PACKAGE_TYPES = {"BEHAVIORAL": "BEHAVIORAL_ASSESSMENT"}

# Field kinds of AssessmentOrder for validating writes.
ORDER_READ_ONLY = frozenset(
    {"id", "created_at", "updated_at", "workspace_id", "connection_id", "webhook_id"}
)
ORDER_FIELD_KINDS: dict[str, str] = {
    "package_id": "string",
    "parameters": "objects",
    "target_url": "string",
    "status": "status",
    "reference": "string",
    "application_id": "string",
    "job_id": "string",
    "company_id": "string",
    "candidate_id": "string",
    "employee_id": "string",
    "profile_name": "string",
    "profile_first_name": "string",
    "profile_last_name": "string",
    "profile_emails": "strings",
    "profile_telephones": "strings",
    "profile_social_media_urls": "strings",
    "profile_addresses": "objects",
    "profile_resume_url": "string",
    "profile_ip_address": "string",
    "profile_date_of_birth": "string",
    "profile_national_identifier": "string",
    "profile_gender": "gender",
    "response_status": "status",
    "response_score": "number",
    "response_max_score": "number",
    "response_url": "string",
    "response_redirect_url": "string",
    "response_source": "string",
    "response_completed_at": "datetime",
    "response_issued_at": "datetime",
    "response_expires_at": "datetime",
    "response_download_urls": "strings",
    "response_details": "objects",
    "response_attributes": "attributes",
    "raw": "object",
}
RESPONSE_FIELDS = frozenset(name for name in ORDER_FIELD_KINDS if name.startswith("response_"))

PACKAGE_READ_ONLY = frozenset({"created_at", "updated_at", "workspace_id", "connection_id"})
PACKAGE_FIELD_KINDS: dict[str, str] = {
    "id": "string",
    "name": "string",
    "description": "string",
    "type": "package_type",
    "aliases": "strings",
    "tags": "strings",
    "integration_types": "strings",
    "info_url": "string",
    "max_score": "number",
    "has_target_url": "bool",
    "has_redirect_url": "bool",
    "needs_ip_address": "bool",
    "parameters": "objects",
    "regions": "objects",
    "raw": "object",
}

WEBHOOK_WRITABLE: dict[str, str] = {
    "hook_url": "url",
    "event": "event",
    "webhook_type": "webhook_type",
    "interval": "number",
    "is_paused": "bool",
    "page_max_limit": "positive",
    "fields": "string",
    "filters": "string_map",
    "environment": "string",
}


def compact_json(value: Any) -> str:
    """JSON as ``JSON.stringify`` writes it: no spaces, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _js_numbers(value: Any) -> Any:
    """Integral floats as ints, as JavaScript's ``JSON.stringify`` writes them ("100",
    not "100.0"): Unified signs what its Node service serialises."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    return value


def webhook_signature(secret: str, data: Sequence[Any], nonce: str) -> str:
    """``sig`` of a delivery: base64 HMAC-SHA1 over compact ``data`` JSON + nonce.

    The serialization and the base64 encoding are our choice (PROVIDERS.md 1.7 leaves
    both unconfirmed); this is the only place the simulator makes it.
    """
    message = (compact_json(_js_numbers(list(data))) + nonce).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def derive(seed: int, label: str, length: int = 24) -> str:
    """A deterministic hex id (Unified ids are 24 hex characters)."""
    return hashlib.sha256(f"unified:{seed}:{label}".encode()).hexdigest()[:length]


# National identifiers in formats that are never issued: the US SSA reserves
# 987-65-4320..4329 for examples, HMRC never issues the QQ prefix; elsewhere a plain
# number. The IP addresses come from the documentation ranges (RFC 5737).
_NATIONAL_ID_FORMATS: dict[str, Callable[[int], str]] = {
    "US": lambda n: f"987-65-432{n % 10}",
    "GB": lambda n: f"QQ{n % 1_000_000:06d}C",
}
_DOCUMENTATION_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")


def _plain_national_id(n: int) -> str:
    return f"{n % 10**9:09d}"


def seeded_sensitive_profile(candidate_id: str, country: str) -> dict[str, str]:
    """The ATS's sensitive candidate fields, fixed per candidate id.

    Derived from a hash of the id, not drawn from the factory's random stream, so the
    rest of the seeded data is the same with and without these fields.
    """
    n = int(hashlib.sha256(candidate_id.encode()).hexdigest()[:12], 16)
    year, month, day = 1965 + n % 38, 1 + (n >> 8) % 12, 1 + (n >> 12) % 28
    national_id = _NATIONAL_ID_FORMATS.get(country, _plain_national_id)(n >> 16)
    return {
        "profile_date_of_birth": f"{year:04d}-{month:02d}-{day:02d}",
        "profile_national_identifier": national_id,
        "profile_ip_address": f"{_DOCUMENTATION_NETWORKS[n % 3]}.{1 + (n >> 20) % 254}",
        "profile_gender": GENDERS[(n >> 28) % len(GENDERS)],
    }


def now_iso() -> str:
    return iso(datetime.now(UTC)) or ""


def pages(items: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass
class StoredOrder:
    """An order's wire form plus the change counters virtual webhooks compare."""

    wire: dict[str, Any]
    created_rev: int = 0
    rev: int = 0


@dataclass
class Connection:
    """One customer's assessment connection: its orders and published packages."""

    id: str
    integration_type: str
    factory: OrderFactory
    orders: dict[str, StoredOrder] = field(default_factory=dict)
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The ``Connection`` object ``/unified/connection`` serves (credentials left out).
    record: dict[str, Any] = field(default_factory=dict)
