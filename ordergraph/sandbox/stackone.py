"""StackOne simulator: the ATS assessments API of the 2025-12-03 spec, under ``/stackone``.

Routes (paths as in the spec; every one needs Basic auth and ``x-account-id``):

- ``GET   /unified/ats/assessments/packages``             cursor list (``page_size``, ``next``)
- ``GET   /unified/ats/assessments/packages/{id}``        one package
- ``POST  /unified/ats/assessments/orders``               create: ``{id, remote_id, test_url}``
- ``PATCH /unified/ats/assessments/orders/{id}/result``   write a result: ``UpdateResult``
- ``GET   /unified/ats/assessments/orders/{id}``          2025-02 only (removed in 2025-12)
- ``GET   /unified/ats/assessments/orders/{id}/results``  2025-02 only (removed in 2025-12)

The two GETs on orders were removed from the current spec; the simulator keeps them
so a client can read back what was posted and written (the 2025-02 file is their
contract). An unknown order there is a 404 as everywhere else, although the 2025-02
file declares no 404 at all (it lists 400, 403, 408, 412, 429, 500, 501).
Background-check endpoints are not simulated.

Choices where PROVIDERS.md (section 2) says "not found" or "not verified":

- Auth: HTTP Basic with the API key as *username* and an empty password (StackOne's
  convention, unverified). One API key per sandbox, as StackOne keys belong to a
  project and reach all its linked accounts. Missing or wrong credentials → 401.
- ``x-account-id`` missing → 400; an account the project does not have → 403
  ("not yours"), not 404, so a wrong account is never mistaken for a missing record;
  403 is also declared by both spec versions.
- Orders have no status at StackOne; ground truth reports ``null`` until a result
  is written, then the latest ``result.value``. Orders exist only once POSTed (or
  made by ``create_orders`` through the same code path): there is no order list and
  no order webhook, so ``seed()`` starts with none and ``webhook_secret`` is ``""``.
- ``page_size`` must be an integer from 1 to 100 (default 25; the maximum is ours),
  anything else → 400. ``next`` is an opaque cursor; a bad one → 400. ``filter`` /
  ``updated_after`` are accepted and ignored (packages carry no update time).
- Bodies are checked against the spec's types (nullable everywhere, unknown keys
  ignored); a wrong type or enum → 400, as StackOne's request validation does. A
  POST needs ``package.id`` (or ``package.remote_id``) and a ``candidate`` object
  (our minimum); a package the account does not offer → 422.
- ``PATCH …/result`` merges the fields sent into the stored result (PATCH semantics).
- Absent values are omitted from responses rather than sent as ``null``: the spec is
  OpenAPI 3.1, where ``nullable: true`` no longer admits ``null``.
- The 2025-02 result enum lacks ``initiated``, ``in_progress`` and ``unmapped_value``
  and its attachment type enum has only ``text``/``unmapped_value``; the legacy GET
  serves such values in ``source_value`` (without ``value``, resp. as
  ``unmapped_value``) so the legacy answer stays inside its own spec. A
  ``source_value`` the client wrote is served as written (StackOne keeps the source
  word: a REJECTED sent as ``unmapped_value``, a MIME type beside ``pdf``); only where
  none was written does the value itself move there.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ordergraph.sandbox.core import Account, SandboxContext, Simulator, iso, json_response
from ordergraph.sandbox.data import OrderFactory, SeedHiringMember, SeedOrder, seed_packages

__all__ = ["CONTENT_TYPE_VALUES", "RESULT_VALUES", "StackOneSimulator"]

PREFIX = "/unified/ats/assessments"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100

# ResultEnum.value and AttachmentContentType.value in the 2025-12 spec.
RESULT_VALUES = frozenset(
    {"initiated", "in_progress", "cancelled", "completed", "expired", "failed", "passed",
     "unmapped_value"}
)  # fmt: skip
CONTENT_TYPE_VALUES = frozenset({"text", "pdf", "video", "other", "unmapped_value"})
APPLICATION_STATUS_VALUES = frozenset(
    {"active", "assessment", "background_check", "converted", "declined_by_candidate", "hired",
     "interview", "lead", "offer", "reference_check", "rejected", "review", "screen", "new",
     "onboarding", "created", "accepted", "short_list", "approved", "unmapped_value"}
)  # fmt: skip
# The narrower enums of the 2025-02 spec, which documents the legacy GETs.
LEGACY_RESULT_VALUES = frozenset({"cancelled", "completed", "expired", "failed", "passed"})
LEGACY_CONTENT_TYPE_VALUES = frozenset({"text", "unmapped_value"})

# --- request-body shapes ---------------------------------------------------------------
# A shape is a kind name, an enum (frozenset), a nested object shape (dict) or an
# array of one shape (list). ``None`` is accepted everywhere: every field is nullable.
Shape = str | frozenset[str] | dict[str, Any] | list[Any]
_S, _DATE, _OBJ, _ANY = "string", "date-time", "object", "any"
_MEMBER: dict[str, Shape] = {
    "user_id": _S, "remote_user_id": _S, "first_name": _S, "last_name": _S, "email": _S,
    "role": _S,
}  # fmt: skip
_PACKAGE: dict[str, Shape] = {"id": _S, "remote_id": _S, "name": _S, "description": _S}
ORDER_SHAPE: dict[str, Shape] = {
    "id": _S,
    "package": _PACKAGE,
    "application": {
        "id": _S, "remote_id": _S, "passthrough": _OBJ,
        "application_status": {"value": APPLICATION_STATUS_VALUES, "source_value": _ANY},
    },
    "job": {"id": _S, "remote_id": _S, "title": _S, "hiring_team": [_MEMBER], "passthrough": _OBJ},
    "candidate": {
        "id": _S, "remote_id": _S, "first_name": _S, "last_name": _S, "profile_url": _S,
        "emails": [{"type": _S, "value": _S}], "passthrough": _OBJ,
    },
    "requester": _MEMBER,
    "results_update_url": _S,
    "passthrough": _OBJ,
}  # fmt: skip
RESULT_SHAPE: dict[str, Shape] = {
    "score": {"label": _S, "value": _S, "min": _S, "max": _S},
    "start_date": _DATE,
    "submission_date": _DATE,
    "summary": _S,
    "result": {"value": RESULT_VALUES, "source_value": _ANY},
    "result_url": _S,
    "attachments": [
        {"url": _S, "content_type": {"value": CONTENT_TYPE_VALUES, "source_value": _ANY}}
    ],
    "candidate": {"id": _S, "profile_url": _S},
    "passthrough": _OBJ,
}  # fmt: skip


class BodyError(ValueError):
    """A request body StackOne's validation would refuse (→ 400)."""


