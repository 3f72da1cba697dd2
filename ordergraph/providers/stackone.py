"""StackOne adapter: the ATS assessments API (spec 2025-12-03, or 2025-02-24 for reads).

StackOne's flow is push-only: an order is created with ``POST …/assessments/orders``
and a result written with ``PATCH …/orders/{id}/result``. There is no order list and
no order webhook, so this adapter cannot list orders or receive webhooks.

Choices where PROVIDERS.md (section 2) says "not found" or "not verified":

- Auth: HTTP Basic with the API key as username and an empty password (StackOne's
  convention; the spec only says ``basic``). ``x-account-id`` carries the account.
- API version per connection (``ConnectionConfig.api_version``): ``2025-12-03`` (the
  current one, the default) has no order read; ``2025-02-24`` (legacy) has
  ``GET …/orders/{id}`` and ``GET …/orders/{id}/results``. The adapter never calls a
  route its version lacks: on the current version it does not claim ``GET_ORDERS`` and
  ``get_orders`` is an ``UnsupportedOperationError`` naming the connection, without a
  request. On the legacy version a 404 means the order is absent. The order itself
  has no status: it is ``OPEN`` until a result is written, then the result's status.
- Package pages are requested with ``page_size=50`` (default 25, maximum not found).
- Ids: the canonical ``remote_id`` of orders, packages, candidates, jobs and
  applications is StackOne's unified ``id`` (what its paths take), falling back to
  ``remote_id`` (the underlying system's id) when ``id`` is absent. Hiring-team
  members use ``user_id`` / ``remote_user_id`` the same way.
- Result status to ``result.value``: COMPLETED→completed, FAILED→failed,
  CANCELLED→cancelled, EXPIRED→expired, IN_PROGRESS→in_progress, OPEN→initiated.
  REJECTED (and UNKNOWN) have no StackOne word: they are sent as ``unmapped_value``
  with our name in ``source_value``; REJECTED is not ``failed`` because a rejected
  order is not a failed test.
- Read back, ``passed`` is COMPLETED. The word is the ``value``, or the ``source_value``
  when the value is ``unmapped_value`` or absent (the 2025-02 enum lacks
  ``initiated``/``in_progress``, so those arrive there): a StackOne word or one of our
  own status names (REJECTED, written as ``unmapped_value``) maps back; anything else
  is UNKNOWN, with ``provider_status`` keeping the word.
- Scores are strings on the wire: integral floats are written without ``.0``
  ("100"), others in plain decimal notation ("87.5"), never in exponent form.
- Attachments: MIME types map to ``text``/``pdf``/``video``, any other type to
  ``other``; the MIME type itself always goes in ``source_value``, and is what a read
  back reports (the word when no MIME type came back). StackOne has no attachment name,
  no result attributes, no candidate phone and no ``target_url``; those are not sent.
- Hiring-team roles: StackOne has one ``role`` string; several roles are joined with
  ", " when writing, and a role read back is one role.
- Absent values are omitted from requests rather than sent as ``null``: the spec is
  OpenAPI 3.1, where ``nullable: true`` does not admit ``null``.
- Error bodies ``{statusCode, message, timestamp}`` carry no error code of their own,
  so ``ErrorDetail.code`` is None and the error type's stable code applies. Their
  ``message`` names the field at fault in StackOne's words (``score.value``,
  ``attachments[0].url``); ``result_input_field`` maps those to the result input's.
- A listed package without ``id`` and ``remote_id`` (the spec allows it) cannot be
  ordered: it is left out with a WARNING, the rest of the list stands.
- A create answered without any id is a ``ProviderResponseError`` that says the order
  may exist at StackOne: the POST is not repeated (it could create the order twice).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, SecretStr

from ordergraph.errors import ProviderNotFoundError, UnsupportedOperationError
from ordergraph.models import (
    Application,
    AssessmentResult,
    Attachment,
    AttributeType,
    Candidate,
    CreatedOrder,
    HiringTeamMember,
    Job,
    NewOrder,
    Order,
    OrderStatus,
    Package,
    PackageRef,
    ProviderName,
    ResultAttribute,
    ResultSubmission,
)
from ordergraph.providers.base import (
    BaseProvider,
    Capability,
    ConnectionConfig,
    CursorPaginator,
    Page,
    iterate_pages,
)
from ordergraph.providers.http import ErrorDetail, HttpClient

__all__ = [
    "API_VERSIONS",
    "CURRENT_API_VERSION",
    "LEGACY_API_VERSION",
    "PACKAGE_PAGE_SIZE",
    "StackOneProvider",
    "attachment_to_wire",
    "format_score",
    "new_order_to_wire",
    "order_to_canonical",
    "package_to_canonical",
    "parse_error",
    "result_input_field",
    "result_status",
    "result_to_canonical",
    "result_to_wire",
]

logger = logging.getLogger(__name__)

PREFIX = "/unified/ats/assessments"
CURRENT_API_VERSION = "2025-12-03"
# The last version with order reads (GET …/orders/{id} and …/results).
LEGACY_API_VERSION = "2025-02-24"
API_VERSIONS = (CURRENT_API_VERSION, LEGACY_API_VERSION)
PACKAGE_PAGE_SIZE = 50
# How many order reads ``get_orders`` keeps in flight at once.
READ_CONCURRENCY = 8

_WireT = TypeVar("_WireT", bound=BaseModel)

# --- wire models (read side; vendors add fields, so extras are ignored) ------------------


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


# --- status vocabulary ------------------------------------------------------------------

_STATUS_TO_WIRE: dict[OrderStatus, str] = {
    OrderStatus.OPEN: "initiated",
    OrderStatus.IN_PROGRESS: "in_progress",
    OrderStatus.COMPLETED: "completed",
    OrderStatus.FAILED: "failed",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.EXPIRED: "expired",
}
_WIRE_TO_STATUS: dict[str, OrderStatus] = {
    **{wire: status for status, wire in _STATUS_TO_WIRE.items()},
    "passed": OrderStatus.COMPLETED,
}
_APPLICATION_STATUSES = frozenset(
    {"active", "assessment", "background_check", "converted", "declined_by_candidate", "hired",
     "interview", "lead", "offer", "reference_check", "rejected", "review", "screen", "new",
     "onboarding", "created", "accepted", "short_list", "approved"}
)  # fmt: skip
_UNMAPPED = "unmapped_value"
_CANONICAL_WORDS = frozenset(status.value for status in OrderStatus)


def result_status(
    value: str | None, source_value: Any = None
) -> tuple[OrderStatus | None, str | None]:
    """Canonical status and the provider's word for a ``result`` pair; (None, None) if empty."""
    source = source_value if isinstance(source_value, str) else None
    if value is None and source is None:
        return None, None
    if value is not None and value in _WIRE_TO_STATUS:
        return _WIRE_TO_STATUS[value], value
    if value in (None, _UNMAPPED) and source:
        # The word is in source_value: StackOne's own (the 2025-02 enum lacks some), or
        # one of our status names sent as unmapped_value (REJECTED).
        if source.lower() in _WIRE_TO_STATUS:
            return _WIRE_TO_STATUS[source.lower()], source
        if source.upper() in _CANONICAL_WORDS:
            return OrderStatus(source.upper()), source
        return OrderStatus.UNKNOWN, source
    # unmapped_value without a source, or a word newer than this adapter.
    return OrderStatus.UNKNOWN, value


