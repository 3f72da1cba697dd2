"""Kombo simulator: the Assessment & Background Check API of ``tests/specs/kombo-…json``.

Mounted at ``/kombo/v1`` (Kombo's servers end in ``/v1``). It answers to the vendor
spec, not to ordergraph's adapter: nothing here imports ``ordergraph.providers``.

What the spec and PROVIDERS.md section 3 leave open, and what this simulator does:

* Credentials: one sandbox Kombo customer, so one API key (derived from the seed) for
  every integration, sent as ``Authorization: Bearer <key>``; one webhook secret for
  the whole customer (Kombo's secret belongs to the environment, not the integration).
* HTTP status per error code (the spec only has a ``default`` response):
  ``PLATFORM.AUTHENTICATION_INVALID`` 401 (missing or wrong key, checked first);
  ``PLATFORM.INPUT_INVALID`` 400 (bad query, bad body, missing ``X-Integration-Id``,
  malformed cursor, a status change on a non-OPEN order) and 404 for an unknown
  order id (the enum has no generic not-found code); ``PLATFORM.INTEGRATION_NOT_FOUND``
  404 for an ``X-Integration-Id`` this customer does not have;
  ``PLATFORM.RATE_LIMIT_EXCEEDED`` 429; ``PLATFORM.TASK_TIMED_OUT`` 408;
  ``REMOTE.SERVICE_UNAVAILABLE`` 502/503/504; ``PLATFORM.UNKNOWN_ERROR`` other 5xx;
  an unknown path or method is 404/405 ``PLATFORM.INPUT_INVALID``. ``log_url`` is null.
* OPEN-only rule: a result ``PUT`` may change the order's status only while the order
  is OPEN. A ``PUT`` that keeps the current status (a retry, a corrected score) is
  accepted in any state, which keeps the write idempotent; one that would change a
  COMPLETED/CANCELLED/REJECTED order's status is a 400 ``PLATFORM.INPUT_INVALID``.
  ``completed_at`` is required when the result status is COMPLETED or CANCELLED.
* Bodies are validated strictly: unknown keys are refused (400) so a typo in a client
  shows up here instead of being silently dropped. An attachment needs exactly one of
  ``data_url``/``data``, and ``content_type`` when ``data`` is used.
* Pagination: ``next`` is an opaque base64url token naming the last order returned
  (no offset); filters are read from each request's query (clients resend them), and a
  cursor from another integration is a 400.
  Orders are kept in creation order with their (internal) creation time, so
  ``created_after`` is a binary search and a page costs O(page) plus skipped rows.
* Webhooks: ``assessment:order-received`` for each order created through the control
  API, signed in ``X-Kombo-Signature`` as base64url without padding of
  HMAC-SHA256(webhook secret, raw body) (unconfirmed by Kombo; see PROVIDERS.md 3.6).
  Status changes send nothing: Kombo has no such event, clients poll.
* Ground truth rows carry two extra keys: ``created_at`` (internal creation time, for
  checking ``created_after``) and, once written, ``result`` (the accepted PUT body).
* Null location parts are left out of ``job.location`` (all its keys are optional), so
  the same order validates both as a list item and as a webhook ``data``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import json
import random
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ordergraph.sandbox.core import Account, SandboxContext, Simulator, iso, json_response
from ordergraph.sandbox.data import OrderFactory, SeedOrder, seed_packages

__all__ = ["KomboApiError", "KomboSimulator", "sign"]

ORDER_STATUSES = ("OPEN", "COMPLETED", "CANCELLED", "REJECTED")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 250
ORDER_RECEIVED = "assessment:order-received"
# Key order of a package in GET /assessment/packages.
_PACKAGE_KEYS = ("id", "name", "description", "updated_at", "type")

# The tools (ATSs) sandbox integrations pretend to be connected to.
_TOOLS = ("greenhouse", "recruitee", "workday", "lever", "smartrecruiters", "personio")
# Kombo ids look like base58 strings of 24 characters ("HWUTwvyx2wLoSUHphiWVrp28").
_ID_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# The spec's pattern for created_after and completed_at.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?)?Z?$")
_PACKAGES_UPDATED_AT = datetime(2025, 12, 1, 8, 30, tzinfo=UTC)

AUTHENTICATION_INVALID = "PLATFORM.AUTHENTICATION_INVALID"
INPUT_INVALID = "PLATFORM.INPUT_INVALID"
INTEGRATION_NOT_FOUND = "PLATFORM.INTEGRATION_NOT_FOUND"

_TITLES = {
    "PLATFORM.RATE_LIMIT_EXCEEDED": "Rate limit exceeded",
    INTEGRATION_NOT_FOUND: "Integration not found",
    INPUT_INVALID: "Invalid input",
    "PLATFORM.UNKNOWN_ERROR": "Unknown error",
    AUTHENTICATION_INVALID: "Authentication invalid",
    "PLATFORM.TASK_TIMED_OUT": "Task timed out",
    "REMOTE.SERVICE_UNAVAILABLE": "Remote service unavailable",
}


class KomboApiError(Exception):
    """An error the simulator answers with Kombo's ``ErrorResponseATS`` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self, headers: Mapping[str, str] | None = None) -> web.Response:
        return json_response(error_body(self.code, self.message), self.status, headers=headers)


