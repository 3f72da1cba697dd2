"""Unified.to adapter: assessment orders, results, packages and webhooks.

Wire models (lenient: enums are plain strings, unknown fields ignored) and pure
mapping functions both ways live here; nothing outside this module sees Unified's
wire format (PROVIDERS.md sections 1, 4 and 5).

What PROVIDERS.md leaves unconfirmed, and what this adapter chose:

* **No list of orders** exists (1.2), so there is no ``LIST_ORDERS`` capability; orders
  arrive by webhook and are re-read with the SDK-only ``GET …/order/{id}`` (one
  request per id, at most ``max_concurrency`` at a time; a 404 leaves the id out).
* **workspace_id in request bodies**: the spec's ``AssessmentOrder`` requires
  ``workspace_id`` and ``connection_id`` even in PUT/PATCH/POST bodies. The adapter
  sends the connection id and the workspace id it has learned from any order, package
  or webhook it has read. When none has been read yet, ``submit_result`` first GETs the
  order (which also turns an unknown id into ``ProviderNotFoundError`` before the
  write) and ``create_order`` first GETs the package it orders. If Unified never
  tells us, the field is left out rather than invented.
* **Result write** is a PATCH (idempotent: it sets values) carrying ``status`` as well
  as ``response_status`` (same value): the order's lifecycle follows its result.
  ``summary`` goes to ``response_details`` as one ``{"title": "Summary", "text": …}``
  entry; attachment URLs go to ``response_download_urls``. ``min_score``,
  ``score_label`` and ``started_at`` have no Unified field and are not sent.
  Canonical statuses Unified cannot express (``CANCELLED``, ``EXPIRED``, ``UNKNOWN``)
  are refused with ``ProviderInputError`` before any request, never mapped to a guess.
* **Order status** is ``status``; when absent, ``response_status``; when both are
  absent, ``UNKNOWN``. An unknown string maps to ``UNKNOWN`` and is kept in
  ``provider_status``. Unknown attribute types read as ``TEXT``; an unknown package
  type reads as ``None``.
* **Webhooks**: ``register_webhook`` creates two subscriptions on the connection,
  ``event: "updated"`` first and then ``event: "created"`` (the latter with
  ``include_all``, so the backfill arrives once and no update falls between the two),
  both ``webhook_type: "virtual"``; it returns their ids comma-joined, created first.
* **Signature** ``sig`` = HMAC-SHA1(workspace secret, data + nonce) where ``data`` is
  re-serialized as compact JSON (``JSON.stringify`` of the array as sent); both a
  base64 and a hex digest are accepted (``signature_digest`` is the one place the
  serialization is decided). ``config.webhook_secret`` is the workspace secret.
* Package ``BEHAVIORAL_ASSESSMENT`` ↔ canonical ``BEHAVIORAL``; publishing a package
  without a name or type (both required by Unified) is skipped with a warning.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, SecretStr, TypeAdapter, ValidationError

from ordergraph.errors import (
    ConfigError,
    ProviderInputError,
    ProviderNotFoundError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ordergraph.models import (
    Address,
    Application,
    AssessmentResult,
    Attachment,
    AttributeType,
    Candidate,
    CreatedOrder,
    Job,
    NewOrder,
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
    OffsetPaginator,
    Page,
    WebhookDelivery,
    describe_validation,
    iterate_pages,
)
from ordergraph.providers.http import ErrorDetail, HttpClient

__all__ = [
    "UnifiedAddress",
    "UnifiedAttribute",
    "UnifiedDelivery",
    "UnifiedOrder",
    "UnifiedPackage",
    "UnifiedProvider",
    "UnifiedResponseDetail",
    "UnifiedWebhook",
    "new_order_to_wire",
    "order_to_canonical",
    "package_to_canonical",
    "package_to_wire",
    "result_input_field",
    "result_to_wire",
    "signature_digest",
    "status_to_canonical",
    "status_to_wire",
    "verify_signature",
]

ORDER_OBJECT = "assessment_order"
GENDERS = frozenset({"MALE", "FEMALE", "INTERSEX", "TRANS", "NON_BINARY"})

# --- wire models -------------------------------------------------------------------------


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
M = TypeVar("M", bound=BaseModel)

# --- status and type vocabularies -------------------------------------------------------

_STATUS_TO_CANONICAL = {
    "OPEN": OrderStatus.OPEN,
    "IN_PROGRESS": OrderStatus.IN_PROGRESS,
    "COMPLETED": OrderStatus.COMPLETED,
    "FAILED": OrderStatus.FAILED,
    "REJECTED": OrderStatus.REJECTED,
}
_STATUS_TO_WIRE = {canonical: wire for wire, canonical in _STATUS_TO_CANONICAL.items()}
_PACKAGE_TYPE_TO_CANONICAL = {
    "SKILLS_TEST": PackageType.SKILLS_TEST,
    "BEHAVIORAL_ASSESSMENT": PackageType.BEHAVIORAL,
    "VIDEO_INTERVIEW": PackageType.VIDEO_INTERVIEW,
    "BACKGROUND_CHECK": PackageType.BACKGROUND_CHECK,
    "REFERENCE_CHECK": PackageType.REFERENCE_CHECK,
    "OTHER": PackageType.OTHER,
}
_PACKAGE_TYPE_TO_WIRE = {canonical: wire for wire, canonical in _PACKAGE_TYPE_TO_CANONICAL.items()}


def status_to_canonical(raw: str | None) -> OrderStatus:
    """Unified status → canonical; anything unknown is ``UNKNOWN``."""
    if raw is None:
        return OrderStatus.UNKNOWN
    return _STATUS_TO_CANONICAL.get(raw.upper(), OrderStatus.UNKNOWN)


def status_to_wire(status: OrderStatus) -> str:
    """Canonical status → Unified; ``ValueError`` when Unified has no such status."""
    try:
        return _STATUS_TO_WIRE[status]
    except KeyError:
        msg = f"Unified has no order status for {status.value}"
        raise ValueError(msg) from None


def _wire_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Drop absent values: Unified reads a sent ``null`` as 'clear this field'."""
    return {name: value for name, value in fields.items() if value not in (None, [], "")}


