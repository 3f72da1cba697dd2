"""The Unified.to simulator: seeding, routes, orders and packages (see the package doc)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from ordergraph.sandbox.core import Account, SandboxContext, Simulator, iso, json_response
from ordergraph.sandbox.data import OrderFactory, SeedOrder, SeedPackage, seed_packages
from ordergraph.sandbox.unified.checks import (
    ApiError,
    allow_header,
    check_fields,
    json_object,
    merge,
    query_int,
)
from ordergraph.sandbox.unified.connect import (
    AUTH_PATH,
    AuthSession,
    ConnectRoutes,
    connection_record,
)
from ordergraph.sandbox.unified.webhooks import WebhookRoutes
from ordergraph.sandbox.unified.wire import (
    CATALOGUE_TIME,
    DEFAULT_LIST_LIMIT,
    DEFAULT_PERMISSIONS,
    INTEGRATION_TYPES,
    ORDER_FIELD_KINDS,
    ORDER_READ_ONLY,
    ORDER_STATUSES,
    PACKAGE_FIELD_KINDS,
    PACKAGE_READ_ONLY,
    RESPONSE_FIELDS,
    SEED_PACKAGE_TYPES,
    Connection,
    StoredOrder,
    derive,
    now_iso,
    seeded_sensitive_profile,
)

__all__ = ["UnifiedSimulator"]


class UnifiedSimulator(ConnectRoutes, WebhookRoutes, Simulator):
    """Unified.to's assessment API for one sandbox workspace (see the module docstring)."""

    provider = "unified"
    mount = "/unified"

    def __init__(self, context: SandboxContext) -> None:
        super().__init__(context)
        self.workspace_id = ""
        self.token = ""
        self.secret = ""
        self.connections: dict[str, Connection] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self._cursors: dict[str, int] = {}
        self._revision = 0
        self._webhook_count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._connection_count = 0
        self.auth_sessions: dict[str, AuthSession] = {}

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
        self.workspace_id = derive(seed, "workspace")
        self.token = derive(seed, "api-token", 64)
        self.secret = derive(seed, "workspace-secret", 40)
        self.connections = {}
        self.webhooks = {}
        self._cursors = {}
        self._revision = 0
        self._webhook_count = 0
        self._connection_count = 0
        self.auth_sessions = {}
        for _ in range(self.context.accounts_per_provider):
            self._add_connection(created_at=iso(CATALOGUE_TIME) or "")

    def _add_connection(
        self, *, created_at: str, integration_type: str | None = None,
        external_xref: str | None = None, permissions: Sequence[str] = DEFAULT_PERMISSIONS,
        environment: str = "Production",
    ) -> Connection:  # fmt: skip
        """A new connection, numbered in creation order so ids follow from the seed;
        the customer's ATS already holds orders when it is connected."""
        index = self._connection_count
        self._connection_count += 1
        connection_id = derive(self.context.seed, f"connection:{index}")
        kind = integration_type or INTEGRATION_TYPES[index % len(INTEGRATION_TYPES)]
        connection = Connection(
            id=connection_id,
            integration_type=kind,
            factory=OrderFactory(
                seed=self.context.seed,
                account=connection_id,
                id_prefix="ord_",
                statuses=ORDER_STATUSES,
            ),
        )
        connection.record = connection_record(
            connection_id, self.workspace_id, kind, created_at, external_xref,
            permissions, environment,
        )  # fmt: skip
        for package in seed_packages():
            connection.packages[package.id] = self._package_wire(connection, package)
        for _ in range(self.context.orders_per_account):
            wire = self._order_wire(connection, connection.factory.next_order())
            connection.orders[wire["id"]] = StoredOrder(wire)
        self.connections[connection_id] = connection
        return connection

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
        app.router.add_get("/unified/connection", self.list_connections)
        app.router.add_get("/unified/connection/{id}", self.get_connection)
        app.router.add_delete("/unified/connection/{id}", self.remove_connection)
        app.router.add_get(AUTH_PATH, self.authorize)

    @web.middleware
    async def _vendor(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Bearer auth on every path, and ``ApiError`` → the vendor's error body."""
        expected = f"Bearer {self.token}".encode()
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return self.error_response(401, "Invalid or missing API token")
        try:
            return await handler(request)
        except ApiError as exc:
            return self.error_response(exc.status, exc.message)
        except web.HTTPException as exc:
            # Unknown paths and methods answer in the same error shape as the rest.
            if exc.status < 400:
                raise
            return self.error_response(exc.status, exc.reason, headers=allow_header(exc))

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
        body = await json_object(request)
        changes = check_fields(body, ORDER_FIELD_KINDS, ORDER_READ_ONLY)
        connection.factory.counter += 1
        # Same id style as seeded orders, so ids never collide.
        order_id = f"ord_{connection.id[-4:]}{connection.factory.counter:06d}"
        now = now_iso()
        wire: dict[str, Any] = {
            "id": order_id,
            "created_at": now,
            "updated_at": now,
            "workspace_id": self.workspace_id,
            "connection_id": connection.id,
            "status": "OPEN",
        }
        merge(wire, changes)
        self._store_new(connection, wire)
        self._spawn(self._notify(connection.id, "created", [wire]))
        return json_response(wire)

    async def update_order(self, request: web.Request) -> web.Response:
        return await self._write_order(request, replace=True)

    async def patch_order(self, request: web.Request) -> web.Response:
        return await self._write_order(request, replace=False)

    async def _write_order(self, request: web.Request, *, replace: bool) -> web.Response:
        stored = self._stored_order(request)
        body = await json_object(request)
        changes = check_fields(body, ORDER_FIELD_KINDS, ORDER_READ_ONLY)
        if replace:
            # PUT replaces the vendor-owned result as a whole.
            for name in RESPONSE_FIELDS - set(changes):
                stored.wire.pop(name, None)
        merge(stored.wire, changes)
        self._touch(stored)
        self._spawn(self._notify(stored.wire["connection_id"], "updated", [stored.wire]))
        return json_response(stored.wire)

    # --- packages ---------------------------------------------------------------------------

    async def list_packages(self, request: web.Request) -> web.Response:
        connection = self._connection(request)
        limit = query_int(request, "limit", DEFAULT_LIST_LIMIT)
        offset = query_int(request, "offset", 0)
        packages = list(connection.packages.values())[offset : offset + limit]
        return json_response(packages)

    async def create_package(self, request: web.Request) -> web.Response:
        connection = self._connection(request)
        body = await json_object(request)
        changes = check_fields(body, PACKAGE_FIELD_KINDS, PACKAGE_READ_ONLY)
        missing = [name for name in ("id", "name", "type") if changes.get(name) is None]
        if missing:
            raise ApiError(400, f"Missing required field(s): {', '.join(missing)}")
        if changes["id"] in connection.packages:
            raise ApiError(409, "A package with this id already exists")
        now = now_iso()
        package: dict[str, Any] = {
            "id": changes["id"],
            "created_at": now,
            "updated_at": now,
            "workspace_id": self.workspace_id,
            "connection_id": connection.id,
        }
        merge(package, changes)
        connection.packages[package["id"]] = package
        return json_response(package)

    async def get_package(self, request: web.Request) -> web.Response:
        return json_response(self._package(request))

    async def update_package(self, request: web.Request) -> web.Response:
        package = self._package(request)
        body = await json_object(request)
        changes = check_fields(body, PACKAGE_FIELD_KINDS, PACKAGE_READ_ONLY)
        if changes.get("id", package["id"]) != package["id"]:
            raise ApiError(400, "The id in the body does not match the path")
        for name in ("name", "type"):
            if name in changes and changes[name] is None:
                raise ApiError(400, f"{name} is required")
        merge(package, changes)
        package["updated_at"] = now_iso()
        return json_response(package)

    async def remove_package(self, request: web.Request) -> web.Response:
        package = self._package(request)
        del self.connections[package["connection_id"]].packages[package["id"]]
        return web.Response(status=200)

    # --- lookups and records --------------------------------------------------------------

    def _connection(self, request: web.Request) -> Connection:
        connection = self.connections.get(request.match_info["connection_id"])
        if connection is None:
            raise ApiError(404, "Connection not found")
        return connection

    def _stored_order(self, request: web.Request) -> StoredOrder:
        stored = self._connection(request).orders.get(request.match_info["id"])
        if stored is None:
            raise ApiError(404, "Order not found")
        return stored

    def _package(self, request: web.Request) -> dict[str, Any]:
        package = self._connection(request).packages.get(request.match_info["id"])
        if package is None:
            raise ApiError(404, "Package not found")
        return package

    def _store_new(self, connection: Connection, wire: dict[str, Any]) -> None:
        self._revision += 1
        connection.orders[wire["id"]] = StoredOrder(wire, self._revision, self._revision)

    def _touch(self, stored: StoredOrder) -> None:
        self._revision += 1
        stored.rev = self._revision
        stored.wire["updated_at"] = now_iso()

    def _truth(self, connection_id: str, wire: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": connection_id,
            "id": wire["id"],
            "status": wire.get("status"),
        }

    def _package_wire(self, connection: Connection, package: SeedPackage) -> dict[str, Any]:
        stamp = iso(CATALOGUE_TIME)
        return {
            "id": package.id,
            "created_at": stamp,
            "updated_at": stamp,
            "workspace_id": self.workspace_id,
            "connection_id": connection.id,
            "name": package.name,
            "description": package.description,
            "type": SEED_PACKAGE_TYPES.get(package.type, package.type),
            "integration_types": [connection.integration_type],
            "info_url": f"https://assess.example.com/packages/{package.id}",
            "max_score": 100,
            "has_target_url": True,
            "has_redirect_url": True,
            "needs_ip_address": False,
        }

    def _order_wire(self, connection: Connection, order: SeedOrder) -> dict[str, Any]:
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
            **seeded_sensitive_profile(candidate.remote_id, location.country),
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
