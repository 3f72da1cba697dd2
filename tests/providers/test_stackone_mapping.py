"""StackOne mapping, both ways: pure functions, no HTTP."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ordergraph.models import (
    Application,
    Attachment,
    AttributeType,
    Candidate,
    HiringTeamMember,
    Job,
    NewOrder,
    OrderStatus,
    PackageRef,
    ProviderName,
    ResultSubmission,
)
from ordergraph.providers.base import Capability, ConnectionConfig
from ordergraph.providers.stackone.client import StackOneProvider
from ordergraph.providers.stackone.mapping import (
    order_to_canonical,
    package_to_canonical,
    parse_error,
    result_input_field,
    result_status,
    result_to_canonical,
)
from ordergraph.providers.stackone.to_wire import (
    attachment_to_wire,
    format_score,
    new_order_to_wire,
    result_to_wire,
)
from ordergraph.providers.stackone.wire import WireOrder, WirePackage, WireResult
from tests.contract import validate_component

RECRUITER = HiringTeamMember(
    remote_id="usr_1", first_name="Rosa", last_name="Berg", email="rosa@hr.example.com",
    roles=("RECRUITER",),
)  # fmt: skip
FULL_ORDER = NewOrder(
    package=PackageRef(remote_id="pkg_1", name="SQL Fundamentals", description="30 questions"),
    candidate=Candidate(
        remote_id="cand_1",
        first_name="Elif",
        last_name="Yilmaz",
        emails=("elif@example.com", "elif@example.org"),
        phones=("+49 30 1234567",),
        profile_url="https://ats.example.com/candidates/1",
    ),
    job=Job(remote_id="job_1", title="Data Scientist", code="DATA-100", hiring_team=(RECRUITER,)),
    application=Application(remote_id="app_1", status="assessment"),
    requester=RECRUITER,
    results_update_url="https://vendor.example.com/results/1",
    target_url="https://careers.example.com/thanks",
)
RESULT = ResultSubmission(
    status=OrderStatus.COMPLETED,
    score=87.5,
    max_score=100.0,
    min_score=0.0,
    score_label="Percentage",
    url="https://vendor.example.com/report/1",
    started_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    completed_at=datetime(2026, 1, 5, 10, 30, 15, 250000, tzinfo=timezone(timedelta(hours=2))),
    summary="Strong SQL, weaker on window functions.",
    attachments=(
        Attachment(url="https://vendor.example.com/r", name="r", content_type="application/pdf"),
        Attachment(url="https://vendor.example.com/v.mp4", content_type="video/mp4"),
        Attachment(url="https://vendor.example.com/n.txt", content_type="text/plain"),
        Attachment(url="https://vendor.example.com/x.zip", content_type="application/zip"),
        Attachment(url="https://vendor.example.com/plain"),
    ),
)  # fmt: skip


# --- canonical -> wire ----------------------------------------------------------------


def test_new_order_to_wire_sends_every_known_field_and_fits_the_spec() -> None:
    wire = new_order_to_wire(FULL_ORDER)
    member = {
        "user_id": "usr_1", "first_name": "Rosa", "last_name": "Berg",
        "email": "rosa@hr.example.com", "role": "RECRUITER",
    }  # fmt: skip
    assert wire == {
        "package": {"id": "pkg_1", "name": "SQL Fundamentals", "description": "30 questions"},
        "application": {"id": "app_1", "application_status": {"value": "assessment"}},
        "job": {"id": "job_1", "title": "Data Scientist", "hiring_team": [member]},
        "candidate": {
            "id": "cand_1",
            "first_name": "Elif",
            "last_name": "Yilmaz",
            "emails": [{"value": "elif@example.com"}, {"value": "elif@example.org"}],
            "profile_url": "https://ats.example.com/candidates/1",
        },
        "requester": member,
        "results_update_url": "https://vendor.example.com/results/1",
    }
    validate_component("stackone", "AtsCreateCandidatesAssessmentsRequestDto", wire)


def test_new_order_to_wire_omits_what_is_unknown_instead_of_sending_null() -> None:
    wire = new_order_to_wire(
        NewOrder(package=PackageRef(remote_id="pkg_1"), candidate=Candidate(first_name="Jonas"))
    )
    assert wire == {"package": {"id": "pkg_1"}, "candidate": {"first_name": "Jonas"}}
    validate_component("stackone", "AtsCreateCandidatesAssessmentsRequestDto", wire)


def test_application_status_outside_stackone_enum_is_sent_as_unmapped_value() -> None:
    order = FULL_ORDER.model_copy(update={"application": Application(status="Phone Screen")})
    wire = new_order_to_wire(order)
    assert wire["application"] == {
        "application_status": {"value": "unmapped_value", "source_value": "Phone Screen"}
    }
    validate_component("stackone", "AtsCreateCandidatesAssessmentsRequestDto", wire)


def test_several_roles_share_stackones_single_role_string() -> None:
    member = HiringTeamMember(remote_id="u", roles=("RECRUITER", "HIRING_MANAGER"))
    order = FULL_ORDER.model_copy(update={"requester": member})
    assert new_order_to_wire(order)["requester"] == {
        "user_id": "u",
        "role": "RECRUITER, HIRING_MANAGER",
    }


def test_result_to_wire_writes_strings_lowercase_status_and_utc_dates() -> None:
    wire = result_to_wire(RESULT)
    assert wire["score"] == {"label": "Percentage", "value": "87.5", "min": "0", "max": "100"}
    assert wire["result"] == {"value": "completed"}
    assert wire["start_date"] == "2026-01-05T09:00:00.000Z"
    assert wire["submission_date"] == "2026-01-05T08:30:15.250Z"
    assert wire["summary"] == "Strong SQL, weaker on window functions."
    assert wire["result_url"] == "https://vendor.example.com/report/1"
    assert wire["attachments"] == [
        {
            "url": "https://vendor.example.com/r",
            "content_type": {"value": "pdf", "source_value": "application/pdf"},
        },
        {
            "url": "https://vendor.example.com/v.mp4",
            "content_type": {"value": "video", "source_value": "video/mp4"},
        },
        {
            "url": "https://vendor.example.com/n.txt",
            "content_type": {"value": "text", "source_value": "text/plain"},
        },
        {
            "url": "https://vendor.example.com/x.zip",
            "content_type": {"value": "other", "source_value": "application/zip"},
        },
        {"url": "https://vendor.example.com/plain"},
    ]
    validate_component("stackone", "AtsUpdateCandidatesAssessmentsResultsRequestDto", wire)


def test_result_to_wire_minimal_has_no_nulls() -> None:
    wire = result_to_wire(ResultSubmission(status=OrderStatus.OPEN, url="https://v.example.com/1"))
    assert wire == {"result": {"value": "initiated"}, "result_url": "https://v.example.com/1"}
    validate_component("stackone", "AtsUpdateCandidatesAssessmentsResultsRequestDto", wire)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (OrderStatus.COMPLETED, {"value": "completed"}),
        (OrderStatus.FAILED, {"value": "failed"}),
        (OrderStatus.CANCELLED, {"value": "cancelled"}),
        (OrderStatus.EXPIRED, {"value": "expired"}),
        (OrderStatus.IN_PROGRESS, {"value": "in_progress"}),
        (OrderStatus.OPEN, {"value": "initiated"}),
        (OrderStatus.REJECTED, {"value": "unmapped_value", "source_value": "REJECTED"}),
        (OrderStatus.UNKNOWN, {"value": "unmapped_value", "source_value": "UNKNOWN"}),
    ],
)
def test_every_canonical_status_has_a_stackone_result(
    status: OrderStatus, expected: dict[str, str]
) -> None:
    wire = result_to_wire(ResultSubmission(status=status, url="https://v.example.com/1"))
    assert wire["result"] == expected
    validate_component("stackone", "AtsUpdateCandidatesAssessmentsResultsRequestDto", wire)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (100.0, "100"),
        (87.5, "87.5"),
        (0.0, "0"),
        (-0.0, "0"),
        (-3.25, "-3.25"),
        (0.1, "0.1"),
        (1e-7, "0.0000001"),
        (1e16, "10000000000000000"),
        (None, None),
    ],
)
def test_format_score_is_plain_decimal(number: float | None, text: str | None) -> None:
    assert format_score(number) == text


@pytest.mark.parametrize("number", [float("nan"), float("inf")])
def test_format_score_refuses_non_finite(number: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        format_score(number)


def test_attachment_already_in_stackone_words_passes_through() -> None:
    wire = attachment_to_wire(Attachment(url="https://v.example.com/a", content_type="PDF"))
    assert wire["content_type"] == {"value": "pdf"}


# --- wire -> canonical ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "source", "expected"),
    [
        ("initiated", None, (OrderStatus.OPEN, "initiated")),
        ("in_progress", None, (OrderStatus.IN_PROGRESS, "in_progress")),
        ("completed", "Done", (OrderStatus.COMPLETED, "completed")),
        ("passed", None, (OrderStatus.COMPLETED, "passed")),
        ("failed", None, (OrderStatus.FAILED, "failed")),
        ("cancelled", None, (OrderStatus.CANCELLED, "cancelled")),
        ("expired", None, (OrderStatus.EXPIRED, "expired")),
        ("unmapped_value", "Needs review", (OrderStatus.UNKNOWN, "Needs review")),
        ("unmapped_value", None, (OrderStatus.UNKNOWN, "unmapped_value")),
        ("graded", "Graded", (OrderStatus.UNKNOWN, "graded")),
        # The 2025-02 enum lacks these: they arrive in source_value alone.
        (None, "in_progress", (OrderStatus.IN_PROGRESS, "in_progress")),
        (None, "initiated", (OrderStatus.OPEN, "initiated")),
        ("unmapped_value", "in_progress", (OrderStatus.IN_PROGRESS, "in_progress")),
        # Our own words, sent as unmapped_value (REJECTED has no StackOne word).
        (None, "REJECTED", (OrderStatus.REJECTED, "REJECTED")),
        ("unmapped_value", "REJECTED", (OrderStatus.REJECTED, "REJECTED")),
        (None, "Needs review", (OrderStatus.UNKNOWN, "Needs review")),
        (None, None, (None, None)),
    ],
)
def test_result_status_follows_providers_section_4(
    value: str | None, source: Any, expected: tuple[OrderStatus | None, str | None]
) -> None:
    assert result_status(value, source) == expected


WIRE_ORDER: dict[str, Any] = {
    "id": "ord_1",
    "remote_id": "ats-1",
    "package": {"id": "pkg_1", "remote_id": "p-remote", "name": "SQL", "description": "30 q"},
    "application": {
        "id": "app_1",
        "application_status": {"value": "unmapped_value", "source_value": "Phone Screen"},
    },
    "job": {
        "remote_id": "job-remote",
        "title": "Data Scientist",
        "hiring_team": [{"remote_user_id": "ru", "email": "a@hr.example.com", "role": "Recruiter"}],
    },
    "candidate": {
        "id": "cand_1",
        "first_name": "Elif",
        "emails": [{"type": "personal", "value": "elif@example.com"}, {"type": "work"}],
        "profile_url": "https://ats.example.com/c/1",
        "passthrough": {"x": 1},
    },
    "requester": {"user_id": "usr_1", "first_name": "Rosa"},
    "results_update_url": "https://vendor.example.com/results/1",
    "something_new": True,
}


def test_order_to_canonical_maps_the_wire_body() -> None:
    order = order_to_canonical(WireOrder.model_validate(WIRE_ORDER), test_url="https://t/1")
    assert order.provider is ProviderName.STACKONE
    assert order.remote_id == "ord_1"
    assert (order.status, order.provider_status) == (OrderStatus.OPEN, None)
    assert order.created_at is None
    assert order.package is not None
    assert (order.package.remote_id, order.package.name) == ("pkg_1", "SQL")
    assert order.candidate is not None
    assert order.candidate.remote_id == "cand_1"
    assert order.candidate.emails == ("elif@example.com",)
    assert order.job is not None
    assert order.job.remote_id == "job-remote"
    assert order.job.hiring_team[0].remote_id == "ru"
    assert order.job.hiring_team[0].roles == ("Recruiter",)
    assert order.application is not None
    assert order.application.status == "Phone Screen"
    assert order.requester is not None
    assert order.requester.first_name == "Rosa"
    assert order.test_url == "https://t/1"
    assert order.results_update_url == "https://vendor.example.com/results/1"
    assert order.result is None
    assert order.raw is not None
    assert order.raw["candidate"]["emails"][0]["type"] == "personal"


def test_order_with_result_takes_the_results_status_and_unknown_keeps_raw() -> None:
    result = WireResult.model_validate(
        {"id": "ord_1", "result": {"value": "graded", "source_value": "Graded"}}
    )
    order = order_to_canonical(WireOrder.model_validate(WIRE_ORDER), result=result)
    assert (order.status, order.provider_status) == (OrderStatus.UNKNOWN, "graded")
    assert order.result is not None
    assert order.result.provider_status == "graded"


def test_order_with_empty_result_is_open() -> None:
    result = WireResult.model_validate({"id": "ord_1", "remote_id": "ats-1", "attachments": []})
    order = order_to_canonical(WireOrder.model_validate(WIRE_ORDER), result=result)
    assert (order.status, order.result) == (OrderStatus.OPEN, None)


def test_order_without_any_id_is_refused() -> None:
    with pytest.raises(ValueError, match="without id"):
        order_to_canonical(WireOrder.model_validate({"candidate": {"first_name": "A"}}))


def test_result_to_canonical_reads_strings_back() -> None:
    wire = WireResult.model_validate(
        {
            "score": {"label": "Grade", "value": "B+", "max": "100"},
            "submission_date": "2026-01-05T10:30:15.250Z",
            "result": {"value": "passed"},
            "result_url": "https://r/1",
            "attachments": [
                {"url": "https://r/a",
                 "content_type": {"value": "unmapped_value", "source_value": "pdf"}},
                {"url": "https://r/b", "content_type": {"value": "text"}},
                {"url": "https://r/c",
                 "content_type": {"value": "unmapped_value", "source_value": "application/zip"}},
                {"url": "https://r/d",
                 "content_type": {"value": "video", "source_value": "video/mp4"}},
            ],
        }
    )  # fmt: skip
    result = result_to_canonical(wire)
    assert (result.status, result.provider_status) == (OrderStatus.COMPLETED, "passed")
    assert (result.score, result.max_score) == (None, 100.0)
    assert result.attributes[0].type is AttributeType.TEXT
    assert (result.attributes[0].label, result.attributes[0].value) == ("Grade", "B+")
    assert result.completed_at == datetime(2026, 1, 5, 10, 30, 15, 250000, tzinfo=UTC)
    # The MIME type we sent in source_value comes back; else StackOne's word.
    assert [a.content_type for a in result.attachments] == [
        "pdf", "text", "application/zip", "video/mp4"
    ]  # fmt: skip


def test_result_round_trip_keeps_score_status_and_dates() -> None:
    back = result_to_canonical(WireResult.model_validate(result_to_wire(RESULT)))
    assert (back.status, back.score, back.max_score) == (OrderStatus.COMPLETED, 87.5, 100.0)
    assert back.completed_at == RESULT.completed_at
    assert back.url == RESULT.url


def test_new_order_round_trip_through_the_wire() -> None:
    order = order_to_canonical(
        WireOrder.model_validate(new_order_to_wire(FULL_ORDER)), remote_id="o"
    )
    assert order.candidate is not None
    assert order.candidate.emails == FULL_ORDER.candidate.emails
    assert order.candidate.phones == ()  # StackOne has no phone: nothing invented
    assert order.job is not None
    assert order.job.hiring_team == (RECRUITER,)
    assert order.requester == RECRUITER
    assert order.application == FULL_ORDER.application
    assert order.package == FULL_ORDER.package
    assert order.target_url is None  # not a StackOne field


def test_package_to_canonical_prefers_the_unified_id() -> None:
    package = package_to_canonical(WirePackage(id="u1", remote_id="r1", name="SQL"))
    assert (package.remote_id, package.name, package.type) == ("u1", "SQL", None)
    assert package_to_canonical(WirePackage(remote_id="r1")).remote_id == "r1"
    with pytest.raises(ValueError, match="without id"):
        package_to_canonical(WirePackage(name="no id"))


# --- errors and auth --------------------------------------------------------------------


def test_parse_error_reads_stackones_body() -> None:
    body = {"statusCode": 404, "message": "Not Found", "timestamp": "2026-01-01T00:00:00.000Z"}
    detail = parse_error(404, body)
    assert detail is not None
    assert (detail.message, detail.code) == ("Not Found", None)
    listed = parse_error(400, {"statusCode": 400, "message": ["a must be a string", "b too"]})
    assert listed is not None
    assert listed.message == "a must be a string; b too"


@pytest.mark.parametrize(
    "body",
    [None, "oops", [], {"message": "x"}, {"statusCode": "400", "message": "x"},
     {"statusCode": True, "message": "x"}, {"statusCode": 400, "message": 3},
     {"error": {"code": "X"}}],
)  # fmt: skip
def test_parse_error_refuses_other_shapes(body: object) -> None:
    assert parse_error(400, body) is None


def test_auth_headers_basic_with_key_as_username_and_account_header() -> None:
    config = ConnectionConfig(
        id="conn-1",
        provider=ProviderName.STACKONE,
        base_url="https://api.stackone.com",
        api_key="v1.eu1.secret-key",
        account="45355976281015164504",
    )
    provider = StackOneProvider(config)
    headers = provider.auth_headers()
    token = headers["Authorization"].get_secret_value().removeprefix("Basic ")
    assert base64.b64decode(token).decode() == "v1.eu1.secret-key:"
    assert headers["x-account-id"].get_secret_value() == "45355976281015164504"
    assert "secret-key" not in repr(provider) + repr(headers) + repr(provider.http)
    # The current API version (the default) has no order read.
    assert not provider.supports(Capability.GET_ORDERS)
    assert provider.supports(Capability.SUBMIT_RESULT)
    assert not provider.supports(Capability.LIST_ORDERS)
    assert not provider.supports(Capability.RECEIVE_WEBHOOKS)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("score.value must be a string", ("score",)),
        ("score.max must be a string", ("maxScore",)),
        ("score.min must be a string", ("minScore",)),
        ("score.label must be a string", ("scoreLabel",)),
        ("submission_date must be a valid ISO 8601 date string", ("completedAt",)),
        ("start_date must be a valid ISO 8601 date string", ("startedAt",)),
        ("result.value must be one of the following values: cancelled", ("status",)),
        ("result_url must be a string", ("url",)),
        ("attachments[2].url must be a string", ("attachments", "2", "url")),
        ("attachments[0].content_type.value must be one of", ("attachments", "0", "contentType")),
        ("attachments must be an array", ("attachments",)),
        ("x-account-id header is required", None),
        ("Assessment order o1 not found", None),
    ],
)
def test_a_refusal_names_the_result_input_field_stackone_named(
    message: str, field: tuple[str, ...] | None
) -> None:
    assert result_input_field(message) == field