def _enum_word(pair: WireEnum | None) -> str | None:
    """The word a ``{value, source_value}`` pair stands for (the source when unmapped)."""
    if pair is None:
        return None
    if pair.value and pair.value != _UNMAPPED:
        return pair.value
    return pair.source_value if isinstance(pair.source_value, str) else pair.value


# --- canonical -> wire --------------------------------------------------------------------


def _compact(value: Any) -> Any:
    """Drop ``None`` and empty containers recursively (never send ``null``: see docstring)."""
    if isinstance(value, dict):
        pairs = ((k, _compact(v)) for k, v in value.items())
        return {k: v for k, v in pairs if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_compact(v) for v in value if v is not None]
    return value


def _iso(moment: datetime | None) -> str | None:
    """``2021-01-01T01:01:01.000Z`` as in the spec's examples; naive times count as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_score(number: float | None) -> str | None:
    """A score as StackOne's string: "100", "87.5", "0.0001" (never "1e-04" or "100.0")."""
    if number is None:
        return None
    if not math.isfinite(number):
        msg = f"score must be a finite number, not {number!r}"
        raise ValueError(msg)
    if float(number).is_integer():
        return str(int(number))
    return format(Decimal(repr(float(number))), "f")


def package_ref_to_wire(package: PackageRef) -> dict[str, Any]:
    return {"id": package.remote_id, "name": package.name, "description": package.description}


