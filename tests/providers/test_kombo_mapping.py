"""Pure Kombo mapping: wire <-> canonical, error bodies, signatures. No HTTP here.

Bodies we build are validated against the spec's own request schemas."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ordergraph.errors import WebhookSignatureError
from ordergraph.models import (
    Attachment,
    AttributeType,
    Candidate,
    HiringTeamMember,
    Job,
    Location,
    OrderStatus,
    Package,
    PackageRef,
    PackageType,
    ProviderName,
    ResultAttribute,
    ResultSubmission,
)
from ordergraph.providers.http import ErrorDetail
from ordergraph.providers.kombo.client import KomboProvider
from ordergraph.providers.kombo.mapping import (
    format_datetime,
    order_to_canonical,
    package_to_canonical,
    status_filter,
    status_to_canonical,
)
from ordergraph.providers.kombo.to_wire import package_to_wire, result_to_wire
from ordergraph.providers.kombo.webhooks import verify_signature, webhook_integration_id
from ordergraph.providers.kombo.wire import KomboOrder, KomboPackage
from tests.contract import spec_dict, validate_component

NOW = datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)


def spec_webhook_example() -> dict[str, Any]:
    """The spec's own ``assessment:order-received`` example."""
    spec = spec_dict("kombo-assessment-openapi.trimmed.json")
    operation = spec["webhooks"]["assessment:order-received"]["post"]
    example: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["example"]
    return example


def validate_result_body(body: dict[str, Any]) -> None:
    validate_component("kombo", "PutAssessmentOrdersAssessmentOrderIdResultRequestBody", body)


# --- orders -----------------------------------------------------------------------------


def test_spec_example_order_maps_every_field() -> None:
    data = spec_webhook_example()["data"]
    order = order_to_canonical(KomboOrder.model_validate(data), data)
    assert order.provider is ProviderName.KOMBO
    assert order.remote_id == "B5KQKhAgTv6ZwzrfAbqbhipd"
    assert (order.status, order.provider_status) == (OrderStatus.OPEN, "OPEN")
    assert order.created_at is None
    assert order.updated_at is None
    assert order.package == PackageRef(remote_id="typescript_test")
    assert order.candidate == Candidate(
        remote_id="12345",
        first_name="John",
        last_name="Doe",
        emails=("john.doe@gmail.com",),
        phones=("+1 123 456 7890",),
    )
    assert order.application is not None
    assert order.application.remote_id == "54321"
    assert order.job == Job(
        remote_id="67890",
        title="Bottle Opener",
        code="BO-2024-01",
        description=data["job"]["description"],
        location=Location(
            street_1="Lohmühlenstraße 65",
            city="Berlin",
            region="Berlin",
            postal_code="12435",
            country="DE",
            raw="Berlin, Germany",
        ),
        hiring_team=(
            HiringTeamMember(
                remote_id="78901",
                first_name="Jane",
                last_name="Doe",
                email="jane.doe@gmail.com",
                roles=("RECRUITER",),
            ),
        ),
    )
    assert order.raw == data
    assert order.result is None
    assert order.requester is None


def minimal_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "o1",
        "package_id": "p1",
        "status": "COMPLETED",
        "candidate": {
            "remote_id": None, "email": "", "first_name": None, "last_name": None, "phone": None,
        },
        "application": {"remote_id": None},
        "job": {
            "remote_id": None, "name": None, "job_code": None, "description": None,
            "location": None, "hiring_team": [],
        },
    }  # fmt: skip
    return order | changes


def test_nulls_stay_none_and_nothing_is_invented() -> None:
    order = order_to_canonical(KomboOrder.model_validate(minimal_order()))
    assert order.candidate == Candidate()
    assert order.job == Job()
    assert order.application is not None
    assert order.application.remote_id is None
    assert order.raw is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("OPEN", OrderStatus.OPEN),
        ("COMPLETED", OrderStatus.COMPLETED),
        ("CANCELLED", OrderStatus.CANCELLED),
        ("REJECTED", OrderStatus.REJECTED),
        ("ON_HOLD", OrderStatus.UNKNOWN),
        ("open", OrderStatus.UNKNOWN),
        (None, OrderStatus.UNKNOWN),
    ],
)
def test_status_mapping(raw: str | None, expected: OrderStatus) -> None:
    assert status_to_canonical(raw) is expected


