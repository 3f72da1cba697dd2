"""Canonical models: immutable, strict about field names, null where a provider is silent."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ordergraph.models import (
    AssessmentResult,
    Candidate,
    Order,
    OrderStatus,
    ProviderName,
)


def test_an_order_with_only_the_required_fields_invents_nothing() -> None:
    order = Order(provider=ProviderName.KOMBO, remote_id="o1", status=OrderStatus.OPEN)
    assert order.created_at is None
    assert order.candidate is None
    assert order.result is None
    assert order.provider_status is None


def test_models_are_frozen_so_shared_instances_cannot_drift() -> None:
    order = Order(provider=ProviderName.KOMBO, remote_id="o1", status=OrderStatus.OPEN)
    with pytest.raises(ValidationError):
        order.status = OrderStatus.COMPLETED  # type: ignore[misc]


def test_a_misspelled_field_is_an_error_not_silently_dropped() -> None:
    with pytest.raises(ValidationError):
        Candidate(first_nme="Ada")  # type: ignore[call-arg]


def test_round_trip_through_json_keeps_everything() -> None:
    order = Order(
        provider=ProviderName.UNIFIED,
        remote_id="o2",
        status=OrderStatus.UNKNOWN,
        provider_status="ON_HOLD",
        candidate=Candidate(first_name="Ada", emails=("ada@example.com",)),
        result=AssessmentResult(status=OrderStatus.COMPLETED, score=87.5, max_score=100),
    )
    assert Order.model_validate_json(order.model_dump_json()) == order


def test_every_canonical_status_is_listed_once() -> None:
    assert [s.value for s in OrderStatus] == [
        "OPEN", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED", "REJECTED", "EXPIRED", "UNKNOWN",
    ]  # fmt: skip