def member_to_wire(member: HiringTeamMember) -> dict[str, Any]:
    return {
        "user_id": member.remote_id,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "role": ", ".join(member.roles) or None,
    }


def candidate_to_wire(candidate: Candidate) -> dict[str, Any]:
    return {
        "id": candidate.remote_id,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        # StackOne's emails carry a ``type``; we do not know it, so none is sent.
        "emails": [{"value": email} for email in candidate.emails],
        "profile_url": candidate.profile_url,
    }


def job_to_wire(job: Job) -> dict[str, Any]:
    return {
        "id": job.remote_id,
        "title": job.title,
        "hiring_team": [member_to_wire(m) for m in job.hiring_team],
    }


def application_to_wire(application: Application) -> dict[str, Any]:
    status = application.status
    if status is None:
        application_status = None
    elif status in _APPLICATION_STATUSES:
        application_status = {"value": status}
    else:
        application_status = {"value": _UNMAPPED, "source_value": status}
    return {"id": application.remote_id, "application_status": application_status}


def new_order_to_wire(order: NewOrder) -> dict[str, Any]:
    """``AtsCreateCandidatesAssessmentsRequestDto`` for a new order (no ``target_url`` field)."""
    wire: dict[str, Any] = _compact(
        {
            "package": package_ref_to_wire(order.package),
            "application": application_to_wire(order.application) if order.application else None,
            "job": job_to_wire(order.job) if order.job else None,
            "candidate": candidate_to_wire(order.candidate),
            "requester": member_to_wire(order.requester) if order.requester else None,
            "results_update_url": order.results_update_url,
        }
    )
    return wire


_CONTENT_TYPE_PREFIXES = (("text/", "text"), ("video/", "video"), ("application/pdf", "pdf"))
_CONTENT_TYPE_WORDS = frozenset({"text", "pdf", "video", "other"})


def attachment_to_wire(attachment: Attachment) -> dict[str, Any]:
    """``{url, content_type: {value, source_value}}``: StackOne's word (``other`` when it
    has none) and the MIME type itself, so a read back gives the MIME type again."""
    mime = attachment.content_type
    content_type: dict[str, Any] | None = None
    if mime:
        lowered = mime.lower()
        if lowered in _CONTENT_TYPE_WORDS:
            content_type = {"value": lowered}  # a word, not a MIME type: nothing to keep
        else:
            value = next((w for p, w in _CONTENT_TYPE_PREFIXES if lowered.startswith(p)), None)
            content_type = {"value": value or "other", "source_value": mime}
    return {"url": attachment.url, "content_type": content_type}


def result_to_wire(result: ResultSubmission) -> dict[str, Any]:
    """``AtsUpdateCandidatesAssessmentsResultsRequestDto`` for a result (scores as strings)."""
    wire_value = _STATUS_TO_WIRE.get(result.status)
    outcome = (
        {"value": wire_value}
        if wire_value
        else {"value": _UNMAPPED, "source_value": result.status.value}
    )
    wire: dict[str, Any] = _compact(
        {
            "score": {
                "label": result.score_label,
                "value": format_score(result.score),
                "min": format_score(result.min_score),
                "max": format_score(result.max_score),
            },
            "start_date": _iso(result.started_at),
            "submission_date": _iso(result.completed_at),
            "summary": result.summary,
            "result": outcome,
            "result_url": result.url,
            "attachments": [attachment_to_wire(a) for a in result.attachments],
        }
    )
    return wire


# --- wire -> canonical --------------------------------------------------------------------


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def package_to_canonical(package: WirePackage) -> Package:
    """A listed package; ``ValueError`` when it has no id at all (we cannot order it)."""
    remote_id = _first(package.id, package.remote_id)
    if remote_id is None:
        msg = "package without id"
        raise ValueError(msg)
    return Package(remote_id=remote_id, name=package.name, description=package.description)


