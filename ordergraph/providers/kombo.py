"""Kombo adapter: the Assessment & Background Check API (PROVIDERS.md section 3).

One adapter object serves one Kombo integration (``X-Integration-Id`` = the
connection's ``account``). Wire models live here and never leave this module; the
mapping functions are pure so they are tested without HTTP.

What PROVIDERS.md leaves unconfirmed, and what this adapter does:

* Errors: branch on Kombo's ``error.code``, not only on the HTTP status.
  ``PLATFORM.INTEGRATION_NOT_FOUND`` and ``PLATFORM.AUTHENTICATION_INVALID`` are a
  ``ProviderAuthError`` whatever the status (the account header or key is wrong;
  a 404 there must not read as "this order does not exist").
* Status filter: Kombo can only filter on OPEN/COMPLETED/CANCELLED/REJECTED. Other
  canonical statuses are dropped from the filter, since no Kombo order can be in them;
  when nothing is left, ``list_orders`` returns an empty last page without a request.
  An empty ``statuses`` means "all", like Kombo's own empty filter.
* ``created_after``: sent as ``YYYY-MM-DDTHH:mm:ss.sssZ`` in UTC; a naive datetime is
  taken to be UTC.
* Results: canonical status -> Kombo result status: OPEN/IN_PROGRESS -> OPEN,
  COMPLETED/FAILED -> COMPLETED (the candidate finished; failing is an outcome),
  CANCELLED/REJECTED/EXPIRED -> CANCELLED; UNKNOWN is a ``ValueError`` before sending.
  When Kombo's word loses information (IN_PROGRESS, FAILED, REJECTED, EXPIRED) a TEXT
  attribute ``Status`` carries the canonical one. ``completed_at`` is the submission's,
  or now for COMPLETED/CANCELLED (Kombo needs it in practice). ``summary`` becomes a
  TEXT attribute ``Summary``; ``score_label`` goes to ``remote_fields.smartrecruiters.
  scoreLabel``; ``min_score`` and ``started_at`` have no Kombo field and are dropped.
  NUMBER attributes are sent as TEXT; a SUB_RESULT needs a score and a max >= 1 (else
  it is sent as TEXT) and uses ``reference`` (or the label) as its id. Attachments are
  sent as ``data_url``; more than five is a ``ValueError`` (Kombo's limit).
  ``result_url`` and each ``data_url`` must be absolute URIs (the spec's ``format:
  uri``): anything else is a ``ValueError`` naming the field, before any request.
* Refusals name Kombo's own field paths (``result_url``, ``attachments.0.data_url``,
  ``status`` ...) in ``error.message``; ``result_input_field`` maps them back to the
  result input's fields.
* Packages: Kombo has no OTHER type; publishing a package whose type is OTHER or None
  (or without a name) is a ``ValueError``; an unknown type read back maps to OTHER.
* Webhooks: ``X-Kombo-Signature`` is verified as HMAC-SHA256(webhook secret, raw body),
  base64url with or without padding, compared in constant time, on the raw bytes
  before any parse (``signature_matches``; the intake tries each configured secret).
  No secret configured is a ``ConfigError`` (our mistake, not the sender's). A
  verified event for another integration than this connection's is a
  ``WebhookPayloadError``; event types that carry no order are accepted as a delivery
  without orders.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import quote, urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ordergraph.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ordergraph.models import (
    Application,
    AttributeType,
    Candidate,
    HiringTeamMember,
    Job,
    Location,
    Order,
    OrderStatus,
    Package,
    PackageRef,
    PackageType,
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
    WebhookDelivery,
    describe_validation,
    iterate_pages,
)
from ordergraph.providers.http import ErrorDetail, HttpClient

__all__ = [
    "KomboOrder",
    "KomboPackage",
    "KomboProvider",
    "format_datetime",
    "order_to_canonical",
    "package_to_canonical",
    "package_to_wire",
    "result_input_field",
    "result_to_wire",
    "signature_matches",
    "status_filter",
    "status_to_canonical",
    "verify_signature",
    "webhook_integration_id",
]

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 250
MAX_ATTACHMENTS = 5
# Concurrent ``ids`` lookups per get_orders call: fast, without tripping rate limits.
GET_ORDERS_CONCURRENCY = 4
SIGNATURE_HEADER = "X-Kombo-Signature"
ORDER_EVENTS = frozenset({"assessment:order-received", "inline-assessment:order-received"})
_AUTH_CODES = frozenset({"PLATFORM.INTEGRATION_NOT_FOUND", "PLATFORM.AUTHENTICATION_INVALID"})
_CONTENT_TYPE = re.compile(r"^[\w.-]+/[\w.-]+$")

M = TypeVar("M", bound=BaseModel)


# --- wire models ----------------------------------------------------------------------


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


# --- mapping: orders ------------------------------------------------------------------

_STATUS_TO_CANONICAL = {
    "OPEN": OrderStatus.OPEN,
    "COMPLETED": OrderStatus.COMPLETED,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}
# The canonical statuses Kombo's ``statuses`` filter can express (same words).
_FILTERABLE = {status: raw for raw, status in _STATUS_TO_CANONICAL.items()}


def status_to_canonical(raw: str | None) -> OrderStatus:
    """Kombo order status -> canonical (PROVIDERS.md section 4); anything else is UNKNOWN."""
    return _STATUS_TO_CANONICAL.get(raw or "", OrderStatus.UNKNOWN)


def _location(wire: KomboLocation | None) -> Location | None:
    if wire is None:
        return None
    return Location(
        street_1=wire.street_1,
        street_2=wire.street_2,
        city=wire.city,
        region=wire.state,
        postal_code=wire.zip_code,
        country=wire.country,
        raw=wire.raw,
    )


def _member(wire: KomboHiringMember) -> HiringTeamMember:
    return HiringTeamMember(
        remote_id=wire.remote_id,
        first_name=wire.first_name,
        last_name=wire.last_name,
        email=wire.email,
        roles=tuple(wire.hiring_team_roles),
    )


def _candidate(wire: KomboCandidate) -> Candidate:
    return Candidate(
        remote_id=wire.remote_id,
        first_name=wire.first_name,
        last_name=wire.last_name,
        emails=(wire.email,) if wire.email else (),
        phones=(wire.phone,) if wire.phone else (),
    )


def _job(wire: KomboJob) -> Job:
    return Job(
        remote_id=wire.remote_id,
        title=wire.name,
        code=wire.job_code,
        description=wire.description,
        location=_location(wire.location),
        hiring_team=tuple(_member(member) for member in wire.hiring_team),
    )


def order_to_canonical(wire: KomboOrder, raw: Mapping[str, Any] | None = None) -> Order:
    """A Kombo order as a canonical ``Order``; ``raw`` is the item as received.

    Kombo returns no creation time, package name or result on an order: those stay
    None (the store records first-seen time; package names come from the packages).
    """
    return Order(
        provider=ProviderName.KOMBO,
        remote_id=wire.id,
        status=status_to_canonical(wire.status),
        provider_status=wire.status,
        candidate=_candidate(wire.candidate),
        job=_job(wire.job),
        application=Application(remote_id=wire.application.remote_id),
        package=PackageRef(remote_id=wire.package_id),
        raw=dict(raw) if raw is not None else None,
    )


def format_datetime(moment: datetime) -> str:
    """Kombo's ``YYYY-MM-DDTHH:mm:ss.sssZ`` in UTC (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def status_filter(statuses: Sequence[OrderStatus] | None) -> list[str] | None:
    """Kombo ``statuses`` values for a canonical filter; None = no filter, [] = nothing
    can match (only statuses Kombo never reports were asked for)."""
    if not statuses:
        return None
    return sorted({_FILTERABLE[status] for status in statuses if status in _FILTERABLE})


