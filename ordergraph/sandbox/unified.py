"""Unified.to simulator: assessment orders, packages and webhook subscriptions.

Answers to ``tests/specs/unified-assessment-openapi.trimmed.yaml`` (PROVIDERS.md
section 1). Paths are relative to the mount ``/unified``, so the vendor's
``/unified/webhook`` is served at ``/unified/unified/webhook`` in the sandbox.

What PROVIDERS.md leaves unconfirmed, and what this simulator chose:

* **Error body** (the spec declares none): every error, including 401, 404 and
  injected faults, is ``{"error": "<HTTP reason phrase>", "message": "<detail>"}``.
* **Auth**: one workspace API token for the whole sandbox (derived from
  ``context.seed``), sent as ``Authorization: Bearer <token>``; missing or wrong → 401.
  An unknown ``{connection_id}`` → 404 ``Connection not found`` (the token is valid,
  the object is not there).
* **Order GET and POST** (``GET/POST /assessment/{connection_id}/order[/{id}]``) are in
  Unified's SDK only, not in the saved spec (PROVIDERS.md 1.2); they are served here
  with ``AssessmentOrder`` bodies like the spec's PUT/PATCH. There is no order list.
* **PUT vs PATCH** on an order: PATCH merges the given fields; PUT replaces the
  vendor-owned result (every ``response_*`` field absent from the body is cleared) and
  sets the other given fields. ``id``, ``workspace_id``, ``connection_id``,
  ``webhook_id`` and the timestamps are read-only and ignored. Unknown fields or
  wrong types → 400. The ``fields`` and ``raw`` query parameters are accepted and
  ignored.
* **Package list**: ``limit`` defaults to 100; the answer is a bare array and a page
  shorter than ``limit`` is the end.
* **Webhook delivery**: ``{"data", "webhook", "nonce", "sig", "type"}``;
  ``sig = base64(HMAC-SHA1(workspace secret, compact_json(data) + nonce))`` where
  ``compact_json`` is ``json.dumps(data, separators=(",", ":"), ensure_ascii=False)``
  (``JSON.stringify`` of the array as sent) — see ``webhook_signature``, the only
  place this is decided. Each delivered order carries ``webhook_id``.
* **include_all backfill** runs in a background task after the POST answered (as
  Unified does): pages of ``page_max_limit`` (default 100) orders as
  ``INITIAL-PARTIAL``, then one ``INITIAL-COMPLETE`` with an empty ``data`` array.
  Tests wait for it with ``await simulator.drain()`` or for the INITIAL-COMPLETE.
* **Live deliveries**: new orders → ``VIRTUAL`` (``NATIVE`` for native webhooks) to
  ``event: created`` webhooks; status changes and result writes → the same to
  ``event: updated`` webhooks. Control-API changes (``create_orders``,
  ``set_status``) await the first delivery attempt; API writes deliver in the
  background. Paused webhooks are skipped; ``…/trigger`` delivers what they missed.
* Only ``object_type: assessment_order`` subscriptions are accepted (400 otherwise),
  and every subscription needs a ``hook_url``.
* Webhook PUT and PATCH both merge the given writable fields.
* Seeded orders never use ``CANCELLED`` (Unified has no such status); COMPLETED and
  FAILED ones carry a result in the ``response_*`` fields.

Nothing here imports ``ordergraph.providers``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from ordergraph.sandbox.core import Account, SandboxContext, Simulator, iso, json_response
from ordergraph.sandbox.data import OrderFactory, SeedOrder, SeedPackage, seed_packages

__all__ = ["UnifiedSimulator", "compact_json", "webhook_signature"]

ORDER_STATUSES = ("OPEN", "IN_PROGRESS", "COMPLETED", "FAILED", "REJECTED")
PACKAGE_TYPES = (
    "SKILLS_TEST",
    "BEHAVIORAL_ASSESSMENT",
    "VIDEO_INTERVIEW",
    "BACKGROUND_CHECK",
    "REFERENCE_CHECK",
    "OTHER",
)
ATTRIBUTE_TYPES = ("TEXT", "NUMBER", "SUB_RESULT")
GENDERS = ("MALE", "FEMALE", "INTERSEX", "TRANS", "NON_BINARY")
WEBHOOK_EVENTS = ("created", "updated", "deleted")
WEBHOOK_TYPES = ("virtual", "native")
ORDER_OBJECT = "assessment_order"
# Assessment integrations named in Unified's 2026 blog post (PROVIDERS.md 1.7).
INTEGRATION_TYPES = ("greenhouse", "ashby", "workable", "recruitee", "talentlyft", "cornerstone")

DEFAULT_LIST_LIMIT = 100
DEFAULT_PAGE_MAX_LIMIT = 100
_CATALOGUE_TIME = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
# The neutral seed data says BEHAVIORAL; Unified's enum says BEHAVIORAL_ASSESSMENT.
_SEED_PACKAGE_TYPES = {"BEHAVIORAL": "BEHAVIORAL_ASSESSMENT"}

# Field kinds of AssessmentOrder for validating writes.
_ORDER_READ_ONLY = frozenset(
    {"id", "created_at", "updated_at", "workspace_id", "connection_id", "webhook_id"}
)
_ORDER_FIELD_KINDS: dict[str, str] = {
    "package_id": "string",
    "parameters": "objects",
    "target_url": "string",
    "status": "status",
    "reference": "string",
    "application_id": "string",
    "job_id": "string",
    "company_id": "string",
    "candidate_id": "string",
    "employee_id": "string",
    "profile_name": "string",
    "profile_first_name": "string",
    "profile_last_name": "string",
    "profile_emails": "strings",
    "profile_telephones": "strings",
    "profile_social_media_urls": "strings",
    "profile_addresses": "objects",
    "profile_resume_url": "string",
    "profile_ip_address": "string",
    "profile_date_of_birth": "string",
    "profile_national_identifier": "string",
    "profile_gender": "gender",
    "response_status": "status",
    "response_score": "number",
    "response_max_score": "number",
    "response_url": "string",
    "response_redirect_url": "string",
    "response_source": "string",
    "response_completed_at": "datetime",
    "response_issued_at": "datetime",
    "response_expires_at": "datetime",
    "response_download_urls": "strings",
    "response_details": "objects",
    "response_attributes": "attributes",
    "raw": "object",
}
_RESPONSE_FIELDS = frozenset(name for name in _ORDER_FIELD_KINDS if name.startswith("response_"))

_PACKAGE_READ_ONLY = frozenset({"created_at", "updated_at", "workspace_id", "connection_id"})
_PACKAGE_FIELD_KINDS: dict[str, str] = {
    "id": "string",
    "name": "string",
    "description": "string",
    "type": "package_type",
    "aliases": "strings",
    "tags": "strings",
    "integration_types": "strings",
    "info_url": "string",
    "max_score": "number",
    "has_target_url": "bool",
    "has_redirect_url": "bool",
    "needs_ip_address": "bool",
    "parameters": "objects",
    "regions": "objects",
    "raw": "object",
}

_WEBHOOK_WRITABLE: dict[str, str] = {
    "hook_url": "url",
    "event": "event",
    "webhook_type": "webhook_type",
    "interval": "number",
    "is_paused": "bool",
    "page_max_limit": "positive",
    "fields": "string",
    "filters": "string_map",
    "environment": "string",
}


def compact_json(value: Any) -> str:
    """JSON as ``JSON.stringify`` writes it: no spaces, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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


