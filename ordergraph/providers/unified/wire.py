"""Unified.to's wire models (pydantic), as the assessment API and its webhooks send them.

They never leave this package.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

ORDER_OBJECT = "assessment_order"
GENDERS = frozenset({"MALE", "FEMALE", "INTERSEX", "TRANS", "NON_BINARY"})


class _Wire(BaseModel):
    # Lenient on purpose: Unified may add fields and enum values ("unknown values
    # allowed" in the spec); mapping decides what they mean, validation only shape.
    model_config = ConfigDict(extra="ignore", frozen=True)


class UnifiedAddress(_Wire):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    region: str | None = None
    region_code: str | None = None
    postal_code: str | None = None
    country: str | None = None
    country_code: str | None = None


class UnifiedAttribute(_Wire):
    type: str
    label: str
    value: str | None = None
    score_value: float | None = None
    score_max: float | None = None
    status: str | None = None
    reference: str | None = None


class UnifiedResponseDetail(_Wire):
    title: str | None = None
    text: str | None = None
    download_url: str | None = None
    parameter_id: str | None = None
    is_private: bool | None = None
    is_failed_reason: bool | None = None


class UnifiedOrder(_Wire):
    """``AssessmentOrder`` as read (writes are built as plain dicts)."""

    id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    workspace_id: str | None = None
    connection_id: str | None = None
    webhook_id: str | None = None
    package_id: str | None = None
    target_url: str | None = None
    status: str | None = None
    reference: str | None = None
    application_id: str | None = None
    job_id: str | None = None
    company_id: str | None = None
    candidate_id: str | None = None
    employee_id: str | None = None
    profile_name: str | None = None
    profile_first_name: str | None = None
    profile_last_name: str | None = None
    profile_emails: list[str] | None = None
    profile_telephones: list[str] | None = None
    profile_social_media_urls: list[str] | None = None
    profile_addresses: list[UnifiedAddress] | None = None
    profile_resume_url: str | None = None
    profile_ip_address: str | None = None
    profile_date_of_birth: str | None = None
    profile_national_identifier: str | None = None
    profile_gender: str | None = None
    response_status: str | None = None
    response_score: float | None = None
    response_max_score: float | None = None
    response_url: str | None = None
    response_redirect_url: str | None = None
    response_source: str | None = None
    response_completed_at: datetime | None = None
    response_issued_at: datetime | None = None
    response_expires_at: datetime | None = None
    response_download_urls: list[str] | None = None
    response_details: list[UnifiedResponseDetail] | None = None
    response_attributes: list[UnifiedAttribute] | None = None
    raw: dict[str, Any] | None = None


class UnifiedPackage(_Wire):
    """``AssessmentPackage`` as read."""

    id: str
    name: str | None = None
    description: str | None = None
    type: str | None = None
    workspace_id: str | None = None
    connection_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class UnifiedWebhook(_Wire):
    """``Webhook`` subscription as read."""

    id: str | None = None
    connection_id: str
    object_type: str
    event: str
    hook_url: str | None = None
    webhook_type: str | None = None
    workspace_id: str | None = None


class UnifiedDelivery(_Wire):
    """The body Unified POSTs to a ``hook_url``."""

    data: list[UnifiedOrder]
    webhook: UnifiedWebhook
    nonce: str
    sig: str
    type: str


_PACKAGE_LIST: TypeAdapter[list[UnifiedPackage]] = TypeAdapter(list[UnifiedPackage])