# --- wire → canonical --------------------------------------------------------------------


def _address(wire: UnifiedAddress) -> Address:
    return Address(
        street_1=wire.address1,
        street_2=wire.address2,
        city=wire.city,
        region=wire.region or wire.region_code,
        postal_code=wire.postal_code,
        country=wire.country or wire.country_code,
    )


def _candidate(wire: UnifiedOrder) -> Candidate | None:
    candidate = Candidate(
        remote_id=wire.candidate_id,
        first_name=wire.profile_first_name,
        last_name=wire.profile_last_name,
        name=wire.profile_name,
        emails=tuple(wire.profile_emails or ()),
        phones=tuple(wire.profile_telephones or ()),
        profile_url=wire.profile_resume_url,
        date_of_birth=wire.profile_date_of_birth,
        national_identifier=wire.profile_national_identifier,
        ip_address=wire.profile_ip_address,
        gender=wire.profile_gender,
        addresses=tuple(_address(a) for a in wire.profile_addresses or ()),
    )
    return None if candidate == Candidate() else candidate


def _attribute(wire: UnifiedAttribute) -> ResultAttribute:
    try:
        kind = AttributeType(wire.type.upper())
    except ValueError:
        kind = AttributeType.TEXT  # unknown kinds still carry a label and value
    return ResultAttribute(
        type=kind,
        label=wire.label,
        value=wire.value,
        score=wire.score_value,
        max_score=wire.score_max,
        status=None if wire.status is None else status_to_canonical(wire.status),
        reference=wire.reference,
    )


def _attachments(wire: UnifiedOrder) -> tuple[Attachment, ...]:
    urls = [Attachment(url=url) for url in wire.response_download_urls or ()]
    details = [
        Attachment(url=d.download_url, name=d.title)
        for d in wire.response_details or ()
        if d.download_url
    ]
    return tuple(urls + details)


def _summary(wire: UnifiedOrder) -> str | None:
    texts = [d.text for d in wire.response_details or () if d.text]
    return "\n\n".join(texts) or None


def _result(wire: UnifiedOrder) -> AssessmentResult | None:
    present = (
        wire.response_status,
        wire.response_score,
        wire.response_max_score,
        wire.response_url,
        wire.response_completed_at,
        wire.response_attributes,
        wire.response_download_urls,
        wire.response_details,
    )
    if all(value is None for value in present):
        return None
    return AssessmentResult(
        status=None if wire.response_status is None else status_to_canonical(wire.response_status),
        provider_status=wire.response_status,
        score=wire.response_score,
        max_score=wire.response_max_score,
        url=wire.response_url,
        completed_at=wire.response_completed_at,
        summary=_summary(wire),
        attributes=tuple(_attribute(a) for a in wire.response_attributes or ()),
        attachments=_attachments(wire),
    )