def error_body(code: str, message: str) -> dict[str, Any]:
    """Kombo's error envelope."""
    return {
        "status": "error",
        "error": {"code": code, "title": _TITLES.get(code), "message": message, "log_url": None},
    }


def code_for_status(status: int) -> str:
    """The Kombo error code an injected fault of this HTTP status carries."""
    if status == 401:
        return AUTHENTICATION_INVALID
    if status == 404:
        return INTEGRATION_NOT_FOUND
    if status == 408:
        return "PLATFORM.TASK_TIMED_OUT"
    if status == 429:
        return "PLATFORM.RATE_LIMIT_EXCEEDED"
    if status in (502, 503, 504):
        return "REMOTE.SERVICE_UNAVAILABLE"
    if status >= 500:
        return "PLATFORM.UNKNOWN_ERROR"
    return INPUT_INVALID


def sign(secret: str, body: bytes) -> str:
    """``X-Kombo-Signature``: base64url, unpadded, of HMAC-SHA256 over the raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _kombo_id(rng: random.Random) -> str:
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(24))


def _derived_secret(seed: int, purpose: str) -> str:
    return hashlib.sha256(f"kombo:{seed}:{purpose}".encode()).hexdigest()[:40]


# --- request bodies -------------------------------------------------------------------


class _Body(BaseModel):
    # strict: no "90" for a number; forbid: unknown keys are a client bug (docstring).
    model_config = ConfigDict(extra="forbid", strict=True)


def _check_uri(value: str) -> str:
    parts = urlparse(value)
    if not parts.scheme or not (parts.netloc or parts.path):
        msg = "must be an absolute URI"
        raise ValueError(msg)
    return value


class _TextAttribute(_Body):
    type: Literal["TEXT"]
    label: str
    value: str


class _SubScore(_Body):
    value: float
    max: float = Field(ge=1)


class _SubResultAttribute(_Body):
    type: Literal["SUB_RESULT"]
    id: str
    label: str
    score: _SubScore
    status: Literal["COMPLETED", "CANCELLED"]


class _Attachment(_Body):
    name: str
    content_type: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$")
    data_url: str | None = None
    data: str | None = None

    @field_validator("data_url")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        return None if value is None else _check_uri(value)

    @model_validator(mode="after")
    def _one_source(self) -> _Attachment:
        if (self.data_url is None) == (self.data is None):
            msg = "an attachment needs exactly one of data_url and data"
            raise ValueError(msg)
        if self.data is not None and self.content_type is None:
            msg = "content_type is required when data is used"
            raise ValueError(msg)
        return self


class _SmartRecruiters(_Body):
    scoreLabel: str | None = None  # noqa: N815 (vendor key)


class _Recruitee(_Body):
    subtitle: str | None = None


class _RemoteFields(_Body):
    smartrecruiters: _SmartRecruiters | None = None
    recruitee: _Recruitee | None = None


class _ResultBody(_Body):
    status: Literal["COMPLETED", "CANCELLED", "OPEN"]
    result_url: str
    completed_at: str | None = Field(default=None, pattern=_DATE_TIME.pattern)
    score: float | None = None
    max_score: float | None = None
    attributes: list[
        Annotated[_TextAttribute | _SubResultAttribute, Field(discriminator="type")]
    ] = Field(default_factory=list)
    attachments: list[_Attachment] = Field(default_factory=list, max_length=5)
    remote_fields: _RemoteFields | None = None

    @field_validator("result_url")
    @classmethod
    def _uri(cls, value: str) -> str:
        return _check_uri(value)

    @model_validator(mode="after")
    def _completed_at_when_final(self) -> _ResultBody:
        if self.status != "OPEN" and self.completed_at is None:
            msg = f"completed_at is required when status is {self.status}"
            raise ValueError(msg)
        return self


class _PackageBody(_Body):
    id: str = Field(min_length=1)
    type: Literal[
        "BEHAVIORAL", "VIDEO_INTERVIEW", "SKILLS_TEST", "BACKGROUND_CHECK", "REFERENCE_CHECK"
    ]
    name: str
    description: str


class _PackagesBody(_Body):
    packages: list[_PackageBody]

    @model_validator(mode="after")
    def _unique_ids(self) -> _PackagesBody:
        ids = [package.id for package in self.packages]
        if len(ids) != len(set(ids)):
            msg = "package ids must be unique"
            raise ValueError(msg)
        return self


def _validation_message(exc: ValidationError) -> str:
    """A short, input-free summary of what was wrong with a body."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