# --- mapping: results -----------------------------------------------------------------

_RESULT_STATUS = {
    OrderStatus.OPEN: "OPEN",
    OrderStatus.IN_PROGRESS: "OPEN",
    OrderStatus.COMPLETED: "COMPLETED",
    OrderStatus.FAILED: "COMPLETED",
    OrderStatus.CANCELLED: "CANCELLED",
    OrderStatus.REJECTED: "CANCELLED",
    OrderStatus.EXPIRED: "CANCELLED",
}
# Canonical statuses Kombo's result status cannot say: kept in a TEXT attribute.
_STATUS_WORDS = {
    OrderStatus.IN_PROGRESS: "In progress",
    OrderStatus.FAILED: "Failed",
    OrderStatus.REJECTED: "Rejected",
    OrderStatus.EXPIRED: "Expired",
}
_SUB_RESULT_STATUS = {
    OrderStatus.COMPLETED: "COMPLETED",
    OrderStatus.FAILED: "COMPLETED",
    OrderStatus.CANCELLED: "CANCELLED",
    OrderStatus.REJECTED: "CANCELLED",
    OrderStatus.EXPIRED: "CANCELLED",
}


def _number(value: float) -> str:
    """90.0 -> "90", 4.5 -> "4.5" (no exponent notation)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _score_text(attribute: ResultAttribute) -> str | None:
    if attribute.value is not None:
        return attribute.value
    if attribute.score is None:
        return None
    text = _number(attribute.score)
    if attribute.max_score is not None:
        text += f" / {_number(attribute.max_score)}"
    return text


def _attribute_to_wire(attribute: ResultAttribute, overall: str) -> dict[str, Any] | None:
    """One Kombo attribute; None when there is nothing to say."""
    if (
        attribute.type is AttributeType.SUB_RESULT
        and attribute.score is not None
        and attribute.max_score is not None
        and attribute.max_score >= 1
    ):
        # A sub-result without its own (expressible) status shares the overall one.
        status = overall if overall in ("COMPLETED", "CANCELLED") else "COMPLETED"
        if attribute.status is not None:
            status = _SUB_RESULT_STATUS.get(attribute.status, status)
        return {
            "type": "SUB_RESULT",
            "id": attribute.reference or attribute.label,
            "label": attribute.label,
            "score": {"value": attribute.score, "max": attribute.max_score},
            "status": status,
        }
    # TEXT, NUMBER and sub-results Kombo cannot take as such are rendered as text.
    text = _score_text(attribute)
    if text is None:
        return None
    return {"type": "TEXT", "label": attribute.label, "value": text}


def _attachment_name(url: str, name: str | None, number: int) -> str:
    if name:
        return name
    return PurePosixPath(urlparse(url).path).name or f"attachment-{number}"


def _is_absolute_uri(value: str) -> bool:
    """The spec's ``format: uri``: a scheme and a host, nothing that needs escaping."""
    if any(c.isspace() for c in value):
        return False
    try:
        parts = urlparse(value)
    except ValueError:
        return False
    return bool(parts.scheme) and bool(parts.netloc)