class UnknownPackageError(ValueError):
    """The order names a package the account does not offer (→ 422)."""


def _is_date_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _scalar_problem(value: Any, kind: str | frozenset[str], where: str) -> str | None:
    if isinstance(kind, frozenset):
        if not isinstance(value, str) or value not in kind:
            return f"{where} must be one of the following values: {', '.join(sorted(kind))}"
        return None
    if kind == _ANY:
        return None
    if kind == _OBJ:
        return None if isinstance(value, dict) else f"{where} must be an object"
    if not isinstance(value, str):
        return f"{where} must be a string"
    if kind == _DATE and not _is_date_time(value):
        return f"{where} must be a valid ISO 8601 date string"
    return None


def shape_problem(value: Any, shape: Shape, where: str = "body") -> str | None:
    """The first way ``value`` breaks ``shape`` (a message as StackOne words it), or None."""
    if value is None:
        return None
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where} must be an object"
        for name, inner in shape.items():
            path = name if where == "body" else f"{where}.{name}"
            problem = shape_problem(value.get(name), inner, path)
            if problem:
                return problem
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where} must be an array"
        for index, item in enumerate(value):
            problem = shape_problem(item, shape[0], f"{where}[{index}]")
            if problem:
                return problem
        return None
    return _scalar_problem(value, shape, where)