def webhook_signature(secret: str, data: Sequence[Any], nonce: str) -> str:
    """``sig`` of a delivery: base64 HMAC-SHA1 over compact ``data`` JSON + nonce.

    The serialization and the base64 encoding are our choice (PROVIDERS.md 1.7 leaves
    both unconfirmed); this is the only place the simulator makes it.
    """
    message = (compact_json(_js_numbers(list(data))) + nonce).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _derive(seed: int, label: str, length: int = 24) -> str:
    """A deterministic hex id (Unified ids are 24 hex characters)."""
    return hashlib.sha256(f"unified:{seed}:{label}".encode()).hexdigest()[:length]


# National identifiers in formats that are never issued: the US SSA reserves
# 987-65-4320..4329 for examples, HMRC never issues the QQ prefix; elsewhere a plain
# number. The IP addresses come from the documentation ranges (RFC 5737).
_NATIONAL_ID_FORMATS: dict[str, Callable[[int], str]] = {
    "US": lambda n: f"987-65-432{n % 10}",
    "GB": lambda n: f"QQ{n % 1_000_000:06d}C",
}
_DOCUMENTATION_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")


def _plain_national_id(n: int) -> str:
    return f"{n % 10**9:09d}"


def _seeded_sensitive_profile(candidate_id: str, country: str) -> dict[str, str]:
    """The ATS's sensitive candidate fields, fixed per candidate id.

    Derived from a hash of the id, not drawn from the factory's random stream, so the
    rest of the seeded data is the same with and without these fields.
    """
    n = int(hashlib.sha256(candidate_id.encode()).hexdigest()[:12], 16)
    year, month, day = 1965 + n % 38, 1 + (n >> 8) % 12, 1 + (n >> 12) % 28
    national_id = _NATIONAL_ID_FORMATS.get(country, _plain_national_id)(n >> 16)
    return {
        "profile_date_of_birth": f"{year:04d}-{month:02d}-{day:02d}",
        "profile_national_identifier": national_id,
        "profile_ip_address": f"{_DOCUMENTATION_NETWORKS[n % 3]}.{1 + (n >> 20) % 254}",
        "profile_gender": GENDERS[(n >> 28) % len(GENDERS)],
    }