def test_unknown_status_and_extra_keys_do_not_break_the_wire_model() -> None:
    raw = minimal_order(status="PAUSED", brand_new_field={"x": 1})
    raw["job"]["hiring_team"] = [
        {"remote_id": "u1", "email": None, "first_name": "A", "last_name": "B",
         "hiring_team_roles": ["RECRUITER", "INTERVIEWER"]},
    ]  # fmt: skip
    order = order_to_canonical(KomboOrder.model_validate(raw), raw)
    assert (order.status, order.provider_status) == (OrderStatus.UNKNOWN, "PAUSED")
    assert order.job is not None
    assert order.job.hiring_team[0].roles == ("RECRUITER", "INTERVIEWER")
    # An /orders/open item has no status at all.
    without = {k: v for k, v in raw.items() if k != "status"}
    order = order_to_canonical(KomboOrder.model_validate(without))
    assert (order.status, order.provider_status) == (OrderStatus.UNKNOWN, None)


@pytest.mark.parametrize(
    "broken",
    [
        minimal_order(id=None),
        minimal_order(id=17),
        {k: v for k, v in minimal_order().items() if k != "candidate"},
        minimal_order(job={"hiring_team": "none"}),
        minimal_order(candidate={"email": ["a@example.com"]}),
    ],
)
def test_wrong_shapes_are_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        KomboOrder.model_validate(broken)


def test_status_filter() -> None:
    assert status_filter(None) is None
    assert status_filter([]) is None
    assert status_filter([OrderStatus.REJECTED, OrderStatus.OPEN, OrderStatus.OPEN]) == [
        "OPEN",
        "REJECTED",
    ]
    assert status_filter([OrderStatus.FAILED, OrderStatus.IN_PROGRESS]) == []
    assert status_filter([OrderStatus.UNKNOWN, OrderStatus.CANCELLED]) == ["CANCELLED"]


