"""StackOne's wire models (read side; vendors add fields, so extras are ignored), its
API versions and limits. They never leave this package.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

PREFIX = "/unified/ats/assessments"
CURRENT_API_VERSION = "2025-12-03"
# The last version with order reads (GET …/orders/{id} and …/results).
LEGACY_API_VERSION = "2025-02-24"
API_VERSIONS = (CURRENT_API_VERSION, LEGACY_API_VERSION)
PACKAGE_PAGE_SIZE = 50
# How many order reads ``get_orders`` keeps in flight at once.
READ_CONCURRENCY = 8


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WirePackage(_Wire):
    id: str | None = None
    remote_id: str | None = None
    name: str | None = None
    description: str | None = None


class WirePackagePage(_Wire):
    data: list[WirePackage]
    next: str | None = None


class WireCreated(_Wire):
    id: str | None = None
    remote_id: str | None = None
    test_url: str | None = None


class WireEnum(_Wire):
    """StackOne's ``{value, source_value}`` pair (result, content type, application status)."""

    value: str | None = None
    source_value: Any = None


class WireEmail(_Wire):
    type: str | None = None
    value: str | None = None


class WireCandidate(_Wire):
    id: str | None = None
    remote_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    emails: list[WireEmail] | None = None
    profile_url: str | None = None


class WireMember(_Wire):
    user_id: str | None = None
    remote_user_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    role: str | None = None


class WireJob(_Wire):
    id: str | None = None
    remote_id: str | None = None
    title: str | None = None
    hiring_team: list[WireMember] | None = None


class WireApplication(_Wire):
    id: str | None = None
    remote_id: str | None = None
    application_status: WireEnum | None = None


class WireOrder(_Wire):
    """The order body: what we POST, and the 2025-02 ``AssessmentOrder``."""

    id: str | None = None
    remote_id: str | None = None
    package: WirePackage | None = None
    application: WireApplication | None = None
    job: WireJob | None = None
    candidate: WireCandidate | None = None
    requester: WireMember | None = None
    results_update_url: str | None = None


class WireScore(_Wire):
    label: str | None = None
    value: str | None = None
    min: str | None = None
    max: str | None = None


class WireAttachment(_Wire):
    url: str | None = None
    content_type: WireEnum | None = None


class WireResult(_Wire):
    """The 2025-02 ``AssessmentResult``."""

    id: str | None = None
    remote_id: str | None = None
    score: WireScore | None = None
    start_date: datetime | None = None
    submission_date: datetime | None = None
    summary: str | None = None
    result: WireEnum | None = None
    result_url: str | None = None
    attachments: list[WireAttachment] | None = None


class _Data(_Wire):
    data: Any
