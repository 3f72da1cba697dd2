"""Kombo's wire models (pydantic), as the Assessment API sends them, and its limits.

Lenient on keys Kombo adds later; status and enum-like values are plain strings
so an unknown value never fails a whole page. They never leave this package.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_PAGE_SIZE = 250


class _Wire(BaseModel):
    # Lenient on keys Kombo adds later; values keep their documented types. Status and
    # enum-like strings are plain ``str`` so an unknown value never fails a whole page.
    model_config = ConfigDict(extra="ignore", frozen=True)


class KomboCandidate(_Wire):
    remote_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class KomboApplication(_Wire):
    remote_id: str | None = None


class KomboLocation(_Wire):
    street_1: str | None = None
    street_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None
    raw: str | None = None


class KomboHiringMember(_Wire):
    remote_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    hiring_team_roles: list[str] = Field(default_factory=list)


class KomboJob(_Wire):
    remote_id: str | None = None
    name: str | None = None
    job_code: str | None = None
    description: str | None = None
    location: KomboLocation | None = None
    hiring_team: list[KomboHiringMember] = Field(default_factory=list)


class KomboOrder(_Wire):
    """An item of ``GET /assessment/orders`` (``status`` is absent on ``/orders/open``)."""

    id: str
    package_id: str
    status: str | None = None
    candidate: KomboCandidate
    application: KomboApplication
    job: KomboJob


class KomboWebhookOrder(KomboOrder):
    integration_id: str


class KomboOrdersData(_Wire):
    next: str | None = None
    results: list[KomboOrder]


class KomboOrdersResponse(_Wire):
    data: KomboOrdersData


class KomboPackage(_Wire):
    id: str
    name: str | None = None
    description: str | None = None
    updated_at: datetime | None = None
    type: str | None = None


class KomboPackagesData(_Wire):
    packages: list[KomboPackage]


class KomboPackagesResponse(_Wire):
    data: KomboPackagesData


class KomboWarning(_Wire):
    message: str


class KomboWriteResponse(_Wire):
    warnings: list[KomboWarning] = Field(default_factory=list)


class KomboWebhookEvent(_Wire):
    id: str
    type: str
    data: dict[str, Any]