# --- stored data ----------------------------------------------------------------------


@dataclass
class StoredOrder:
    """One order as Kombo holds it; ``created_at`` is internal (never returned)."""

    id: str
    created_at: datetime
    status: str
    fields: dict[str, Any]  # package_id, candidate, application, job (wire shapes)
    result: dict[str, Any] | None = None

    def wire(self, *, with_status: bool = True) -> dict[str, Any]:
        head: dict[str, Any] = {"id": self.id, "package_id": self.fields["package_id"]}
        if with_status:
            head["status"] = self.status
        return head | {key: self.fields[key] for key in ("candidate", "application", "job")}


@dataclass
class Integration:
    """One integration (one customer ATS) with its orders and packages."""

    id: str
    factory: OrderFactory
    rng: random.Random
    orders: list[StoredOrder] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    created: list[datetime] = field(default_factory=list)  # parallel to orders, sorted
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, order: StoredOrder) -> None:
        # Orders arrive in creation order; ``created`` must stay sorted for bisect.
        if self.created and order.created_at < self.created[-1]:
            msg = f"order {order.id} is older than the newest order of {self.id}"
            raise ValueError(msg)
        self.index[order.id] = len(self.orders)
        self.orders.append(order)
        self.created.append(order.created_at)

    def get(self, order_id: str) -> StoredOrder | None:
        position = self.index.get(order_id)
        return None if position is None else self.orders[position]


def _job_wire(order: SeedOrder) -> dict[str, Any]:
    job = order.job
    location = {
        "street_1": job.location.street_1,
        "city": job.location.city,
        "state": job.location.state,
        "zip_code": job.location.zip_code,
        "country": job.location.country,
        "raw": job.location.raw,
    }
    return {
        "remote_id": job.remote_id,
        "name": job.title,
        "job_code": job.code,
        "description": job.description,
        "location": location,
        "hiring_team": [
            {
                "remote_id": member.remote_id,
                "email": member.email,
                "first_name": member.first_name,
                "last_name": member.last_name,
                "hiring_team_roles": list(member.roles),
            }
            for member in job.hiring_team
        ],
    }


def _stored(order: SeedOrder) -> StoredOrder:
    candidate = order.candidate
    fields = {
        "package_id": order.package.id,
        "candidate": {
            "remote_id": candidate.remote_id,
            "email": candidate.email,
            "first_name": candidate.first_name,
            "last_name": candidate.last_name,
            "phone": candidate.phone,
        },
        "application": {"remote_id": order.application_id},
        "job": _job_wire(order),
    }
    return StoredOrder(id=order.id, created_at=order.created_at, status=order.status, fields=fields)


