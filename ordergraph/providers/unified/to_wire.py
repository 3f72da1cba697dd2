"""Canonical -> Unified.to wire: results, new orders and packages as Unified takes
them, and the result input field a refusal names.
"""

from __future__ import annotations

from typing import Any

from ordergraph.models import (
    Address,
    NewOrder,
    Package,
    ResultAttribute,
    ResultSubmission,
)
from ordergraph.providers.unified.mapping import (
    _PACKAGE_TYPE_TO_WIRE,
    _compact,
    _wire_time,
    status_to_wire,
)
from ordergraph.providers.unified.wire import GENDERS


def _attribute_to_wire(attribute: ResultAttribute) -> dict[str, Any]:
    return _compact(
        {
            "type": attribute.type.value,
            "label": attribute.label,
            "value": attribute.value,
            "score_value": attribute.score,
            "score_max": attribute.max_score,
            "status": None if attribute.status is None else status_to_wire(attribute.status),
            "reference": attribute.reference,
        }
    )


def result_to_wire(result: ResultSubmission) -> dict[str, Any]:
    """The result fields of an order PATCH; ``ValueError`` for a status Unified lacks."""
    status = status_to_wire(result.status)
    details = [{"title": "Summary", "text": result.summary}] if result.summary else None
    return _compact(
        {
            "status": status,
            "response_status": status,
            "response_score": result.score,
            "response_max_score": result.max_score,
            "response_url": result.url,
            "response_completed_at": (
                None if result.completed_at is None else _wire_time(result.completed_at)
            ),
            "response_attributes": [_attribute_to_wire(a) for a in result.attributes],
            "response_download_urls": [a.url for a in result.attachments if a.url],
            "response_details": details,
        }
    )


# The result input field behind each Unified order field a result writes (see
# ``result_to_wire``): Unified's refusals (``{"error", "message"}``, README "Provider
# details we had to choose") name the order field in ``message``, e.g. "Invalid value
# for response_score"; ``status_to_wire``'s "Unified has no order status for …" names
# ``status``.
_RESULT_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "response_status": ("status",),
    "response_score": ("score",),
    "response_max_score": ("maxScore",),
    "response_url": ("url",),
    "response_completed_at": ("completedAt",),
    "response_attributes": ("attributes",),
    "response_download_urls": ("attachments",),
    "response_details": ("summary",),
}


def result_input_field(message: str) -> tuple[str, ...] | None:
    """The result input field a Unified refusal (or our own ``check_result``) names: the
    first of the order's result fields that ``message`` mentions as a whole word; None
    when it names none (an unknown connection, a body that is not JSON, …)."""
    # Words are runs of letters, digits and underscores, so "response_max_score" is one
    # word and never read as "score".
    words = "".join(c if c.isalnum() or c == "_" else " " for c in message).split()
    for word in words:
        if word in _RESULT_FIELD_NAMES:
            return _RESULT_FIELD_NAMES[word]
    return None


def _address_to_wire(address: Address) -> dict[str, Any]:
    return _compact(
        {
            "address1": address.street_1,
            "address2": address.street_2,
            "city": address.city,
            "region": address.region,
            "postal_code": address.postal_code,
            "country": address.country,
        }
    )


def new_order_to_wire(
    order: NewOrder, *, connection_id: str, workspace_id: str | None
) -> dict[str, Any]:
    """The body of ``POST …/order``. Requester, job details and ``results_update_url``
    have no Unified field and are not sent."""
    candidate = order.candidate
    gender = (candidate.gender or "").upper()
    return _compact(
        {
            "workspace_id": workspace_id,
            "connection_id": connection_id,
            "package_id": order.package.remote_id,
            "candidate_id": candidate.remote_id,
            "profile_first_name": candidate.first_name,
            "profile_last_name": candidate.last_name,
            "profile_name": candidate.name,
            "profile_emails": list(candidate.emails),
            "profile_telephones": list(candidate.phones),
            "profile_resume_url": candidate.profile_url,
            "profile_date_of_birth": candidate.date_of_birth,
            "profile_national_identifier": candidate.national_identifier,
            "profile_ip_address": candidate.ip_address,
            # Unified's gender is an enum; another provider's wording is not sent.
            "profile_gender": gender if gender in GENDERS else None,
            "profile_addresses": [_address_to_wire(a) for a in candidate.addresses],
            "job_id": order.job.remote_id if order.job else None,
            "application_id": order.application.remote_id if order.application else None,
            "target_url": order.target_url,
        }
    )


def package_to_wire(package: Package) -> dict[str, Any] | None:
    """An ``AssessmentPackage`` body; None when a required name or type is missing."""
    if not package.name or package.type is None:
        return None
    return _compact(
        {
            "id": package.remote_id,
            "name": package.name,
            "type": _PACKAGE_TYPE_TO_WIRE[package.type],
            "description": package.description,
        }
    )