def order_to_canonical(wire: UnifiedOrder) -> Order:
    """A Unified ``AssessmentOrder`` as a canonical ``Order`` (nothing invented)."""
    raw_status = wire.status if wire.status is not None else wire.response_status
    return Order(
        provider=ProviderName.UNIFIED,
        remote_id=wire.id,
        status=status_to_canonical(raw_status),
        provider_status=raw_status,
        created_at=wire.created_at,
        updated_at=wire.updated_at,
        candidate=_candidate(wire),
        # Unified carries only ids for job and application (PROVIDERS.md 1.3).
        job=Job(remote_id=wire.job_id) if wire.job_id else None,
        application=Application(remote_id=wire.application_id) if wire.application_id else None,
        package=PackageRef(remote_id=wire.package_id) if wire.package_id else None,
        result=_result(wire),
        target_url=wire.target_url,
        redirect_url=wire.response_redirect_url,
        reference=wire.reference,
        raw=wire.raw,
    )


def package_to_canonical(wire: UnifiedPackage) -> Package:
    return Package(
        remote_id=wire.id,
        name=wire.name,
        description=wire.description,
        type=None if wire.type is None else _PACKAGE_TYPE_TO_CANONICAL.get(wire.type.upper()),
        updated_at=wire.updated_at,
    )


# --- canonical → wire --------------------------------------------------------------------


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


# --- webhook signature -------------------------------------------------------------------