def _now() -> str:
    return iso(datetime.now(UTC)) or ""


def _pages(items: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class _ApiError(Exception):
    """Raised by handlers; the vendor middleware turns it into the error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _StoredOrder:
    """An order's wire form plus the change counters virtual webhooks compare."""

    wire: dict[str, Any]
    created_rev: int = 0
    rev: int = 0


@dataclass
class _Connection:
    """One customer's assessment connection: its orders and published packages."""

    id: str
    integration_type: str
    factory: OrderFactory
    orders: dict[str, _StoredOrder] = field(default_factory=dict)
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)


# --- request body checks ----------------------------------------------------------------


def _valid_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _valid_attributes(value: object) -> bool:
    if not isinstance(value, list):
        return False
    return all(
        isinstance(item, dict)
        and item.get("type") in ATTRIBUTE_TYPES
        and isinstance(item.get("label"), str)
        for item in value
    )


_KIND_CHECKS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "url": lambda v: isinstance(v, str) and v.startswith(("http://", "https://")),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "positive": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 1,
    "bool": lambda v: isinstance(v, bool),
    "strings": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    "objects": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
    "object": lambda v: isinstance(v, dict),
    "string_map": lambda v: isinstance(v, dict) and all(isinstance(i, str) for i in v.values()),
    "status": lambda v: v in ORDER_STATUSES,
    "gender": lambda v: v in GENDERS,
    "package_type": lambda v: v in PACKAGE_TYPES,
    "event": lambda v: v in WEBHOOK_EVENTS,
    "webhook_type": lambda v: v in WEBHOOK_TYPES,
    "datetime": _valid_datetime,
    "attributes": _valid_attributes,
}


def _check_fields(
    body: Mapping[str, Any], kinds: Mapping[str, str], read_only: frozenset[str]
) -> dict[str, Any]:
    """The writable fields of ``body``; 400 on an unknown field or a wrong type."""
    unknown = sorted(set(body) - set(kinds) - read_only)
    if unknown:
        raise _ApiError(400, f"Unknown field(s): {', '.join(unknown)}")
    writable: dict[str, Any] = {}
    for name, value in body.items():
        if name in read_only:
            continue
        if value is not None and not _KIND_CHECKS[kinds[name]](value):
            raise _ApiError(400, f"Invalid value for {name}")
        writable[name] = value
    return writable