def compact(value: Any) -> Any:
    """Drop ``None`` members recursively (3.1 schemas refuse ``null`` for typed fields)."""
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [compact(v) for v in value if v is not None]
    return value


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def encode_cursor(offset: int) -> str:
    return _b64(json.dumps({"offset": offset}))


def decode_cursor(cursor: str) -> int:
    """The offset in an opaque cursor; ``ValueError`` when it is not one of ours."""
    try:
        offset = json.loads(_unb64(cursor))["offset"]
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(cursor) from exc
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(cursor)
    return offset


@dataclass
class StoredOrder:
    """An order as posted, what StackOne answered, and the result written so far."""

    id: str
    remote_id: str
    test_url: str
    body: dict[str, Any]
    result: dict[str, Any] | None = None

    @property
    def status(self) -> str | None:
        """The latest ``result.value``; None until a result is written."""
        result = (self.result or {}).get("result") or {}
        value = result.get("value")
        return value if isinstance(value, str) else None


@dataclass
class _AccountData:
    packages: list[dict[str, str]]
    factory: OrderFactory
    ids: random.Random
    orders: dict[str, StoredOrder] = field(default_factory=dict)


Handler = Callable[[web.Request, _AccountData], Awaitable[web.Response]]


class StackOneSimulator(Simulator):
    """StackOne's ATS assessments API (see the module docstring for the choices made)."""

    provider = "stackone"
    mount = "/stackone"

    def __init__(self, context: SandboxContext) -> None:
        super().__init__(context)
        self.api_key = ""
        self._accounts: dict[str, _AccountData] = {}

    # --- identity and data ----------------------------------------------------------

    def seed(self) -> None:
        rng = random.Random(f"stackone:{self.context.seed}")
        self.api_key = "v1.eu1." + base64.urlsafe_b64encode(rng.randbytes(30)).decode()
        self._accounts = {}
        for _ in range(self.context.accounts_per_provider):
            account = str(rng.randrange(10**19, 10**20))
            self._accounts[account] = _AccountData(
                packages=[
                    {
                        "id": _b64(f"{account}:{package.id}"),
                        "remote_id": package.id,
                        "name": package.name,
                        "description": package.description,
                    }
                    for package in seed_packages()
                ],
                factory=OrderFactory(
                    seed=self.context.seed, account=account, id_prefix="", statuses=("OPEN",)
                ),
                ids=random.Random(f"stackone:{self.context.seed}:{account}:orders"),
            )

    def accounts(self) -> list[Account]:
        basic = base64.b64encode(f"{self.api_key}:".encode()).decode()
        return [
            Account(
                provider=self.provider,
                account=account,
                headers={"Authorization": f"Basic {basic}", "x-account-id": account},
                # StackOne sends no order webhooks, so there is nothing to sign.
                webhook_secret="",
            )
            for account in self._accounts
        ]

    def ground_truth(self, account: str | None) -> list[dict[str, Any]]:
        chosen = self._accounts if account is None else {account: self._accounts.get(account)}
        return [
            self._truth(name, order)
            for name, data in chosen.items()
            if data is not None
            for order in data.orders.values()
        ]

    def _truth(self, account: str, order: StoredOrder) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": account,
            "id": order.id,
            "status": order.status,
        }

    async def create_orders(self, account: str, count: int) -> list[dict[str, Any]]:
        """Orders as an ATS would place them, through the POST code path; no webhook."""
        data = self._accounts[account]
        created = []
        for _ in range(count):
            body = order_body(data.factory.next_order(), data.packages)
            created.append(self._truth(account, self._place_order(data, body)))
        return created

    async def set_status(self, account: str, order_id: str, status: str) -> dict[str, Any]:
        """Write ``result.value`` (StackOne's words) as the vendor's result would."""
        order = self._accounts[account].orders[order_id]
        if status not in RESULT_VALUES:
            msg = f"status must be one of {', '.join(sorted(RESULT_VALUES))}"
            raise ValueError(msg)
        order.result = {**(order.result or {}), "result": {"value": status}}
        return self._truth(account, order)

    def _place_order(self, data: _AccountData, body: dict[str, Any]) -> StoredOrder:
        """Validate and store an order body (POST and ``create_orders`` share this)."""
        problem = shape_problem(body, ORDER_SHAPE)
        if problem:
            raise BodyError(problem)
        package = body.get("package") or {}
        wanted = package.get("id") or package.get("remote_id")
        if not wanted:
            raise BodyError("package.id should not be empty")
        if not isinstance(body.get("candidate"), dict):
            raise BodyError("candidate should not be empty")
        if not any(wanted in (p["id"], p["remote_id"]) for p in data.packages):
            raise UnknownPackageError(f"Assessment package {wanted} not found")
        order_id = str(uuid.UUID(int=data.ids.getrandbits(128), version=4))
        order = StoredOrder(
            id=order_id,
            remote_id=f"ats-{len(data.orders) + 1:07d}",
            test_url=f"https://assessments.example.com/take/{order_id}",
            body=body,
        )
        data.orders[order_id] = order
        return order

    # --- HTTP -----------------------------------------------------------------------

    def error_response(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        body = {"statusCode": status, "message": message, "timestamp": _now()}
        return json_response(body, status=status, headers=headers)

    def routes(self, app: web.Application) -> None:
        guard = self._guard
        app.router.add_get(f"{PREFIX}/packages", guard(self._list_packages))
        app.router.add_get(f"{PREFIX}/packages/{{id}}", guard(self._get_package))
        app.router.add_post(f"{PREFIX}/orders", guard(self._create_order))
        app.router.add_get(f"{PREFIX}/orders/{{id}}", guard(self._get_order))
        app.router.add_patch(f"{PREFIX}/orders/{{id}}/result", guard(self._update_result))
        app.router.add_get(f"{PREFIX}/orders/{{id}}/results", guard(self._get_result))

    def _guard(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Basic auth, then ``x-account-id``, before the handler sees the request."""

        async def guarded(request: web.Request) -> web.Response:
            if not self._authorized(request.headers.get("Authorization")):
                return self.error_response(401, "Unauthorized")
            account = request.headers.get("x-account-id")
            if not account:
                return self.error_response(400, "x-account-id header is required")
            data = self._accounts.get(account)
            if data is None:
                return self.error_response(403, "Forbidden: account not accessible with this key")
            return await handler(request, data)

        return guarded

    def _authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            username, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(self.api_key) and username == self.api_key and password == ""

    async def _list_packages(self, request: web.Request, data: _AccountData) -> web.Response:
        raw_size = request.query.get("page_size") or str(DEFAULT_PAGE_SIZE)
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            return self.error_response(
                400, f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}"
            )
        size = int(raw_size)
        try:
            offset = decode_cursor(request.query["next"]) if request.query.get("next") else 0
        except ValueError:
            return self.error_response(400, "Invalid next cursor")
        fields = _fields(request)
        page = [_project(p, fields) for p in data.packages[offset : offset + size]]
        body: dict[str, Any] = {"data": page}
        if offset + size < len(data.packages):
            body["next"] = encode_cursor(offset + size)
        if _wants_raw(request):
            body["raw"] = []
        return json_response(body)

    async def _get_package(self, request: web.Request, data: _AccountData) -> web.Response:
        wanted = request.match_info["id"]
        package = next((p for p in data.packages if p["id"] == wanted), None)
        if package is None:
            return self.error_response(404, f"Assessment package {wanted} not found")
        body: dict[str, Any] = {"data": _project(package, _fields(request))}
        if _wants_raw(request):
            body["raw"] = []
        return json_response(body)

    async def _create_order(self, request: web.Request, data: _AccountData) -> web.Response:
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            order = self._place_order(data, body)
        except BodyError as exc:
            return self.error_response(400, str(exc))
        except UnknownPackageError as exc:
            return self.error_response(422, str(exc))
        return json_response(
            {"id": order.id, "remote_id": order.remote_id, "test_url": order.test_url}
        )

    async def _update_result(self, request: web.Request, data: _AccountData) -> web.Response:
        order = data.orders.get(request.match_info["id"])
        if order is None:
            return self.error_response(
                404, f"Assessment order {request.match_info['id']} not found"
            )
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        problem = shape_problem(body, RESULT_SHAPE)
        if problem:
            return self.error_response(400, problem)
        order.result = {**(order.result or {}), **body}
        return json_response(
            {"statusCode": 200, "message": "Record updated successfully.", "timestamp": _now()}
        )

    async def _get_order(self, request: web.Request, data: _AccountData) -> web.Response:
        order = data.orders.get(request.match_info["id"])
        if order is None:
            return self.error_response(
                404, f"Assessment order {request.match_info['id']} not found"
            )
        wire = {key: order.body.get(key) for key in ORDER_SHAPE if key not in ("id", "passthrough")}
        wire = {"id": order.id, "remote_id": order.remote_id, **wire}
        return json_response({"data": compact(wire)})

    async def _get_result(self, request: web.Request, data: _AccountData) -> web.Response:
        order = data.orders.get(request.match_info["id"])
        if order is None:
            return self.error_response(
                404, f"Assessment order {request.match_info['id']} not found"
            )
        return json_response({"data": compact(legacy_result(order))})

    async def _json_body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self.error_response(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return self.error_response(400, "Request body must be a JSON object")
        return body


# --- helpers ---------------------------------------------------------------------------


def _now() -> str:
    return iso(datetime.now(UTC), millis=True) or ""


def _fields(request: web.Request) -> list[str] | None:
    raw = request.query.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def _project(item: Mapping[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return {k: v for k, v in item.items() if fields is None or k in fields}


def _wants_raw(request: web.Request) -> bool:
    return request.query.get("raw", "").lower() == "true"


def legacy_result(order: StoredOrder) -> dict[str, Any]:
    """The 2025-02 ``AssessmentResult`` for an order (see the module docstring on enums)."""
    result = dict(order.result or {})
    candidate = order.body.get("candidate") or {}
    wire: dict[str, Any] = {
        "id": order.id,
        "remote_id": order.remote_id,
        "candidate": {
            "id": candidate.get("id"),
            "remote_id": candidate.get("remote_id"),
            "profile_url": candidate.get("profile_url"),
        },
    }
    for key in ("score", "start_date", "submission_date", "summary", "result_url"):
        wire[key] = result.get(key)
    outcome = result.get("result")
    if isinstance(outcome, dict):
        value = outcome.get("value")
        if value is not None and value not in LEGACY_RESULT_VALUES:
            source = outcome.get("source_value")
            outcome = {"source_value": source if source is not None else value}
        wire["result"] = outcome
    wire["attachments"] = [_legacy_attachment(a) for a in result.get("attachments") or [] if a]
    return wire


def _legacy_attachment(attachment: Mapping[str, Any]) -> dict[str, Any]:
    content_type = attachment.get("content_type")
    if isinstance(content_type, dict):
        value = content_type.get("value")
        if value is not None and value not in LEGACY_CONTENT_TYPE_VALUES:
            source = content_type.get("source_value")
            content_type = {
                "value": "unmapped_value",
                "source_value": source if source is not None else value,
            }
    return {"url": attachment.get("url"), "content_type": content_type}


def _member(member: SeedHiringMember) -> dict[str, Any]:
    return {
        "user_id": member.remote_id,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "role": ", ".join(member.roles),
    }


def order_body(seed: SeedOrder, packages: list[dict[str, str]]) -> dict[str, Any]:
    """The POST body an ATS would send for a neutral seed order."""
    package = next(p for p in packages if p["remote_id"] == seed.package.id)
    return {
        "package": {
            "id": package["id"],
            "name": package["name"],
            "description": package["description"],
        },
        "application": {"id": seed.application_id, "application_status": {"value": "assessment"}},
        "job": {
            "id": seed.job.remote_id,
            "title": seed.job.title,
            "hiring_team": [_member(m) for m in seed.job.hiring_team],
        },
        "candidate": {
            "id": seed.candidate.remote_id,
            "first_name": seed.candidate.first_name,
            "last_name": seed.candidate.last_name,
            "emails": [{"type": "personal", "value": seed.candidate.email}],
            "profile_url": seed.candidate.profile_url,
        },
        "requester": _member(seed.requester),
    }