def _js_numbers(value: Any) -> Any:
    """Integral floats as ints, as JavaScript's ``JSON.stringify`` writes them ("100",
    not "100.0"): Unified signs what its Node service serialises."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    return value


def signature_digest(secret: str, data: Sequence[Any], nonce: str) -> bytes:
    """HMAC-SHA1(secret, compact JSON of ``data`` + nonce).

    The serialization is our choice (PROVIDERS.md 1.7: not found); this is the only
    place the adapter makes it.
    """
    text = json.dumps(_js_numbers(list(data)), separators=(",", ":"), ensure_ascii=False)
    message = text + nonce
    return hmac.new(secret.encode(), message.encode(), hashlib.sha1).digest()


def verify_signature(secret: str, data: Sequence[Any], nonce: str, sig: str) -> bool:
    """Constant-time check of ``sig`` as a base64 or a hex digest."""
    digest = signature_digest(secret, data, nonce)
    given = sig.strip().encode()
    candidates = (base64.b64encode(digest), digest.hex().encode())
    # Compare against every candidate so timing does not reveal which encoding matched.
    matches = [hmac.compare_digest(given, candidate) for candidate in candidates]
    return any(matches)


# --- the adapter -------------------------------------------------------------------------


class UnifiedProvider(BaseProvider):
    """One Unified.to assessment connection (``config.account`` is the connection id)."""

    name = ProviderName.UNIFIED
    capabilities = frozenset(
        {
            Capability.GET_ORDERS,
            Capability.CREATE_ORDER,
            Capability.SUBMIT_RESULT,
            Capability.LIST_PACKAGES,
            Capability.PUBLISH_PACKAGES,
            Capability.RECEIVE_WEBHOOKS,
            Capability.REGISTER_WEBHOOK,
        }
    )
    route_templates = (
        "/assessment/{connection}/order",
        "/assessment/{connection}/order/{id}",
        "/assessment/{connection}/package",
        "/assessment/{connection}/package/{id}",
        "/unified/webhook",
    )
    # Page size for the package list (Unified's default and maximum: not found).
    package_page_size: int = 100
    # Order reads are one request per id; this bounds them per call.
    max_concurrency: int = 8

    def __init__(self, config: ConnectionConfig, *, http: HttpClient | None = None) -> None:
        super().__init__(config, http=http)
        self._workspace_id: str | None = None

    def auth_headers(self) -> dict[str, SecretStr]:
        return {"Authorization": SecretStr("Bearer " + self.config.api_key.get_secret_value())}

    @staticmethod
    def parse_error(status: int, body: object) -> ErrorDetail | None:
        """Unified's error body is not documented; read ``message`` (or ``error``)."""
        del status
        if not isinstance(body, dict):
            return None
        for key in ("message", "error"):
            text = body.get(key)
            if isinstance(text, str) and text:
                return ErrorDetail(message=text)
        return None

    # --- paths and parsing -------------------------------------------------------------

    def _base(self) -> str:
        return "/assessment/" + quote(self.config.account, safe="")

    def _order_path(self, remote_id: str | None = None) -> str:
        path = self._base() + "/order"
        return path if remote_id is None else f"{path}/{quote(remote_id, safe='')}"

    def _package_path(self, remote_id: str | None = None) -> str:
        path = self._base() + "/package"
        return path if remote_id is None else f"{path}/{quote(remote_id, safe='')}"

    def _parse(self, model: type[M], method: str, path: str, payload: Any) -> M:
        return self.parse_wire(model.model_validate, payload, method, path)

    def _remember_workspace(self, workspace_id: str | None) -> None:
        if workspace_id:
            self._workspace_id = workspace_id

    # --- orders -------------------------------------------------------------------------

    async def _get_order(self, remote_id: str) -> Order:
        path = self._order_path(remote_id)
        payload = await self.http.json("GET", path)
        wire = self._parse(UnifiedOrder, "GET", path, payload)
        self._remember_workspace(wire.workspace_id)
        return order_to_canonical(wire)

    async def get_orders(self, remote_ids: Sequence[str]) -> dict[str, Order]:
        unique = list(dict.fromkeys(remote_ids))
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(remote_id: str) -> Order | None:
            async with gate:
                try:
                    return await self._get_order(remote_id)
                except ProviderNotFoundError:
                    return None

        tasks = [asyncio.create_task(one(remote_id)) for remote_id in unique]
        try:
            found = await asyncio.gather(*tasks)
        except BaseException:
            # One failure fails the call; stop the reads still running.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return {rid: order for rid, order in zip(unique, found, strict=True) if order is not None}

    async def create_order(self, order: NewOrder) -> CreatedOrder:
        if self._workspace_id is None:
            await self._learn_workspace_from_package(order.package.remote_id)
        path = self._order_path()
        body = new_order_to_wire(
            order, connection_id=self.config.account, workspace_id=self._workspace_id
        )
        payload = await self.http.json("POST", path, json_body=body)
        wire = self._parse(UnifiedOrder, "POST", path, payload)
        self._remember_workspace(wire.workspace_id)
        return CreatedOrder(remote_id=wire.id, test_url=None, order=order_to_canonical(wire))

    def check_result(self, result: ResultSubmission) -> None:
        result_to_wire(result)

    def result_input_field(self, message: str) -> tuple[str, ...] | None:
        return result_input_field(message)

    async def submit_result(
        self, remote_id: str, result: ResultSubmission
    ) -> tuple[OrderStatus, str | None]:
        path = self._order_path(remote_id)
        try:
            fields = result_to_wire(result)
        except ValueError as exc:
            raise ProviderInputError(
                str(exc),
                provider=self.name.value,
                connection_id=self.config.id,
                method="PATCH",
                path=path,
            ) from None
        if self._workspace_id is None:
            await self._get_order(remote_id)  # learns the workspace; 404 before writing
        body = _compact(
            {
                "workspace_id": self._workspace_id,
                "connection_id": self.config.account,
                **fields,
            }
        )
        payload = await self.http.json("PATCH", path, json_body=body, idempotent=True)
        order = order_to_canonical(self._parse(UnifiedOrder, "PATCH", path, payload))
        # Unified answers with the order as it now stands.
        return order.status, order.provider_status

    # --- packages -----------------------------------------------------------------------

    async def _learn_workspace_from_package(self, package_id: str) -> None:
        path = self._package_path(package_id)
        payload = await self.http.json("GET", path)
        self._remember_workspace(self._parse(UnifiedPackage, "GET", path, payload).workspace_id)

    async def _package_page(self, token: str | None, paginator: OffsetPaginator) -> Page[Package]:
        path = self._package_path()
        params = {"limit": str(paginator.limit), "offset": token or "0"}
        payload = await self.http.json("GET", path, params=params)
        wires = self.parse_wire(_PACKAGE_LIST.validate_python, payload, "GET", path)
        for wire in wires[:1]:
            self._remember_workspace(wire.workspace_id)
        return Page(
            items=[package_to_canonical(wire) for wire in wires],
            next_token=paginator.next_token(None, token, len(wires)),
        )

    async def list_packages(self) -> list[Package]:
        paginator = OffsetPaginator(self.package_page_size)

        async def fetch(token: str | None) -> Page[Package]:
            return await self._package_page(token, paginator)

        return [package async for package in iterate_pages(fetch)]

    async def publish_packages(self, packages: Sequence[Package]) -> list[str]:
        """Create new packages (POST) and update existing ones (PATCH, keeping fields
        we do not model such as parameters and regions)."""
        existing = {package.remote_id for package in await self.list_packages()}
        warnings: list[str] = []
        for package in packages:
            body = package_to_wire(package)
            if body is None:
                warnings.append(
                    f"package {package.remote_id} skipped: Unified requires a name and a type"
                )
                continue
            if package.remote_id in existing:
                path = self._package_path(package.remote_id)
                payload = await self.http.json("PATCH", path, json_body=body, idempotent=True)
                self._parse(UnifiedPackage, "PATCH", path, payload)
            else:
                path = self._package_path()
                payload = await self.http.json("POST", path, json_body=body)
                self._parse(UnifiedPackage, "POST", path, payload)
                existing.add(package.remote_id)
        return warnings

    # --- webhooks -----------------------------------------------------------------------

    async def _subscribe(self, hook_url: str, event: str, include_all: bool) -> str:
        path = "/unified/webhook"
        body = {
            "connection_id": self.config.account,
            "object_type": ORDER_OBJECT,
            "event": event,
            "hook_url": hook_url,
            "webhook_type": "virtual",
        }
        params = {"include_all": "true" if include_all else "false"}
        payload = await self.http.json("POST", path, params=params, json_body=body)
        webhook = self._parse(UnifiedWebhook, "POST", path, payload)
        if not webhook.id:
            raise self.http.bad_shape("POST", path, "webhook has no id")
        return webhook.id

    async def register_webhook(self, hook_url: str, *, include_all: bool = True) -> str:
        updated = await self._subscribe(hook_url, "updated", include_all=False)
        created = await self._subscribe(hook_url, "created", include_all=include_all)
        return f"{created},{updated}"

    def _secret(self) -> str:
        if self.config.webhook_secret is None:
            msg = f"connection {self.config.id} has no Unified workspace secret configured"
            raise ConfigError(msg)
        return self.config.webhook_secret.get_secret_value()

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """Verify and map one delivery. Unified signs inside the body, not in a header."""
        del headers
        secret = self._secret()
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookPayloadError("Unified webhook body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookPayloadError("Unified webhook body is not a JSON object")
        sig, nonce, data = payload.get("sig"), payload.get("nonce"), payload.get("data")
        if not isinstance(sig, str) or not sig or not isinstance(nonce, str):
            raise WebhookSignatureError("Unified webhook has no signature")
        if not isinstance(data, list):
            raise WebhookPayloadError("Unified webhook has no data array")
        try:
            verified = verify_signature(secret, data, nonce, sig)
        except UnicodeEncodeError:
            # JSON may escape a lone surrogate ("\ud800"), which has no UTF-8 form to sign.
            raise WebhookPayloadError("Unified webhook contains text that is not Unicode") from None
        if not verified:
            raise WebhookSignatureError("Unified webhook signature does not match")
        try:
            delivery = UnifiedDelivery.model_validate(payload)
        except ValidationError as exc:
            raise WebhookPayloadError(f"Unified webhook: {describe_validation(exc)}") from None
        return self._delivery(delivery)

    def _delivery(self, delivery: UnifiedDelivery) -> WebhookDelivery:
        account = self.config.account
        if delivery.webhook.connection_id != account or any(
            item.connection_id not in (None, account) for item in delivery.data
        ):
            raise WebhookPayloadError("Unified webhook is for another connection")
        for item in delivery.data[:1]:
            self._remember_workspace(item.workspace_id)
        return WebhookDelivery(
            provider=self.name,
            kind=delivery.type,
            orders=[order_to_canonical(item) for item in delivery.data],
            account=delivery.webhook.connection_id,
            nonce=delivery.nonce,
            extra={"webhook_id": delivery.webhook.id} if delivery.webhook.id else {},
        )