def _merge(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Apply changes; an explicit ``null`` removes the field."""
    for name, value in changes.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise _ApiError(400, "Body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise _ApiError(400, "Body must be a JSON object")
    return body


def _query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(float(raw))
    except ValueError as exc:
        raise _ApiError(400, f"{name} must be a number") from exc
    if value < 0:
        raise _ApiError(400, f"{name} must not be negative")
    return value


def _query_bool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1", "yes")


def _time_filter(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _ApiError(400, f"{name} must be an ISO-8601 date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- the simulator ---------------------------------------------------------------------


class UnifiedSimulator(Simulator):
    """Unified.to's assessment API for one sandbox workspace (see the module docstring)."""

    provider = "unified"
    mount = "/unified"

    def __init__(self, context: SandboxContext) -> None:
        super().__init__(context)
        self.workspace_id = ""
        self.token = ""
        self.secret = ""
        self.connections: dict[str, _Connection] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self._cursors: dict[str, int] = {}
        self._revision = 0
        self._webhook_count = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # --- Simulator interface ------------------------------------------------------------

    def accounts(self) -> list[Account]:
        headers = {"Authorization": f"Bearer {self.token}"}
        return [
            Account(self.provider, connection_id, headers, self.secret)
            for connection_id in self.connections
        ]

    def error_response(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        return json_response({"error": reason, "message": message}, status=status, headers=headers)

    def seed(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        seed = self.context.seed
        self.workspace_id = _derive(seed, "workspace")
        self.token = _derive(seed, "api-token", 64)
        self.secret = _derive(seed, "workspace-secret", 40)
        self.connections = {}
        self.webhooks = {}
        self._cursors = {}
        self._revision = 0
        self._webhook_count = 0
        for index in range(self.context.accounts_per_provider):
            connection_id = _derive(seed, f"connection:{index}")
            connection = _Connection(
                id=connection_id,
                integration_type=INTEGRATION_TYPES[index % len(INTEGRATION_TYPES)],
                factory=OrderFactory(
                    seed=seed, account=connection_id, id_prefix="ord_", statuses=ORDER_STATUSES
                ),
            )
            for package in seed_packages():
                connection.packages[package.id] = self._package_wire(connection, package)
            for _ in range(self.context.orders_per_account):
                wire = self._order_wire(connection, connection.factory.next_order())
                connection.orders[wire["id"]] = _StoredOrder(wire)
            self.connections[connection_id] = connection

    def ground_truth(self, account: str | None) -> list[dict[str, Any]]:
        chosen = [
            connection
            for connection in self.connections.values()
            if account is None or connection.id == account
        ]
        return [
            self._truth(connection.id, stored.wire)
            for connection in chosen
            for stored in connection.orders.values()
        ]

    async def create_orders(self, account: str, count: int) -> list[dict[str, Any]]:
        connection = self.connections[account]
        created: list[dict[str, Any]] = []
        for _ in range(count):
            seed_order = connection.factory.next_order(status="OPEN", at=datetime.now(UTC))
            wire = self._order_wire(connection, seed_order)
            self._store_new(connection, wire)
            created.append(wire)
        await self._notify(connection.id, "created", created)
        return [self._truth(connection.id, wire) for wire in created]

    async def set_status(self, account: str, order_id: str, status: str) -> dict[str, Any]:
        if status not in ORDER_STATUSES:
            msg = f"status must be one of {', '.join(ORDER_STATUSES)}"
            raise ValueError(msg)
        connection = self.connections[account]
        stored = connection.orders[order_id]
        stored.wire["status"] = status
        self._touch(stored)
        await self._notify(connection.id, "updated", [stored.wire])
        return self._truth(connection.id, stored.wire)

    async def drain(self) -> None:
        """Wait until background deliveries (backfills, API-triggered) are done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.context.webhooks.drain()

    # --- app ------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.append(self._vendor)
        app.on_cleanup.append(self._cancel_tasks)
        return app

    def routes(self, app: web.Application) -> None:
        order = "/assessment/{connection_id}/order"
        package = "/assessment/{connection_id}/package"
        app.router.add_post(order, self.create_order)
        app.router.add_get(order + "/{id}", self.get_order)
        app.router.add_put(order + "/{id}", self.update_order)
        app.router.add_patch(order + "/{id}", self.patch_order)
        app.router.add_get(package, self.list_packages)
        app.router.add_post(package, self.create_package)
        app.router.add_get(package + "/{id}", self.get_package)
        app.router.add_put(package + "/{id}", self.update_package)
        app.router.add_patch(package + "/{id}", self.update_package)
        app.router.add_delete(package + "/{id}", self.remove_package)
        app.router.add_get("/unified/webhook", self.list_webhooks)
        app.router.add_post("/unified/webhook", self.create_webhook)
        app.router.add_get("/unified/webhook/{id}", self.get_webhook)
        app.router.add_put("/unified/webhook/{id}", self.update_webhook)
        app.router.add_patch("/unified/webhook/{id}", self.update_webhook)
        app.router.add_delete("/unified/webhook/{id}", self.remove_webhook)
        app.router.add_put("/unified/webhook/{id}/trigger", self.trigger_webhook)
        app.router.add_patch("/unified/webhook/{id}/trigger", self.trigger_webhook)

    @web.middleware
    async def _vendor(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Bearer auth on every path, and ``_ApiError`` → the vendor's error body."""
        expected = f"Bearer {self.token}".encode()
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return self.error_response(401, "Invalid or missing API token")
        try:
            return await handler(request)
        except _ApiError as exc:
            return self.error_response(exc.status, exc.message)
        except web.HTTPException as exc:
            # Unknown paths and methods answer in the same error shape as the rest.
            if exc.status < 400:
                raise
            return self.error_response(exc.status, exc.reason, headers=_allow(exc))

    async def _cancel_tasks(self, app: web.Application) -> None:
        del app
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- orders -----------------------------------------------------------------------------

    async def get_order(self, request: web.Request) -> web.Response:
        stored = self._stored_order(request)
        return json_response(stored.wire)

    async def create_order(self, request: web.Request) -> web.Response:
        connection = self._connection(request)
        body = await _json_object(request)
        changes = _check_fields(body, _ORDER_FIELD_KINDS, _ORDER_READ_ONLY)
        connection.factory.counter += 1
        # Same id style as seeded orders, so ids never collide.
        order_id = f"ord_{connection.id[-4:]}{connection.factory.counter:06d}"
        now = _now()
        wire: dict[str, Any] = {
            "id": order_id,
            "created_at": now,
            "updated_at": now,
            "workspace_id": self.workspace_id,
            "connection_id": connection.id,
            "status": "OPEN",
        }
        _merge(wire, changes)
        self._store_new(connection, wire)
        self._spawn(self._notify(connection.id, "created", [wire]))
        return json_response(wire)

    async def update_order(self, request: web.Request) -> web.Response:
        return await self._write_order(request, replace=True)

    async def patch_order(self, request: web.Request) -> web.Response:
        return await self._write_order(request, replace=False)

    async def _write_order(self, request: web.Request, *, replace: bool) -> web.Response:
        stored = self._stored_order(request)
        body = await _json_object(request)
        changes = _check_fields(body, _ORDER_FIELD_KINDS, _ORDER_READ_ONLY)
        if replace:
            # PUT replaces the vendor-owned result as a whole.
            for name in _RESPONSE_FIELDS - set(changes):
                stored.wire.pop(name, None)
        _merge(stored.wire, changes)
        self._touch(stored)
        self._spawn(self._notify(stored.wire["connection_id"], "updated", [stored.wire]))
        return json_response(stored.wire)

    # --- packages ---------------------------------------------------------------------------

    async def list_packages(self, request: web.Request) -> web.Response:
        connection = self._connection(request)
        limit = _query_int(request, "limit", DEFAULT_LIST_LIMIT)
        offset = _query_int(request, "offset", 0)
        packages = list(connection.packages.values())[offset : offset + limit]
        return json_response(packages)

    async def create_package(self, request: web.Request) -> web.Response:
        connection = self._connection(request)
        body = await _json_object(request)
        changes = _check_fields(body, _PACKAGE_FIELD_KINDS, _PACKAGE_READ_ONLY)
        missing = [name for name in ("id", "name", "type") if changes.get(name) is None]
        if missing:
            raise _ApiError(400, f"Missing required field(s): {', '.join(missing)}")
        if changes["id"] in connection.packages:
            raise _ApiError(409, "A package with this id already exists")
        now = _now()
        package: dict[str, Any] = {
            "id": changes["id"],
            "created_at": now,
            "updated_at": now,
            "workspace_id": self.workspace_id,
            "connection_id": connection.id,
        }
        _merge(package, changes)
        connection.packages[package["id"]] = package
        return json_response(package)

    async def get_package(self, request: web.Request) -> web.Response:
        return json_response(self._package(request))

    async def update_package(self, request: web.Request) -> web.Response:
        package = self._package(request)
        body = await _json_object(request)
        changes = _check_fields(body, _PACKAGE_FIELD_KINDS, _PACKAGE_READ_ONLY)
        if changes.get("id", package["id"]) != package["id"]:
            raise _ApiError(400, "The id in the body does not match the path")
        for name in ("name", "type"):
            if name in changes and changes[name] is None:
                raise _ApiError(400, f"{name} is required")
        _merge(package, changes)
        package["updated_at"] = _now()
        return json_response(package)

    async def remove_package(self, request: web.Request) -> web.Response:
        package = self._package(request)
        del self.connections[package["connection_id"]].packages[package["id"]]
        return web.Response(status=200)

    # --- webhook subscriptions ----------------------------------------------------------

    async def list_webhooks(self, request: web.Request) -> web.Response:
        query = request.query
        updated_gte = _time_filter(query.get("updated_gte"), "updated_gte")
        created_lte = _time_filter(query.get("created_lte"), "created_lte")
        exact = {
            "connection_id": query.get("connection_id"),
            "object_type": query.get("object"),
            "integration_type": query.get("integration_type"),
            "environment": query.get("env"),
        }
        chosen = [
            webhook
            for webhook in self.webhooks.values()
            if all(value is None or webhook.get(key) == value for key, value in exact.items())
            and (updated_gte is None or _parse_time(webhook["updated_at"]) >= updated_gte)
            and (created_lte is None or _parse_time(webhook["created_at"]) <= created_lte)
        ]
        sort_key = query.get("sort", "created_at")
        if sort_key not in ("created_at", "updated_at"):
            sort_key = "created_at"
        # Creation order breaks ties: timestamps only have second precision.
        position = {webhook_id: index for index, webhook_id in enumerate(self.webhooks)}
        chosen.sort(
            key=lambda w: (str(w[sort_key]), position[w["id"]]),
            reverse=query.get("order") == "desc",
        )
        limit = _query_int(request, "limit", DEFAULT_LIST_LIMIT)
        offset = _query_int(request, "offset", 0)
        return json_response(chosen[offset : offset + limit])

    async def create_webhook(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        webhook = self._new_webhook(body)
        self.webhooks[webhook["id"]] = webhook
        self._cursors[webhook["id"]] = self._revision
        if _query_bool(request, "include_all"):
            self._spawn(self._backfill(webhook["id"]))
        return json_response(webhook)

    async def get_webhook(self, request: web.Request) -> web.Response:
        return json_response(self._webhook(request))

    async def update_webhook(self, request: web.Request) -> web.Response:
        webhook = self._webhook(request)
        body = await _json_object(request)
        for fixed in ("connection_id", "object_type"):
            if fixed in body and body[fixed] != webhook[fixed]:
                raise _ApiError(400, f"{fixed} cannot be changed")
        read_only = frozenset(webhook) - set(_WEBHOOK_WRITABLE) | {"connection_id", "object_type"}
        changes = _check_fields(body, _WEBHOOK_WRITABLE, read_only)
        _merge(webhook, changes)
        webhook["updated_at"] = _now()
        return json_response(webhook)

    async def remove_webhook(self, request: web.Request) -> web.Response:
        webhook = self._webhook(request)
        del self.webhooks[webhook["id"]]
        self._cursors.pop(webhook["id"], None)
        return web.Response(status=200)

    async def trigger_webhook(self, request: web.Request) -> web.Response:
        webhook = self._webhook(request)
        self._spawn(self._run_pending(webhook["id"]))
        return web.Response(status=200)

    def _new_webhook(self, body: Mapping[str, Any]) -> dict[str, Any]:
        connection_id = body.get("connection_id")
        if not isinstance(connection_id, str) or connection_id not in self.connections:
            raise _ApiError(404, "Connection not found")
        if body.get("object_type") != ORDER_OBJECT:
            raise _ApiError(400, f"object_type must be {ORDER_OBJECT} on this connection")
        if body.get("event") not in WEBHOOK_EVENTS:
            raise _ApiError(400, f"event must be one of {', '.join(WEBHOOK_EVENTS)}")
        if not isinstance(body.get("hook_url"), str):
            raise _ApiError(400, "hook_url is required")
        read_only = frozenset(body) - set(_WEBHOOK_WRITABLE)
        changes = _check_fields(body, _WEBHOOK_WRITABLE, read_only)
        self._webhook_count += 1
        now = _now()
        webhook: dict[str, Any] = {
            "id": _derive(self.context.seed, f"webhook:{self._webhook_count}"),
            "created_at": now,
            "updated_at": now,
            "workspace_id": self.workspace_id,
            "connection_id": connection_id,
            "integration_type": self.connections[connection_id].integration_type,
            "object_type": ORDER_OBJECT,
            "event": body["event"],
            "webhook_type": "virtual",
            "interval": 1,
            "page_max_limit": DEFAULT_PAGE_MAX_LIMIT,
            "environment": "Production",
            "is_paused": False,
            "is_healthy": True,
            "runs": [],
        }
        _merge(webhook, changes)
        if webhook["webhook_type"] == "native":
            webhook.pop("interval", None)  # native webhooks are pushed, not polled
        return webhook

    # --- deliveries -------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, webhook: dict[str, Any], kind: str, items: Sequence[Any]) -> None:
        data = [{**item, "webhook_id": webhook["id"]} for item in items]
        nonce = secrets.token_hex(16)
        body = {
            "data": data,
            "webhook": webhook,
            "nonce": nonce,
            "sig": webhook_signature(self.secret, data, nonce),
            "type": kind,
        }
        await self.context.webhooks.deliver(
            provider=self.provider,
            account=webhook["connection_id"],
            url=webhook["hook_url"],
            kind=kind,
            body=compact_json(body).encode(),
            headers={},
        )

    def _page_size(self, webhook: Mapping[str, Any]) -> int:
        return max(1, int(webhook.get("page_max_limit") or DEFAULT_PAGE_MAX_LIMIT))

    async def _backfill(self, webhook_id: str) -> None:
        """include_all: every existing order, in pages, then INITIAL-COMPLETE."""
        webhook = self.webhooks.get(webhook_id)
        if webhook is None or not webhook.get("hook_url"):
            return
        connection = self.connections[webhook["connection_id"]]
        snapshot = [stored.wire for stored in connection.orders.values()]
        for page in _pages(snapshot, self._page_size(webhook)):
            await self._deliver(webhook, "INITIAL-PARTIAL", page)
        await self._deliver(webhook, "INITIAL-COMPLETE", [])
        webhook["checked_at"] = _now()

    def _live_kind(self, webhook: Mapping[str, Any]) -> str:
        return "NATIVE" if webhook.get("webhook_type") == "native" else "VIRTUAL"

    def _subscribers(self, connection_id: str, event: str) -> list[dict[str, Any]]:
        return [
            webhook
            for webhook in self.webhooks.values()
            if webhook["connection_id"] == connection_id
            and webhook["object_type"] == ORDER_OBJECT
            and webhook["event"] == event
            and webhook.get("hook_url")
            and not webhook.get("is_paused")
        ]

    async def _notify(self, connection_id: str, event: str, orders: Sequence[Any]) -> None:
        """Deliver changed orders to the connection's active subscribers of ``event``."""
        for webhook in self._subscribers(connection_id, event):
            for page in _pages(list(orders), self._page_size(webhook)):
                await self._deliver(webhook, self._live_kind(webhook), page)
            self._cursors[webhook["id"]] = self._revision
            webhook["checked_at"] = _now()

    async def _run_pending(self, webhook_id: str) -> None:
        """``…/trigger``: deliver what the webhook has not seen yet (e.g. while paused)."""
        webhook = self.webhooks.get(webhook_id)
        if webhook is None or not webhook.get("hook_url"):
            return
        cursor = self._cursors.get(webhook_id, 0)
        connection = self.connections[webhook["connection_id"]]
        if webhook["event"] == "created":
            pending = [s.wire for s in connection.orders.values() if s.created_rev > cursor]
        else:
            pending = [
                s.wire
                for s in connection.orders.values()
                if s.rev > cursor and s.created_rev <= cursor
            ]
        for page in _pages(pending, self._page_size(webhook)):
            await self._deliver(webhook, self._live_kind(webhook), page)
        self._cursors[webhook_id] = self._revision
        webhook["checked_at"] = _now()

    # --- lookups and records --------------------------------------------------------------

    def _connection(self, request: web.Request) -> _Connection:
        connection = self.connections.get(request.match_info["connection_id"])
        if connection is None:
            raise _ApiError(404, "Connection not found")
        return connection

    def _stored_order(self, request: web.Request) -> _StoredOrder:
        stored = self._connection(request).orders.get(request.match_info["id"])
        if stored is None:
            raise _ApiError(404, "Order not found")
        return stored

    def _package(self, request: web.Request) -> dict[str, Any]:
        package = self._connection(request).packages.get(request.match_info["id"])
        if package is None:
            raise _ApiError(404, "Package not found")
        return package

    def _webhook(self, request: web.Request) -> dict[str, Any]:
        webhook = self.webhooks.get(request.match_info["id"])
        if webhook is None:
            raise _ApiError(404, "Webhook not found")
        return webhook

    def _store_new(self, connection: _Connection, wire: dict[str, Any]) -> None:
        self._revision += 1
        connection.orders[wire["id"]] = _StoredOrder(wire, self._revision, self._revision)

    def _touch(self, stored: _StoredOrder) -> None:
        self._revision += 1
        stored.rev = self._revision
        stored.wire["updated_at"] = _now()

    def _truth(self, connection_id: str, wire: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": connection_id,
            "id": wire["id"],
            "status": wire.get("status"),
        }

    def _package_wire(self, connection: _Connection, package: SeedPackage) -> dict[str, Any]:
        stamp = iso(_CATALOGUE_TIME)
        return {
            "id": package.id,
            "created_at": stamp,
            "updated_at": stamp,
            "workspace_id": self.workspace_id,
            "connection_id": connection.id,
            "name": package.name,
            "description": package.description,
            "type": _SEED_PACKAGE_TYPES.get(package.type, package.type),
            "integration_types": [connection.integration_type],
            "info_url": f"https://assess.example.com/packages/{package.id}",
            "max_score": 100,
            "has_target_url": True,
            "has_redirect_url": True,
            "needs_ip_address": False,
        }

    def _order_wire(self, connection: _Connection, order: SeedOrder) -> dict[str, Any]:
        candidate = order.candidate
        location = order.job.location
        wire: dict[str, Any] = {
            "id": order.id,
            "created_at": iso(order.created_at),
            "updated_at": iso(order.updated_at),
            "workspace_id": self.workspace_id,
            "connection_id": connection.id,
            "package_id": order.package.id,
            "status": order.status,
            "reference": f"{connection.integration_type}:{order.application_id}",
            "application_id": order.application_id,
            "job_id": order.job.remote_id,
            "candidate_id": candidate.remote_id,
            "profile_name": f"{candidate.first_name} {candidate.last_name}",
            "profile_first_name": candidate.first_name,
            "profile_last_name": candidate.last_name,
            "profile_emails": [candidate.email],
            "profile_telephones": [candidate.phone],
            "profile_resume_url": candidate.profile_url,
            "profile_addresses": [
                {
                    "address1": location.street_1,
                    "city": location.city,
                    "region": location.state,
                    "postal_code": location.zip_code,
                    "country_code": location.country,
                }
            ],
            "target_url": f"https://ats.example.com/applications/{order.application_id}",
            **_seeded_sensitive_profile(candidate.remote_id, location.country),
        }
        if order.status in ("COMPLETED", "FAILED"):
            wire.update(self._seeded_result(order))
        return wire

    @staticmethod
    def _seeded_result(order: SeedOrder) -> dict[str, Any]:
        """A plausible result for orders seeded as finished (deterministic per id)."""
        score = 40 + int(hashlib.sha256(order.id.encode()).hexdigest()[:4], 16) % 61
        return {
            "response_status": order.status,
            "response_score": score,
            "response_max_score": 100,
            "response_url": f"https://assess.example.com/results/{order.id}",
            "response_completed_at": iso(order.updated_at),
            "response_attributes": [
                {"type": "NUMBER", "label": "Overall", "score_value": score, "score_max": 100}
            ],
        }