def _attachments_to_wire(result: ResultSubmission) -> list[dict[str, Any]]:
    """Attachments by URL (Kombo fetches ``data_url`` at once); one without a URL has
    no content to send and is skipped."""
    usable = [(a.url, a) for a in result.attachments if a.url]
    if len(usable) > MAX_ATTACHMENTS:
        msg = f"Kombo takes at most {MAX_ATTACHMENTS} attachments per result, got {len(usable)}"
        raise ValueError(msg)
    for index, attachment in enumerate(result.attachments):
        if attachment.url and not _is_absolute_uri(attachment.url):
            msg = f"attachments.{index}.data_url must be an absolute URI"
            raise ValueError(msg)
    wire = []
    for number, (url, attachment) in enumerate(usable, start=1):
        item: dict[str, Any] = {
            "name": _attachment_name(url, attachment.name, number),
            "data_url": url,
        }
        # Kombo's pattern is type/subtype; anything else is left out rather than refused.
        if attachment.content_type and _CONTENT_TYPE.match(attachment.content_type):
            item["content_type"] = attachment.content_type
        wire.append(item)
    return wire


def result_to_wire(result: ResultSubmission, *, now: datetime | None = None) -> dict[str, Any]:
    """The body of ``PUT /assessment/orders/{id}/result`` (rules in the module docstring).

    ``now`` stands in for a missing ``completed_at`` on a COMPLETED/CANCELLED result.
    """
    status = _RESULT_STATUS.get(result.status)
    if status is None:
        msg = f"cannot send a result with status {result.status} to Kombo"
        raise ValueError(msg)
    if not _is_absolute_uri(result.url):
        msg = "result_url must be an absolute URI"
        raise ValueError(msg)
    body: dict[str, Any] = {"status": status, "result_url": result.url}
    completed_at = result.completed_at
    if completed_at is None and status != "OPEN":
        completed_at = now or datetime.now(UTC)
    if completed_at is not None:
        body["completed_at"] = format_datetime(completed_at)
    if result.score is not None:
        body["score"] = result.score
    if result.max_score is not None:
        body["max_score"] = result.max_score
    attributes: list[dict[str, Any]] = []
    if result.status in _STATUS_WORDS:
        attributes.append(
            {"type": "TEXT", "label": "Status", "value": _STATUS_WORDS[result.status]}
        )
    if result.summary:
        attributes.append({"type": "TEXT", "label": "Summary", "value": result.summary})
    for attribute in result.attributes:
        wire = _attribute_to_wire(attribute, status)
        if wire is not None:
            attributes.append(wire)
    body["attributes"] = attributes
    body["attachments"] = _attachments_to_wire(result)
    if result.score_label:
        body["remote_fields"] = {"smartrecruiters": {"scoreLabel": result.score_label}}
    return body


