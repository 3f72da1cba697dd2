"""Unified wire ↔ canonical mapping and webhook verification: pure, no HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from ordergraph.errors import ConfigError, WebhookPayloadError, WebhookSignatureError
from ordergraph.models import (
    Address,
    Application,
    Attachment,
    AttributeType,
    Candidate,
    Job,
    NewOrder,
    OrderStatus,
    Package,
    PackageRef,
    PackageType,
    ProviderName,
    ResultAttribute,
    ResultSubmission,
)
from ordergraph.providers.base import ConnectionConfig
from ordergraph.providers.unified.client import UnifiedProvider
from ordergraph.providers.unified.mapping import (
    order_to_canonical,
    package_to_canonical,
    status_to_canonical,
    status_to_wire,
)
from ordergraph.providers.unified.to_wire import new_order_to_wire, package_to_wire, result_to_wire
from ordergraph.providers.unified.webhooks import verify_signature
from ordergraph.providers.unified.wire import UnifiedOrder, UnifiedPackage
from ordergraph.sandbox.unified import webhook_signature
from tests.contract import validate_component

CONNECTION = "65f0c0ffee0000000000c0de"
WORKSPACE = "65f0aaaa0000000000001111"
SECRET = "workspace-secret-for-tests"

FULL_ORDER: dict[str, Any] = {
    "id": "ord_1",
    "created_at": "2026-01-05T09:00:00Z",
    "updated_at": "2026-01-06T10:30:00Z",
    "workspace_id": WORKSPACE,
    "connection_id": CONNECTION,
    "package_id": "pkg_001",
    "status": "COMPLETED",
    "reference": "greenhouse:app_1",
    "application_id": "app_1",
    "job_id": "job_1",
    "candidate_id": "cand_1",
    "profile_name": "Ada Lovelace",
    "profile_first_name": "Ada",
    "profile_last_name": "Lovelace",
    "profile_emails": ["ada@example.com"],
    "profile_telephones": ["+44 20 7946 0000"],
    "profile_resume_url": "https://ats.example.com/candidates/1",
    "profile_date_of_birth": "1815-12-10",
    "profile_national_identifier": "AB123456C",
    "profile_ip_address": "192.0.2.10",
    "profile_gender": "FEMALE",
    "profile_addresses": [
        {
            "address1": "12 St James's Square",
            "city": "London",
            "region_code": "ENG",
            "postal_code": "SW1Y 4JH",
            "country_code": "GB",
        },
    ],
    "target_url": "https://ats.example.com/return",
    "response_status": "COMPLETED",
    "response_score": 87.5,
    "response_max_score": 100,
    "response_url": "https://assess.example.com/results/1",
    "response_redirect_url": "https://assess.example.com/done",
    "response_completed_at": "2026-01-06T10:00:00Z",
    "response_download_urls": ["https://assess.example.com/report.pdf"],
    "response_details": [
        {"title": "Summary", "text": "Strong on algorithms."},
        {"title": "Recording", "download_url": "https://assess.example.com/rec.mp4"},
    ],
    "response_attributes": [
        {
            "type": "SUB_RESULT",
            "label": "Algorithms",
            "score_value": 40,
            "score_max": 50,
            "status": "COMPLETED",
            "reference": "algo",
        },
        {"type": "TEXT", "label": "Note", "value": "Fast"},
        {"type": "HISTOGRAM", "label": "Odd", "value": "kept"},
    ],
    "raw": {"ats": "greenhouse"},
}


def make_provider(secret: str | None = SECRET, account: str = CONNECTION) -> UnifiedProvider:
    return UnifiedProvider(
        ConnectionConfig(
            id="conn-unified",
            provider=ProviderName.UNIFIED,
            base_url="http://127.0.0.1:9",
            api_key=SecretStr("token-never-used"),
            account=account,
            webhook_secret=None if secret is None else SecretStr(secret),
        )
    )


def test_full_order_maps_every_field() -> None:
    # The spec's enums are closed for validators; the unknown attribute type is ours on purpose.
    documented = {**FULL_ORDER, "response_attributes": FULL_ORDER["response_attributes"][:2]}
    validate_component("unified", "AssessmentOrder", documented)
    order = order_to_canonical(UnifiedOrder.model_validate(FULL_ORDER))
    assert order.provider is ProviderName.UNIFIED
    assert (order.remote_id, order.status, order.provider_status) == (
        "ord_1",
        OrderStatus.COMPLETED,
        "COMPLETED",
    )
    assert order.created_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 1, 6, 10, 30, tzinfo=UTC)
    assert order.candidate == Candidate(
        remote_id="cand_1",
        first_name="Ada",
        last_name="Lovelace",
        name="Ada Lovelace",
        emails=("ada@example.com",),
        phones=("+44 20 7946 0000",),
        profile_url="https://ats.example.com/candidates/1",
        date_of_birth="1815-12-10",
        national_identifier="AB123456C",
        ip_address="192.0.2.10",
        gender="FEMALE",
        addresses=(
            Address(
                street_1="12 St James's Square",
                city="London",
                region="ENG",
                postal_code="SW1Y 4JH",
                country="GB",
            ),
        ),
    )
    assert order.job == Job(remote_id="job_1")
    assert order.application == Application(remote_id="app_1")
    assert order.package == PackageRef(remote_id="pkg_001")
    assert order.target_url == "https://ats.example.com/return"
    assert order.redirect_url == "https://assess.example.com/done"
    assert order.reference == "greenhouse:app_1"
    assert order.raw == {"ats": "greenhouse"}
    assert order.test_url is None


def test_full_order_result() -> None:
    result = order_to_canonical(UnifiedOrder.model_validate(FULL_ORDER)).result
    assert result is not None
    assert (result.status, result.provider_status) == (OrderStatus.COMPLETED, "COMPLETED")
    assert (result.score, result.max_score) == (87.5, 100)
    assert result.url == "https://assess.example.com/results/1"
    assert result.completed_at == datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    assert result.summary == "Strong on algorithms."
    assert result.attachments == (
        Attachment(url="https://assess.example.com/report.pdf"),
        Attachment(url="https://assess.example.com/rec.mp4", name="Recording"),
    )
    assert result.attributes == (
        ResultAttribute(
            type=AttributeType.SUB_RESULT,
            label="Algorithms",
            score=40,
            max_score=50,
            status=OrderStatus.COMPLETED,
            reference="algo",
        ),
        ResultAttribute(type=AttributeType.TEXT, label="Note", value="Fast"),
        ResultAttribute(type=AttributeType.TEXT, label="Odd", value="kept"),
    )


def test_minimal_order_invents_nothing() -> None:
    order = order_to_canonical(
        UnifiedOrder.model_validate(
            {"id": "o", "workspace_id": WORKSPACE, "connection_id": CONNECTION}
        )
    )
    assert order.status is OrderStatus.UNKNOWN
    assert order.provider_status is None
    for name in ("candidate", "job", "application", "package", "result", "created_at", "raw"):
        assert getattr(order, name) is None, name


@pytest.mark.parametrize(
    ("status", "response_status", "expected", "raw"),
    [
        ("OPEN", None, OrderStatus.OPEN, "OPEN"),
        ("IN_PROGRESS", "COMPLETED", OrderStatus.IN_PROGRESS, "IN_PROGRESS"),
        ("REJECTED", None, OrderStatus.REJECTED, "REJECTED"),
        (None, "FAILED", OrderStatus.FAILED, "FAILED"),
        ("ON_HOLD", None, OrderStatus.UNKNOWN, "ON_HOLD"),
    ],
)
def test_status_mapping(
    status: str | None, response_status: str | None, expected: OrderStatus, raw: str
) -> None:
    wire = UnifiedOrder(id="o", status=status, response_status=response_status)
    order = order_to_canonical(wire)
    assert (order.status, order.provider_status) == (expected, raw)


def test_status_to_wire_refuses_what_unified_cannot_say() -> None:
    assert status_to_wire(OrderStatus.COMPLETED) == "COMPLETED"
    for status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.UNKNOWN):
        with pytest.raises(ValueError, match=status.value):
            status_to_wire(status)
    assert status_to_canonical("completed") is OrderStatus.COMPLETED


def test_result_to_wire_is_valid_and_round_trips() -> None:
    submission = ResultSubmission(
        status=OrderStatus.COMPLETED,
        score=42.5,
        max_score=50,
        min_score=0,
        url="https://assess.example.com/r/9",
        completed_at=datetime(2026, 2, 1, 12, 0, tzinfo=UTC),
        summary="Solid",
        attributes=(
            ResultAttribute(type=AttributeType.NUMBER, label="Speed", score=9, max_score=10),
            ResultAttribute(label="Comment", value="Tidy code"),
        ),
        attachments=(Attachment(url="https://assess.example.com/r/9.pdf"), Attachment(name="x")),
    )
    body = result_to_wire(submission)
    assert body == {
        "status": "COMPLETED",
        "response_status": "COMPLETED",
        "response_score": 42.5,
        "response_max_score": 50,
        "response_url": "https://assess.example.com/r/9",
        "response_completed_at": "2026-02-01T12:00:00Z",
        "response_attributes": [
            {"type": "NUMBER", "label": "Speed", "score_value": 9, "score_max": 10},
            {"type": "TEXT", "label": "Comment", "value": "Tidy code"},
        ],
        "response_download_urls": ["https://assess.example.com/r/9.pdf"],
        "response_details": [{"title": "Summary", "text": "Solid"}],
    }
    full = {"workspace_id": WORKSPACE, "connection_id": CONNECTION, "id": "o", **body}
    validate_component("unified", "AssessmentOrder", full)
    result = order_to_canonical(UnifiedOrder.model_validate(full)).result
    assert result is not None
    assert (result.score, result.summary, result.completed_at) == (
        42.5,
        "Solid",
        submission.completed_at,
    )
    assert [a.label for a in result.attributes] == ["Speed", "Comment"]


def test_result_to_wire_minimal_and_refused() -> None:
    body = result_to_wire(ResultSubmission(status=OrderStatus.FAILED, url="https://x.example"))
    assert body == {
        "status": "FAILED",
        "response_status": "FAILED",
        "response_url": "https://x.example",
    }
    with pytest.raises(ValueError, match="CANCELLED"):
        result_to_wire(ResultSubmission(status=OrderStatus.CANCELLED, url="https://x.example"))


def test_new_order_to_wire() -> None:
    order = NewOrder(
        package=PackageRef(remote_id="pkg_002", name="React"),
        candidate=Candidate(
            remote_id="cand_9",
            first_name="Grace",
            last_name="Hopper",
            emails=("grace@example.com",),
            gender="female",
            addresses=(Address(city="Arlington", country="US"),),
        ),
        job=Job(remote_id="job_9", title="Engineer"),
        application=Application(remote_id="app_9"),
        target_url="https://ats.example.com/back",
        results_update_url="https://ignored.example.com",
    )
    body = new_order_to_wire(order, connection_id=CONNECTION, workspace_id=WORKSPACE)
    validate_component("unified", "AssessmentOrder", body)
    assert body == {
        "workspace_id": WORKSPACE,
        "connection_id": CONNECTION,
        "package_id": "pkg_002",
        "candidate_id": "cand_9",
        "profile_first_name": "Grace",
        "profile_last_name": "Hopper",
        "profile_emails": ["grace@example.com"],
        "profile_gender": "FEMALE",
        "profile_addresses": [{"city": "Arlington", "country": "US"}],
        "job_id": "job_9",
        "application_id": "app_9",
        "target_url": "https://ats.example.com/back",
    }
    odd = order.model_copy(update={"candidate": Candidate(gender="unspecified")})
    assert "profile_gender" not in new_order_to_wire(
        odd, connection_id=CONNECTION, workspace_id=None
    )


def test_package_mapping_both_ways() -> None:
    wire = UnifiedPackage.model_validate(
        {
            "id": "p1",
            "name": "Culture",
            "type": "BEHAVIORAL_ASSESSMENT",
            "description": "d",
            "updated_at": "2026-01-01T00:00:00Z",
            "regions": [{"regions": ["EU"], "cost_amount": 5}],
        }
    )
    package = package_to_canonical(wire)
    assert package == Package(
        remote_id="p1",
        name="Culture",
        description="d",
        type=PackageType.BEHAVIORAL,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    body = package_to_wire(package)
    assert body == {
        "id": "p1",
        "name": "Culture",
        "type": "BEHAVIORAL_ASSESSMENT",
        "description": "d",
    }
    validate_component("unified", "AssessmentPackage", body)
    assert package_to_canonical(UnifiedPackage(id="p2", type="PUZZLE")).type is None
    assert package_to_wire(Package(remote_id="p3", name="No type")) is None
    assert package_to_wire(Package(remote_id="p4", type=PackageType.OTHER)) is None


# --- webhook verification -----------------------------------------------------------------


def delivery_body(
    data: list[dict[str, Any]] | None = None,
    *,
    secret: str = SECRET,
    kind: str = "VIRTUAL",
    connection: str = CONNECTION,
) -> dict[str, Any]:
    items = [dict(FULL_ORDER)] if data is None else data
    nonce = "n0nce-123"
    return {
        "data": items,
        "webhook": {
            "id": "wh_1",
            "connection_id": connection,
            "object_type": "assessment_order",
            "event": "created",
            "hook_url": "https://me.example.com/hook",
        },
        "nonce": nonce,
        "sig": webhook_signature(secret, items, nonce),
        "type": kind,
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def test_valid_delivery_is_accepted_and_mapped() -> None:
    delivery = make_provider().parse_webhook({}, encode(delivery_body()))
    assert delivery.provider is ProviderName.UNIFIED
    assert (delivery.kind, delivery.account, delivery.nonce) == ("VIRTUAL", CONNECTION, "n0nce-123")
    assert [o.remote_id for o in delivery.orders] == ["ord_1"]
    assert delivery.extra == {"webhook_id": "wh_1"}


def test_signature_formula_and_hex_digest_accepted() -> None:
    data = [{"id": "é", "n": 1.5}]
    message = '[{"id":"é","n":1.5}]' + "abc"
    digest = hmac.new(SECRET.encode(), message.encode(), hashlib.sha1).digest()
    assert webhook_signature(SECRET, data, "abc") == base64.b64encode(digest).decode()
    assert verify_signature(SECRET, data, "abc", digest.hex())
    assert not verify_signature(SECRET, data, "abd", digest.hex())
    body = delivery_body()
    body["sig"] = hmac.new(
        SECRET.encode(),
        (
            json.dumps(body["data"], separators=(",", ":"), ensure_ascii=False) + body["nonce"]
        ).encode(),
        hashlib.sha1,
    ).hexdigest()
    assert make_provider().parse_webhook({}, encode(body)).orders


def test_initial_complete_with_empty_data() -> None:
    delivery = make_provider().parse_webhook({}, encode(delivery_body([], kind="INITIAL-COMPLETE")))
    assert (delivery.kind, list(delivery.orders)) == ("INITIAL-COMPLETE", [])


def _tampered(change: str) -> bytes:
    body = delivery_body()
    if change == "wrong sig":
        body["sig"] = base64.b64encode(b"x" * 20).decode()
    elif change == "missing sig":
        del body["sig"]
    elif change == "empty sig":
        body["sig"] = ""
    elif change == "missing nonce":
        del body["nonce"]
    elif change == "altered data":
        body["data"][0]["response_score"] = 99
    elif change == "altered nonce":
        body["nonce"] = "other"
    elif change == "wrong secret":
        body = delivery_body(secret="not-the-workspace-secret")
    return encode(body)


@pytest.mark.parametrize(
    "change",
    [
        "wrong sig",
        "missing sig",
        "empty sig",
        "missing nonce",
        "altered data",
        "altered nonce",
        "wrong secret",
    ],
)
def test_bad_signatures_are_refused(change: str) -> None:
    with pytest.raises(WebhookSignatureError):
        make_provider().parse_webhook({}, _tampered(change))


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe", b"[1,2]", b'"text"'],
)
def test_non_object_bodies_are_payload_errors(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        make_provider().parse_webhook({}, body)


def test_signed_but_wrong_shape_is_payload_error() -> None:
    items: list[dict[str, Any]] = [{"connection_id": CONNECTION, "status": "OPEN"}]  # no id
    with pytest.raises(WebhookPayloadError) as caught:
        make_provider().parse_webhook({}, encode(delivery_body(items)))
    assert "data.0.id" in str(caught.value)
    body = delivery_body()
    body["data"] = {"id": "x"}
    with pytest.raises(WebhookPayloadError):
        make_provider().parse_webhook({}, encode(body))


def test_delivery_for_another_connection_is_refused() -> None:
    other = make_provider(account="000000000000000000000000")
    with pytest.raises(WebhookPayloadError, match="another connection"):
        other.parse_webhook({}, encode(delivery_body()))


def test_missing_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        make_provider(secret=None).parse_webhook({}, encode(delivery_body()))


def test_provider_repr_and_errors_hide_secrets() -> None:
    provider = make_provider()
    assert "token-never-used" not in repr(provider)
    assert SECRET not in repr(provider.config)
    with pytest.raises(WebhookSignatureError) as caught:
        provider.parse_webhook({}, _tampered("wrong secret"))
    assert SECRET not in str(caught.value)


def test_signature_serialises_integral_floats_as_javascript_does() -> None:
    # Unified's service is Node: JSON.stringify writes 100.0 as "100". A delivery whose
    # body says 100.0 must verify against a signature computed over "100".
    import base64
    import hashlib
    import hmac

    from ordergraph.providers.unified import verify_signature

    data = [{"id": "o1", "response_score": 100.0, "response_max_score": 87.5}]
    js_text = '[{"id":"o1","response_score":100,"response_max_score":87.5}]'
    sig = base64.b64encode(
        hmac.new(b"s3cret", (js_text + "n1").encode(), hashlib.sha1).digest()
    ).decode()
    assert verify_signature("s3cret", data, "n1", sig)