def test_format_datetime() -> None:
    assert format_datetime(NOW) == "2026-03-01T12:30:45.123Z"
    plus_two = datetime(2026, 3, 1, 14, 30, 45, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(plus_two) == "2026-03-01T12:30:45.000Z"
    assert format_datetime(datetime(2026, 3, 1)) == "2026-03-01T00:00:00.000Z"  # naive = UTC


# --- results ----------------------------------------------------------------------------


def test_full_result_body() -> None:
    submission = ResultSubmission(
        status=OrderStatus.COMPLETED,
        score=90,
        max_score=100,
        min_score=0,
        score_label="Overall",
        url="https://vendor.example.com/r/1",
        started_at=NOW - timedelta(hours=1),
        completed_at=NOW,
        summary="Solid.",
        attributes=(
            ResultAttribute(label="Role fit", value="Excellent"),
            ResultAttribute(type=AttributeType.NUMBER, label="Speed", score=7.5, max_score=10),
            ResultAttribute(type=AttributeType.NUMBER, label="Words", value="120 wpm"),
            ResultAttribute(
                type=AttributeType.SUB_RESULT, label="Logic", score=97, max_score=100,
                status=OrderStatus.FAILED, reference="t-9",
            ),
            ResultAttribute(type=AttributeType.SUB_RESULT, label="Memory", score=3, max_score=5),
            ResultAttribute(type=AttributeType.SUB_RESULT, label="Ratio", score=0.4, max_score=0.5),
            ResultAttribute(label="Empty"),
        ),
        attachments=(
            Attachment(url="https://vendor.example.com/files/report.pdf",
                       content_type="application/pdf"),
            Attachment(url="https://vendor.example.com/v", name="Video", content_type="video mp4"),
            Attachment(name="no url"),
        ),
    )  # fmt: skip
    body = result_to_wire(submission)
    validate_result_body(body)
    assert body == {
        "status": "COMPLETED",
        "result_url": "https://vendor.example.com/r/1",
        "completed_at": "2026-03-01T12:30:45.123Z",
        "score": 90,
        "max_score": 100,
        "attributes": [
            {"type": "TEXT", "label": "Summary", "value": "Solid."},
            {"type": "TEXT", "label": "Role fit", "value": "Excellent"},
            {"type": "TEXT", "label": "Speed", "value": "7.5 / 10"},
            {"type": "TEXT", "label": "Words", "value": "120 wpm"},
            {"type": "SUB_RESULT", "id": "t-9", "label": "Logic",
             "score": {"value": 97, "max": 100}, "status": "COMPLETED"},
            {"type": "SUB_RESULT", "id": "Memory", "label": "Memory",
             "score": {"value": 3, "max": 5}, "status": "COMPLETED"},
            {"type": "TEXT", "label": "Ratio", "value": "0.4 / 0.5"},
        ],
        "attachments": [
            {"name": "report.pdf", "data_url": "https://vendor.example.com/files/report.pdf",
             "content_type": "application/pdf"},
            {"name": "Video", "data_url": "https://vendor.example.com/v"},
        ],
        "remote_fields": {"smartrecruiters": {"scoreLabel": "Overall"}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("status", "kombo", "word"),
    [
        (OrderStatus.OPEN, "OPEN", None),
        (OrderStatus.IN_PROGRESS, "OPEN", "In progress"),
        (OrderStatus.COMPLETED, "COMPLETED", None),
        (OrderStatus.FAILED, "COMPLETED", "Failed"),
        (OrderStatus.CANCELLED, "CANCELLED", None),
        (OrderStatus.REJECTED, "CANCELLED", "Rejected"),
        (OrderStatus.EXPIRED, "CANCELLED", "Expired"),
    ],
)
def test_result_status_mapping(status: OrderStatus, kombo: str, word: str | None) -> None:
    body = result_to_wire(ResultSubmission(status=status, url="https://v.example.com"), now=NOW)
    validate_result_body(body)
    assert body["status"] == kombo
    status_notes = [a for a in body["attributes"] if a["label"] == "Status"]
    assert status_notes == ([{"type": "TEXT", "label": "Status", "value": word}] if word else [])
    # completed_at: required by Kombo for final statuses, absent while OPEN unless given.
    assert body.get("completed_at") == (None if kombo == "OPEN" else "2026-03-01T12:30:45.123Z")
    assert "score" not in body
    assert "remote_fields" not in body


def test_given_completed_at_wins_and_open_keeps_it() -> None:
    given = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    body = result_to_wire(
        ResultSubmission(status=OrderStatus.OPEN, url="https://v.example.com", completed_at=given),
        now=NOW,
    )
    assert body["completed_at"] == "2026-01-02T03:04:05.000Z"
    sub = ResultAttribute(type=AttributeType.SUB_RESULT, label="x", score=1, max_score=2)
    body = result_to_wire(
        ResultSubmission(status=OrderStatus.CANCELLED, url="https://v.example.com",
                         attributes=(sub,)),
    )  # fmt: skip
    assert body["attributes"][0]["status"] == "CANCELLED"  # inherits the overall status
    assert datetime.fromisoformat(body["completed_at"]) <= datetime.now(UTC)


def test_results_kombo_cannot_take_are_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="UNKNOWN"):
        result_to_wire(ResultSubmission(status=OrderStatus.UNKNOWN, url="https://v.example.com"))
    six = tuple(Attachment(url=f"https://v.example.com/{n}") for n in range(6))
    with pytest.raises(ValueError, match="at most 5"):
        result_to_wire(
            ResultSubmission(status=OrderStatus.OPEN, url="https://v.example.com", attachments=six)
        )


# --- packages ---------------------------------------------------------------------------


def test_packages_both_ways() -> None:
    wire = KomboPackage.model_validate(
        {"id": "1001", "name": "TypeScript", "description": "TS skills",
         "updated_at": "2023-06-29T18:47:40.890Z", "type": "SKILLS_TEST"}
    )  # fmt: skip
    package = package_to_canonical(wire)
    assert package == Package(
        remote_id="1001",
        name="TypeScript",
        description="TS skills",
        type=PackageType.SKILLS_TEST,
        updated_at=datetime(2023, 6, 29, 18, 47, 40, 890000, tzinfo=UTC),
    )
    assert package_to_wire(package) == {
        "id": "1001", "type": "SKILLS_TEST", "name": "TypeScript", "description": "TS skills",
    }  # fmt: skip
    for kind in PackageType:
        if kind is PackageType.OTHER:
            continue
        body = {"packages": [package_to_wire(Package(remote_id="x", name="n", type=kind))]}
        validate_component("kombo", "PutAssessmentPackagesRequestBody", body)
        assert body["packages"][0]["type"] == kind.value

    unknown = KomboPackage.model_validate({"id": "2", "name": "n", "type": "PERSONALITY"})
    assert package_to_canonical(unknown).type is PackageType.OTHER
    assert package_to_canonical(KomboPackage(id="3")).type is None


@pytest.mark.parametrize(
    "package",
    [
        Package(remote_id="a", name="n", type=PackageType.OTHER),
        Package(remote_id="a", name="n"),
        Package(remote_id="a", type=PackageType.BEHAVIORAL),
    ],
)
def test_packages_kombo_cannot_take(package: Package) -> None:
    with pytest.raises(ValueError, match="'a'"):
        package_to_wire(package)


# --- errors -----------------------------------------------------------------------------


def test_parse_error() -> None:
    body = {
        "status": "error",
        "error": {
            "code": "PLATFORM.INPUT_INVALID",
            "title": "Invalid input",
            "message": "page_size is too big",
            "log_url": "https://app.kombo.dev/logs/1",
        },
    }
    assert KomboProvider.parse_error(400, body) == ErrorDetail(
        message="page_size is too big",
        code="PLATFORM.INPUT_INVALID",
        log_url="https://app.kombo.dev/logs/1",
    )
    body["error"] |= {"code": None, "log_url": None}
    assert KomboProvider.parse_error(500, body) == ErrorDetail(message="page_size is too big")
    for other in (None, [], "x", {"message": "x"}, {"error": "x"}, {"error": {"code": "X"}}):
        assert KomboProvider.parse_error(400, other) is None


# --- webhook helpers ----------------------------------------------------------------------


def test_verify_signature_encodings() -> None:
    body = b'{"id":"e1"}'
    digest = hmac.new(b"s3cret", body, hashlib.sha256).digest()
    unpadded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    padded = base64.urlsafe_b64encode(digest).decode()
    verify_signature("s3cret", body, unpadded)
    verify_signature("s3cret", body, padded)
    verify_signature("s3cret", body, f" {unpadded} ")
    for wrong in (None, "", digest.hex(), unpadded[:-2], "?" * 43):
        with pytest.raises(WebhookSignatureError):
            verify_signature("s3cret", body, wrong)
    with pytest.raises(WebhookSignatureError):
        verify_signature("other", body, unpadded)


def test_webhook_integration_id_never_raises() -> None:
    example = json.dumps(spec_webhook_example()).encode()
    assert webhook_integration_id(example) == "workday:CBNMt7dSNCzBdnRTx87dev4E"
    for body in (b"", b"\xff\xfe", b"[]", b'{"data": 1}', b'{"data": {"integration_id": 5}}',
                 b'{"data": {"integration_id": ""}}', b"{nope"):  # fmt: skip
        assert webhook_integration_id(body) is None