# --- query parsing --------------------------------------------------------------------


def _encode_cursor(order_id: str) -> str:
    raw = json.dumps({"v": 1, "after": order_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(cursor: str, integration: Integration) -> int:
    """The position of the last order the previous page returned."""
    invalid = KomboApiError(400, INPUT_INVALID, "The cursor is invalid.")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc
    after = payload.get("after") if isinstance(payload, dict) else None
    if not isinstance(after, str) or after not in integration.index:
        raise invalid
    return integration.index[after]


def _page_size(query: Mapping[str, str]) -> int:
    raw = query.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise KomboApiError(
            400, INPUT_INVALID, f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}."
        )
    return size


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _statuses(query: Mapping[str, str]) -> frozenset[str] | None:
    wanted = _csv(query.get("statuses"))
    unknown = [status for status in wanted if status not in ORDER_STATUSES]
    if unknown:
        raise KomboApiError(
            400,
            INPUT_INVALID,
            f"statuses may only contain {', '.join(ORDER_STATUSES)}; got {', '.join(unknown)}.",
        )
    return frozenset(wanted) or None


def _created_after(query: Mapping[str, str]) -> datetime | None:
    raw = query.get("created_after")
    if raw is None or raw == "":
        return None
    invalid = KomboApiError(
        400, INPUT_INVALID, "created_after must be a date-time like 2024-01-31T12:00:00.000Z."
    )
    if not _DATE_TIME.match(raw):
        raise invalid
    try:
        parsed = datetime.fromisoformat(raw.removesuffix("Z"))
    except ValueError as exc:
        raise invalid from exc
    return parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Filter:
    after: int  # position of the last order already returned; -1 at the start
    statuses: frozenset[str] | None = None
    ids: tuple[str, ...] | None = None
    created_after: datetime | None = None


def _positions(integration: Integration, wanted: _Filter) -> Iterator[int]:
    """Candidate positions after the cursor, in creation order (filters not yet applied)."""
    if wanted.ids is not None:
        known = sorted({integration.index[i] for i in wanted.ids if i in integration.index})
        yield from known[bisect.bisect_right(known, wanted.after) :]
        return
    start = wanted.after + 1
    if wanted.created_after is not None:
        start = max(start, bisect.bisect_left(integration.created, wanted.created_after))
    yield from range(start, len(integration.orders))


def _page(
    integration: Integration, wanted: _Filter, size: int
) -> tuple[list[StoredOrder], str | None]:
    """One page and the cursor for the next (None when nothing follows)."""
    found: list[StoredOrder] = []
    for position in _positions(integration, wanted):
        order = integration.orders[position]
        if wanted.statuses is not None and order.status not in wanted.statuses:
            continue
        if wanted.created_after is not None and order.created_at < wanted.created_after:
            continue
        found.append(order)
        if len(found) > size:  # one look-ahead row tells whether a next page exists
            break
    if len(found) <= size:
        return found, None
    page = found[:size]
    return page, _encode_cursor(page[-1].id)


def _success(data: Any, *, warnings: list[str] | None = None) -> web.Response:
    payload: dict[str, Any] = {"status": "success", "data": data}
    if warnings is not None:
        payload["warnings"] = [{"message": message} for message in warnings]
    return json_response(payload)


# --- the simulator --------------------------------------------------------------------


class KomboSimulator(Simulator):
    """Kombo's assessment endpoints for a sandbox customer with several integrations."""

    provider = "kombo"
    mount = "/kombo/v1"

    def __init__(self, context: SandboxContext) -> None:
        super().__init__(context)
        self.api_key = "kombo_sandbox_" + _derived_secret(context.seed, "api-key")
        self.webhook_secret = _derived_secret(context.seed, "webhook-secret")
        self.integrations: dict[str, Integration] = {}

    # --- accounts and data -------------------------------------------------------------

    def _integration_ids(self) -> list[str]:
        ids = []
        for number in range(self.context.accounts_per_provider):
            rng = random.Random(f"kombo:{self.context.seed}:integration:{number}")
            ids.append(f"{_TOOLS[number % len(_TOOLS)]}:{_kombo_id(rng)}")
        return ids

    def accounts(self) -> list[Account]:
        return [
            Account(
                provider=self.provider,
                account=integration_id,
                headers={
                    "Authorization": f"Bearer {self.api_key}",
                    "X-Integration-Id": integration_id,
                },
                webhook_secret=self.webhook_secret,
            )
            for integration_id in self.integrations
        ]

    def seed(self) -> None:
        self.integrations = {}
        for integration_id in self._integration_ids():
            integration = Integration(
                id=integration_id,
                factory=OrderFactory(
                    seed=self.context.seed,
                    account=integration_id,
                    id_prefix="Ko",
                    statuses=ORDER_STATUSES,
                ),
                rng=random.Random(f"kombo:{self.context.seed}:events:{integration_id}"),
            )
            for _ in range(self.context.orders_per_account):
                integration.add(_stored(integration.factory.next_order()))
            integration.packages = {
                package.id: {
                    "id": package.id,
                    "name": package.name,
                    "description": package.description,
                    "updated_at": iso(_PACKAGES_UPDATED_AT, millis=True),
                    "type": package.type,
                }
                for package in seed_packages()
            }
            self.integrations[integration_id] = integration

    def _row(self, integration: Integration, order: StoredOrder) -> dict[str, Any]:
        row: dict[str, Any] = {
            "provider": self.provider,
            "account": integration.id,
            "id": order.id,
            "status": order.status,
            # Not in Kombo's API: lets tests and demos check created_after.
            "created_at": iso(order.created_at, millis=True),
        }
        if order.result is not None:
            row["result"] = order.result
        return row

    def ground_truth(self, account: str | None) -> list[dict[str, Any]]:
        chosen = [
            integration
            for integration in self.integrations.values()
            if account is None or integration.id == account
        ]
        return [self._row(i, order) for i in chosen for order in i.orders]

    async def create_orders(self, account: str, count: int) -> list[dict[str, Any]]:
        integration = self.integrations[account]
        created = []
        for _ in range(count):
            # Live orders are stamped now, but never before the newest seeded one, so
            # creation order and creation time stay in step (created_after bisects).
            now = datetime.now(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # Kombo keeps ms
            if integration.created:
                now = max(now, integration.created[-1] + timedelta(milliseconds=1))
            order = _stored(integration.factory.next_order(status="OPEN", at=now))
            integration.add(order)
            created.append(order)
        target = self.context.webhook_targets.get(self.provider)
        if target:
            for order in created:
                await self._send_order_received(integration, order, target)
        return [self._row(integration, order) for order in created]

    async def _send_order_received(
        self, integration: Integration, order: StoredOrder, url: str
    ) -> None:
        data = order.wire() | {"integration_id": integration.id}
        payload = {"id": _kombo_id(integration.rng), "type": ORDER_RECEIVED, "data": data}
        body = json.dumps(payload, separators=(",", ":")).encode()
        await self.context.webhooks.deliver(
            provider=self.provider,
            account=integration.id,
            url=url,
            kind=ORDER_RECEIVED,
            body=body,
            headers={"X-Kombo-Signature": sign(self.webhook_secret, body)},
        )

    async def set_status(self, account: str, order_id: str, status: str) -> dict[str, Any]:
        if status not in ORDER_STATUSES:
            msg = f"Kombo order statuses are {', '.join(ORDER_STATUSES)}, not {status!r}"
            raise ValueError(msg)
        integration = self.integrations[account]
        order = integration.get(order_id)
        if order is None:
            raise KeyError(order_id)
        order.status = status  # no webhook: Kombo has no status-change event
        return self._row(integration, order)

    # --- HTTP -----------------------------------------------------------------------

    def error_response(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        return KomboApiError(status, code_for_status(status), message).response(headers)

    def routes(self, app: web.Application) -> None:
        app.middlewares.append(self._kombo_errors)
        app.router.add_get("/assessment/orders", self._get_orders)
        app.router.add_get("/assessment/orders/open", self._get_open_orders)
        app.router.add_put("/assessment/orders/{assessment_order_id}/result", self._put_result)
        app.router.add_get("/assessment/packages", self._get_packages)
        app.router.add_put("/assessment/packages", self._put_packages)

    @web.middleware
    async def _kombo_errors(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Every error, including aiohttp's own 404/405, in Kombo's error body."""
        try:
            return await handler(request)
        except KomboApiError as exc:
            return exc.response()
        except web.HTTPNotFound:
            return KomboApiError(404, INPUT_INVALID, "No such endpoint.").response()
        except web.HTTPMethodNotAllowed:
            return KomboApiError(405, INPUT_INVALID, "Method not allowed.").response()

    def _authenticate(self, request: web.Request) -> Integration:
        """Check the API key, then the integration header (Kombo's order of checks)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        )
        if not valid:
            raise KomboApiError(401, AUTHENTICATION_INVALID, "The API key is missing or invalid.")
        integration_id = request.headers.get("X-Integration-Id", "").strip()
        if not integration_id:
            raise KomboApiError(400, INPUT_INVALID, "The X-Integration-Id header is required.")
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise KomboApiError(
                404, INTEGRATION_NOT_FOUND, f"No integration with ID {integration_id!r} exists."
            )
        return integration

    async def _get_orders(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        query = request.query
        size = _page_size(query)
        ids = _csv(query.get("ids"))
        wanted = _Filter(
            after=_decode_cursor(query["cursor"], integration) if query.get("cursor") else -1,
            statuses=_statuses(query),
            ids=tuple(ids) if ids else None,  # an empty ids list filters nothing
            created_after=_created_after(query),
        )
        page, next_cursor = _page(integration, wanted, size)
        return _success({"next": next_cursor, "results": [order.wire() for order in page]})

    async def _get_open_orders(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        query = request.query
        size = _page_size(query)
        after = _decode_cursor(query["cursor"], integration) if query.get("cursor") else -1
        page, next_cursor = _page(integration, _Filter(after, statuses=frozenset({"OPEN"})), size)
        results = [order.wire(with_status=False) for order in page]
        return _success({"next": next_cursor, "results": results})

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError as exc:
            raise KomboApiError(400, INPUT_INVALID, "The request body is not valid JSON.") from exc

    async def _put_result(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        order_id = request.match_info["assessment_order_id"]
        order = integration.get(order_id)
        if order is None:
            raise KomboApiError(
                404, INPUT_INVALID, f"No assessment order with ID {order_id!r} exists."
            )
        payload = await self._json_body(request)
        try:
            body = _ResultBody.model_validate(payload)
        except ValidationError as exc:
            raise KomboApiError(400, INPUT_INVALID, _validation_message(exc)) from exc
        if body.status != order.status and order.status != "OPEN":
            raise KomboApiError(
                400,
                INPUT_INVALID,
                f"The order is {order.status}; its status can only be changed while it is OPEN.",
            )
        order.status = body.status
        order.result = payload
        return _success({}, warnings=[])

    async def _get_packages(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        return _success({"packages": list(integration.packages.values())})

    async def _put_packages(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        try:
            body = _PackagesBody.model_validate(await self._json_body(request))
        except ValidationError as exc:
            raise KomboApiError(400, INPUT_INVALID, _validation_message(exc)) from exc
        now = iso(datetime.now(UTC), millis=True)
        replaced: dict[str, dict[str, Any]] = {}
        for package in body.packages:
            entry = package.model_dump()
            previous = integration.packages.get(package.id)
            unchanged = previous is not None and all(
                previous[key] == entry[key] for key in ("type", "name", "description")
            )
            entry["updated_at"] = previous["updated_at"] if unchanged and previous else now
            replaced[package.id] = {key: entry[key] for key in _PACKAGE_KEYS}
        # Packages left out are "marked deleted": they are simply no longer listed.
        integration.packages = replaced
        return _success({}, warnings=[])