# Kombo's field paths, as its validation messages name them, to the result input's.
_RESULT_FIELD = re.compile(
    r"(?<![\w.])(?P<name>result_url|max_score|score|completed_at|status|remote_fields"
    r"|attributes|attachments)(?:\.(?P<index>\d+))?(?:\.(?P<inner>\w+))?"
)
_RESULT_FIELD_NAMES = {
    "result_url": ("url",),
    "max_score": ("maxScore",),
    "score": ("score",),
    "completed_at": ("completedAt",),
    "status": ("status",),
    "remote_fields": ("scoreLabel",),
}


def result_input_field(message: str) -> tuple[str, ...] | None:
    """The result input field a Kombo refusal (or our own check) names: the first of
    Kombo's result fields in ``message`` (``attachments.0.data_url`` ->
    ``("attachments", "0", "url")``); None when it names none."""
    found = _RESULT_FIELD.search(message)
    if found is None:
        return None
    name, index = found["name"], found["index"]
    if name in _RESULT_FIELD_NAMES:
        return _RESULT_FIELD_NAMES[name]
    if index is None:
        return (name,)
    if name == "attachments" and found["inner"] == "data_url":
        return (name, index, "url")
    return (name, index)


# --- mapping: packages ----------------------------------------------------------------

_KOMBO_PACKAGE_TYPES = {
    "BEHAVIORAL": PackageType.BEHAVIORAL,
    "VIDEO_INTERVIEW": PackageType.VIDEO_INTERVIEW,
    "SKILLS_TEST": PackageType.SKILLS_TEST,
    "BACKGROUND_CHECK": PackageType.BACKGROUND_CHECK,
    "REFERENCE_CHECK": PackageType.REFERENCE_CHECK,
}
_CANONICAL_PACKAGE_TYPES = {canonical: raw for raw, canonical in _KOMBO_PACKAGE_TYPES.items()}


def package_to_canonical(wire: KomboPackage) -> Package:
    """A Kombo package; a type Kombo added after this adapter was written is OTHER."""
    kind = None if wire.type is None else _KOMBO_PACKAGE_TYPES.get(wire.type, PackageType.OTHER)
    return Package(
        remote_id=wire.id,
        name=wire.name,
        description=wire.description,
        type=kind,
        updated_at=wire.updated_at,
    )


def package_to_wire(package: Package) -> dict[str, Any]:
    """An item of ``PUT /assessment/packages``; Kombo needs a name and one of its types."""
    kind = _CANONICAL_PACKAGE_TYPES.get(package.type) if package.type else None
    if kind is None:
        msg = f"package {package.remote_id!r}: Kombo needs one of {sorted(_KOMBO_PACKAGE_TYPES)}"
        raise ValueError(msg)
    if not package.name:
        msg = f"package {package.remote_id!r}: Kombo needs a name"
        raise ValueError(msg)
    return {
        "id": package.remote_id,
        "type": kind,
        "name": package.name,
        "description": package.description or "",
    }


# --- webhooks -------------------------------------------------------------------------