def member_to_canonical(member: WireMember) -> HiringTeamMember:
    return HiringTeamMember(
        remote_id=_first(member.user_id, member.remote_user_id),
        first_name=member.first_name,
        last_name=member.last_name,
        email=member.email,
        roles=(member.role,) if member.role else (),
    )


def candidate_to_canonical(candidate: WireCandidate) -> Candidate:
    return Candidate(
        remote_id=_first(candidate.id, candidate.remote_id),
        first_name=candidate.first_name,
        last_name=candidate.last_name,
        emails=tuple(e.value for e in candidate.emails or () if e.value),
        profile_url=candidate.profile_url,
    )


def job_to_canonical(job: WireJob) -> Job:
    return Job(
        remote_id=_first(job.id, job.remote_id),
        title=job.title,
        hiring_team=tuple(member_to_canonical(m) for m in job.hiring_team or ()),
    )


def _package_ref(package: WirePackage | None) -> PackageRef | None:
    remote_id = _first(package.id, package.remote_id) if package else None
    if package is None or remote_id is None:
        return None
    return PackageRef(remote_id=remote_id, name=package.name, description=package.description)


def _score(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def result_to_canonical(result: WireResult) -> AssessmentResult:
    """A read-back result; a score that is not a number is kept as a text attribute."""
    outcome = result.result or WireEnum()
    status, provider_status = result_status(outcome.value, outcome.source_value)
    score = result.score or WireScore()
    attributes: tuple[ResultAttribute, ...] = ()
    if score.value is not None and _score(score.value) is None:
        attributes = (
            ResultAttribute(
                type=AttributeType.TEXT, label=score.label or "score", value=score.value
            ),
        )
    return AssessmentResult(
        status=status,
        provider_status=provider_status,
        score=_score(score.value),
        max_score=_score(score.max),
        url=result.result_url,
        started_at=result.start_date,
        completed_at=result.submission_date,
        summary=result.summary,
        attributes=attributes,
        attachments=tuple(
            Attachment(url=a.url, content_type=_content_type(a.content_type))
            for a in result.attachments or ()
        ),
    )


def _content_type(pair: WireEnum | None) -> str | None:
    """The MIME type we sent in ``source_value``; else StackOne's word."""
    if pair is not None and isinstance(pair.source_value, str) and "/" in pair.source_value:
        return pair.source_value
    return _enum_word(pair)


def _has_result(result: WireResult | None) -> bool:
    if result is None:
        return False
    written = result.model_dump(exclude={"id", "remote_id"}, exclude_none=True)
    return bool({k: v for k, v in written.items() if v != []})


def order_to_canonical(
    order: WireOrder,
    *,
    remote_id: str | None = None,
    test_url: str | None = None,
    result: WireResult | None = None,
) -> Order:
    """An order from its wire body (the POST we sent, or the 2025-02 GET).

    StackOne orders have no status: OPEN (``provider_status`` None) until a result is
    written, then the result's status. ``ValueError`` when there is no id at all.
    """
    order_id = _first(remote_id, order.id, order.remote_id)
    if order_id is None:
        msg = "order without id"
        raise ValueError(msg)
    canonical_result = result_to_canonical(result) if result and _has_result(result) else None
    status, provider_status = OrderStatus.OPEN, None
    if canonical_result is not None and canonical_result.status is not None:
        status, provider_status = canonical_result.status, canonical_result.provider_status
    application = order.application
    return Order(
        provider=ProviderName.STACKONE,
        remote_id=order_id,
        status=status,
        provider_status=provider_status,
        candidate=candidate_to_canonical(order.candidate) if order.candidate else None,
        job=job_to_canonical(order.job) if order.job else None,
        application=(
            Application(
                remote_id=_first(application.id, application.remote_id),
                status=_enum_word(application.application_status),
            )
            if application
            else None
        ),
        package=_package_ref(order.package),
        requester=member_to_canonical(order.requester) if order.requester else None,
        result=canonical_result,
        test_url=test_url,
        results_update_url=order.results_update_url,
        raw=order.model_dump(mode="json", exclude_none=True),
    )


def parse_error(status: int, body: object) -> ErrorDetail | None:
    """``{statusCode, message, timestamp}`` → ErrorDetail; None for any other body."""
    del status
    if not isinstance(body, Mapping):
        return None
    message, code = body.get("message"), body.get("statusCode")
    if isinstance(message, list) and all(isinstance(m, str) for m in message):
        message = "; ".join(message)  # request-validation errors may come as a list
    if not isinstance(message, str) or isinstance(code, bool) or not isinstance(code, int | float):
        return None
    return ErrorDetail(message=message)


# StackOne's field paths, as its validation messages name them, to the result input's.
_RESULT_FIELD = re.compile(
    r"(?<![\w.\[])(?P<name>score\.(?:value|max|min|label)|score|start_date|submission_date"
    r"|summary|result_url|result(?:\.(?:value|source_value))?"
    r"|attachments(?:\[(?P<index>\d+)\](?:\.(?P<inner>url|content_type))?)?)(?![\w])"
)
_RESULT_FIELD_NAMES = {
    "score.value": ("score",),
    "score": ("score",),
    "score.max": ("maxScore",),
    "score.min": ("minScore",),
    "score.label": ("scoreLabel",),
    "start_date": ("startedAt",),
    "submission_date": ("completedAt",),
    "summary": ("summary",),
    "result_url": ("url",),
    "result": ("status",),
    "result.value": ("status",),
    "result.source_value": ("status",),
}


def result_input_field(message: str) -> tuple[str, ...] | None:
    """The result input field a StackOne refusal names (``attachments[0].url`` ->
    ``("attachments", "0", "url")``); None when it names none."""
    found = _RESULT_FIELD.search(message)
    if found is None:
        return None
    name = found["name"]
    if name in _RESULT_FIELD_NAMES:
        return _RESULT_FIELD_NAMES[name]
    index, inner = found["index"], found["inner"]
    if index is None:
        return ("attachments",)
    if inner is None:
        return ("attachments", index)
    return ("attachments", index, "url" if inner == "url" else "contentType")


# --- the adapter --------------------------------------------------------------------------


class StackOneProvider(BaseProvider):
    """One StackOne linked account (``x-account-id``)."""

    name = ProviderName.STACKONE
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CREATE_ORDER,
            Capability.SUBMIT_RESULT,
            Capability.LIST_PACKAGES,
            Capability.GET_ORDERS,
        }
    )
    route_templates = (
        f"{PREFIX}/packages",
        f"{PREFIX}/orders",
        f"{PREFIX}/orders/{{id}}",
        f"{PREFIX}/orders/{{id}}/result",
    )

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        http: HttpClient | None = None,
        page_size: int = PACKAGE_PAGE_SIZE,
    ) -> None:
        api_version = config.api_version or CURRENT_API_VERSION
        if api_version not in API_VERSIONS:
            msg = f"connection {config.id!r}: StackOne api_version must be one of {API_VERSIONS}"
            raise ValueError(msg)
        super().__init__(config, http=http)
        self.page_size = page_size
        self.api_version = api_version

    @property
    def reads_orders(self) -> bool:
        """Whether this connection's API version has the order reads (2025-02 only)."""
        return self.api_version == LEGACY_API_VERSION

    def supports(self, capability: Capability) -> bool:
        # ``capabilities`` says what StackOne can do in some version; reading an order
        # back needs the legacy version's GETs.
        if capability is Capability.GET_ORDERS and not self.reads_orders:
            return False
        return super().supports(capability)

    def result_input_field(self, message: str) -> tuple[str, ...] | None:
        return result_input_field(message)

    def auth_headers(self) -> dict[str, SecretStr]:
        token = base64.b64encode(f"{self.config.api_key.get_secret_value()}:".encode()).decode()
        return {
            "Authorization": SecretStr(f"Basic {token}"),
            "x-account-id": SecretStr(self.config.account),
        }

    @staticmethod
    def parse_error(status: int, body: object) -> ErrorDetail | None:
        return parse_error(status, body)

    async def _read(
        self,
        method: str,
        path: str,
        model: type[_WireT],
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> _WireT:
        """Send, then read the answer into ``model``; a wrong shape is a ProviderResponseError."""
        body = await self.http.json(
            method, path, params=params, json_body=json_body, idempotent=idempotent
        )
        return self.parse_wire(model.model_validate, body, method, path)

    # --- packages -----------------------------------------------------------------------

    async def list_packages(self) -> list[Package]:
        paginator = CursorPaginator()
        path = f"{PREFIX}/packages"

        async def fetch(token: str | None) -> Page[Package]:
            params = {"page_size": str(self.page_size)}
            if token:
                params["next"] = token
            page = await self._read("GET", path, WirePackagePage, params=params)
            items = []
            for wire in page.data:
                if _first(wire.id, wire.remote_id) is None:
                    # Allowed by the spec, but nothing can be ordered without an id.
                    logger.warning(
                        "connection %s: StackOne listed a package without id or remote_id "
                        "(name %r); left out",
                        self.config.id,
                        wire.name,
                    )
                    continue
                items.append(package_to_canonical(wire))
            return Page(items, paginator.next_token(page.next, token, len(page.data)))

        return [package async for package in iterate_pages(fetch)]

    # --- orders -------------------------------------------------------------------------

    async def create_order(self, order: NewOrder) -> CreatedOrder:
        path = f"{PREFIX}/orders"
        body = new_order_to_wire(order)
        # Not idempotent: a POST retried after a 5xx could create the order twice.
        created = await self._read("POST", path, WireCreated, json_body=body, idempotent=False)
        order_id = _first(created.id, created.remote_id)
        if order_id is None:
            # Not retried, by us or the caller's automation: StackOne answered 2xx, so
            # the order may well exist there, and a second POST would make another.
            raise self.http.bad_shape(
                "POST",
                path,
                "StackOne accepted the order but returned no id; the order may exist at "
                "StackOne: check there before creating it again",
            )
        canonical = order_to_canonical(
            WireOrder.model_validate(body), remote_id=order_id, test_url=created.test_url
        )
        return CreatedOrder(remote_id=order_id, test_url=created.test_url, order=canonical)

    async def submit_result(
        self, remote_id: str, result: ResultSubmission
    ) -> tuple[OrderStatus, str | None]:
        path = f"{PREFIX}/orders/{quote(remote_id, safe='')}/result"
        body = result_to_wire(result)
        # Setting a result twice leaves the same result: safe to retry. The 200 body
        # (UpdateResult) only echoes the status, so it is not read: a stored result
        # must not turn into an error because of the acknowledgement's shape.
        await self.http.request("PATCH", path, json_body=body, idempotent=True)
        # StackOne orders have no status of their own: reading one back reports its
        # result's value, so that is the status the order now has.
        wire_result = body.get("result") or {}
        status, word = result_status(wire_result.get("value"), wire_result.get("source_value"))
        return (status or result.status), word

    async def get_orders(self, remote_ids: Sequence[str]) -> dict[str, Order]:
        """Orders by id through the legacy 2025-02 GETs; absent ids are left out.

        ``UnsupportedOperationError`` (no request made) when the connection speaks the
        current version, which has no order read."""
        if not self.reads_orders:
            raise UnsupportedOperationError(
                f"StackOne API {self.api_version} has no order read (connection "
                f"{self.config.id}; set api_version = {LEGACY_API_VERSION!r} to read orders)",
                provider=self.name.value,
                connection_id=self.config.id,
            )
        limit = asyncio.Semaphore(READ_CONCURRENCY)

        async def one(remote_id: str) -> Order | None:
            async with limit:
                return await self._get_order(remote_id)

        found = await asyncio.gather(*(one(i) for i in dict.fromkeys(remote_ids)))
        return {order.remote_id: order for order in found if order is not None}

    async def _get_order(self, remote_id: str) -> Order | None:
        path = f"{PREFIX}/orders/{quote(remote_id, safe='')}"
        try:
            order = await self._read("GET", path, _Data)
        except ProviderNotFoundError:
            return None
        try:
            result: _Data | None = await self._read("GET", f"{path}/results", _Data)
        except ProviderNotFoundError:
            result = None  # no result written yet, if the vendor says so with a 404
        wire_order = self.parse_wire(WireOrder.model_validate, order.data, "GET", path)
        wire_result = (
            self.parse_wire(WireResult.model_validate, result.data, "GET", f"{path}/results")
            if result
            else None
        )
        try:
            return order_to_canonical(wire_order, remote_id=remote_id, result=wire_result)
        except ValueError as exc:
            raise self.http.bad_shape("GET", path, str(exc)) from None