def webhook_integration_id(body: bytes) -> str | None:
    """``data.integration_id`` of a delivery, for routing it to a connection.

    Call it on a body whose signature already matched (``signature_matches``), and
    whose nesting the caller has bounded: ``json.loads`` recurses per level.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    data = payload.get("data") if isinstance(payload, dict) else None
    value = data.get("integration_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _decode_signature(signature: str) -> bytes | None:
    text = signature.strip().rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def signature_matches(secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is base64url(HMAC-SHA256(secret, raw body)), compared in
    constant time. Works on the raw bytes: nothing of the body is parsed."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    given = _decode_signature(signature)
    return given is not None and hmac.compare_digest(given, expected)


def verify_signature(secret: str, body: bytes, signature: str | None) -> None:
    """Raise ``WebhookSignatureError`` unless ``signature`` is base64url(HMAC-SHA256)."""
    if not signature:
        msg = f"missing {SIGNATURE_HEADER} header"
        raise WebhookSignatureError(msg)
    if not signature_matches(secret, body, signature):
        msg = f"{SIGNATURE_HEADER} does not match the body"
        raise WebhookSignatureError(msg)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


# --- the adapter ----------------------------------------------------------------------


class KomboProvider(BaseProvider):
    """One Kombo integration (see the module docstring for the choices made)."""

    name = ProviderName.KOMBO
    capabilities = frozenset(
        {
            Capability.LIST_ORDERS,
            Capability.GET_ORDERS,
            Capability.SUBMIT_RESULT,
            Capability.LIST_PACKAGES,
            Capability.PUBLISH_PACKAGES,
            Capability.RECEIVE_WEBHOOKS,
        }
    )
    bulk_page_size = MAX_PAGE_SIZE
    route_templates = (
        "/assessment/orders",
        "/assessment/orders/{id}/result",
        "/assessment/packages",
    )

    def __init__(self, config: ConnectionConfig, *, http: HttpClient | None = None) -> None:
        if not config.account.strip():
            msg = f"connection {config.id!r}: a Kombo connection needs its integration id"
            raise ConfigError(msg)
        super().__init__(config, http=http)
        self._paginator = CursorPaginator()

    def auth_headers(self) -> dict[str, SecretStr]:
        return {
            "Authorization": SecretStr("Bearer " + self.config.api_key.get_secret_value()),
            "X-Integration-Id": SecretStr(self.config.account),
        }

    @staticmethod
    def parse_error(status: int, body: object) -> ErrorDetail | None:
        """``{"status": "error", "error": {code, title, message, log_url}}``."""
        del status
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None
        message, code, log_url = error.get("message"), error.get("code"), error.get("log_url")
        if not isinstance(message, str) or not message:
            return None
        return ErrorDetail(
            message=message,
            code=code if isinstance(code, str) else None,
            log_url=log_url if isinstance(log_url, str) else None,
        )

    # --- plumbing -------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        """``http.json`` with Kombo's auth codes made a ``ProviderAuthError``."""
        try:
            return await self.http.json(method, path, params=params, json_body=json_body)
        except ProviderError as exc:
            if exc.code not in _AUTH_CODES or isinstance(exc, ProviderAuthError):
                raise
            raise ProviderAuthError(
                exc.message,
                provider=exc.provider,
                connection_id=exc.connection_id,
                status=exc.status,
                code=exc.code,
                method=exc.method,
                path=exc.path,
                log_url=exc.log_url,
            ) from exc

    def _parse(self, model: type[M], payload: Any, method: str, path: str) -> M:
        return self.parse_wire(model.model_validate, payload, method, path)

    async def _orders_page(self, params: Mapping[str, str], cursor: str | None) -> Page[Order]:
        path = "/assessment/orders"
        payload = await self._json("GET", path, params=params)
        data = self._parse(KomboOrdersResponse, payload, "GET", path).data
        raw_items = payload["data"]["results"]  # the shape was just checked
        orders = [
            order_to_canonical(wire, raw) for wire, raw in zip(data.results, raw_items, strict=True)
        ]
        return Page(orders, self._paginator.next_token(data.next, cursor, len(orders)))

    # --- orders ---------------------------------------------------------------------

    async def list_orders(
        self,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        created_after: datetime | None = None,
    ) -> Page[Order]:
        params: dict[str, str] = {}
        if page_size is not None:
            if not 1 <= page_size <= MAX_PAGE_SIZE:
                msg = f"Kombo page_size must be from 1 to {MAX_PAGE_SIZE}, got {page_size}"
                raise ValueError(msg)
            params["page_size"] = str(page_size)
        wanted = status_filter(statuses)
        if wanted == []:
            return Page([], None)  # no Kombo order can be in the statuses asked for
        if wanted:
            params["statuses"] = ",".join(wanted)
        if created_after is not None:
            params["created_after"] = format_datetime(created_after)
        if cursor:
            params["cursor"] = cursor
        return await self._orders_page(params, cursor)

    async def get_orders(self, remote_ids: Sequence[str]) -> dict[str, Order]:
        """Orders by id: one ``ids`` lookup per 250 ids, a few at a time; ids Kombo
        does not know are absent from the result. An id with a comma cannot be put in
        the ``ids`` list (no Kombo id has one) and is reported missing."""
        unique = list(dict.fromkeys(i for i in remote_ids if i and "," not in i))
        batches = [unique[i : i + MAX_PAGE_SIZE] for i in range(0, len(unique), MAX_PAGE_SIZE)]
        limit = asyncio.Semaphore(GET_ORDERS_CONCURRENCY)

        async def run(batch: list[str]) -> list[Order]:
            async with limit:
                return await self._orders_by_ids(batch)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(run(batch)) for batch in batches]
        except BaseExceptionGroup as failed:
            raise _first_error(failed) from None
        wanted = set(unique)
        return {
            order.remote_id: order
            for task in tasks
            for order in task.result()
            if order.remote_id in wanted
        }

    async def _orders_by_ids(self, ids: list[str]) -> list[Order]:
        params = {"ids": ",".join(ids), "page_size": str(MAX_PAGE_SIZE)}

        async def fetch(token: str | None) -> Page[Order]:
            return await self._orders_page(params | ({"cursor": token} if token else {}), token)

        return [order async for order in iterate_pages(fetch)]

    # --- writes ---------------------------------------------------------------------

    def check_result(self, result: ResultSubmission) -> None:
        result_to_wire(result)

    def result_input_field(self, message: str) -> tuple[str, ...] | None:
        return result_input_field(message)

    async def submit_result(
        self, remote_id: str, result: ResultSubmission
    ) -> tuple[OrderStatus, str | None]:
        """``PUT`` the result (idempotent, so the HTTP layer may retry it); the order's
        status becomes the result status Kombo was sent."""
        body = result_to_wire(result)
        path = f"/assessment/orders/{quote(remote_id, safe='')}/result"
        payload = await self._json("PUT", path, json_body=body)
        self._log_warnings(self._parse(KomboWriteResponse, payload, "PUT", path), path)
        written = str(body["status"])
        return status_to_canonical(written), written

    async def list_packages(self) -> list[Package]:
        path = "/assessment/packages"
        payload = await self._json("GET", path)
        data = self._parse(KomboPackagesResponse, payload, "GET", path).data
        return [package_to_canonical(package) for package in data.packages]

    async def publish_packages(self, packages: Sequence[Package]) -> list[str]:
        """Replace the whole package list (missing packages become deleted at Kombo);
        returns Kombo's warnings."""
        body = {"packages": [package_to_wire(package) for package in packages]}
        path = "/assessment/packages"
        payload = await self._json("PUT", path, json_body=body)
        response = self._parse(KomboWriteResponse, payload, "PUT", path)
        self._log_warnings(response, path)
        return [warning.message for warning in response.warnings]

    def _log_warnings(self, response: KomboWriteResponse, path: str) -> None:
        for warning in response.warnings:
            logger.info(
                "kombo warning on %s (connection %s): %s", path, self.config.id, warning.message
            )

    # --- webhooks -------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """Verify ``X-Kombo-Signature``, then map the event (rules in the module docstring)."""
        secret = self.config.webhook_secret
        if secret is None:
            msg = f"connection {self.config.id!r} has no Kombo webhook secret configured"
            raise ConfigError(msg)
        verify_signature(secret.get_secret_value(), body, _header(headers, SIGNATURE_HEADER))
        try:
            event = KomboWebhookEvent.model_validate_json(body)
        except ValidationError as exc:
            detail = describe_validation(exc)
            raise WebhookPayloadError(f"not a Kombo webhook: {detail}") from None
        if event.type not in ORDER_EVENTS:
            account = event.data.get("integration_id")
            return WebhookDelivery(
                provider=self.name,
                kind=event.type,
                orders=[],
                account=account if isinstance(account, str) else None,
                event_id=event.id,
            )
        try:
            order = KomboWebhookOrder.model_validate(event.data)
        except ValidationError as exc:
            msg = f"not a Kombo {event.type} order: {describe_validation(exc)}"
            raise WebhookPayloadError(msg) from None
        if order.integration_id != self.config.account:
            msg = "the event belongs to another integration than this connection's"
            raise WebhookPayloadError(msg)
        return WebhookDelivery(
            provider=self.name,
            kind=event.type,
            orders=[order_to_canonical(order, event.data)],
            account=order.integration_id,
            event_id=event.id,
        )


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf of a task group's failure (callers expect a plain ProviderError)."""
    first = group.exceptions[0]
    return _first_error(first) if isinstance(first, BaseExceptionGroup) else first
