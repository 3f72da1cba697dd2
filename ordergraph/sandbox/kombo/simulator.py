"""The Kombo simulator: integrations, orders, packages (see the package doc)."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from ordergraph.sandbox.core import Account, SandboxContext, Simulator, iso
from ordergraph.sandbox.kombo.bodies import PackagesBody, ResultBody, validation_message
from ordergraph.sandbox.kombo.connect import STATE_ERRORS, ConnectRoutes, PendingLink
from ordergraph.sandbox.kombo.orders import (
    Integration,
    OrderFilter,
    StoredOrder,
    csv_values,
    decode_cursor,
    page_size,
    parse_created_after,
    parse_statuses,
    select_page,
    stored_order,
)
from ordergraph.sandbox.kombo.wire import (
    INPUT_INVALID,
    INTEGRATION_NOT_FOUND,
    ORDER_RECEIVED,
    ORDER_STATUSES,
    PACKAGE_KEYS,
    KomboApiError,
    code_for_status,
    derived_secret,
    kombo_id,
    sign,
    success,
)

__all__ = ["KomboSimulator"]


class KomboSimulator(ConnectRoutes, Simulator):
    """Kombo's assessment endpoints for a sandbox customer with several integrations."""

    provider = "kombo"
    mount = "/kombo/v1"

    def __init__(self, context: SandboxContext) -> None:
        super().__init__(context)
        self.api_key = "kombo_sandbox_" + derived_secret(context.seed, "api-key")
        self.webhook_secret = derived_secret(context.seed, "webhook-secret")
        self.integrations: dict[str, Integration] = {}
        self.links: dict[str, PendingLink] = {}
        self._numbers = 0  # integrations ever made; numbers are never reused
        self._events = random.Random()

    # --- accounts and data -------------------------------------------------------------

    def accounts(self) -> list[Account]:
        return [self._account_of(integration_id) for integration_id in self.integrations]

    def seed(self) -> None:
        self.integrations = {}
        self.links = {}
        self._numbers = 0
        self._events = random.Random(f"kombo:{self.context.seed}:lifecycle-events")
        for _ in range(self.context.accounts_per_provider):
            self._add_integration()

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
            order = stored_order(integration.factory.next_order(status="OPEN", at=now))
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
        payload = {"id": kombo_id(integration.rng), "type": ORDER_RECEIVED, "data": data}
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
        app.router.add_post("/connect/create-link", self._create_link)
        app.router.add_get("/integrations/{integration_id}", self._get_integration)
        app.router.add_delete("/integrations/{integration_id}", self._delete_integration)

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
        """Check the API key, then the integration header (Kombo's order of checks),
        then that the integration is syncing (not paused, credentials valid)."""
        self._check_key(request)
        integration_id = request.headers.get("X-Integration-Id", "").strip()
        if not integration_id:
            raise KomboApiError(400, INPUT_INVALID, "The X-Integration-Id header is required.")
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise KomboApiError(
                404, INTEGRATION_NOT_FOUND, f"No integration with ID {integration_id!r} exists."
            )
        refusal = STATE_ERRORS.get(integration.state)
        if refusal is not None:
            raise KomboApiError(403, *refusal)
        return integration

    async def _get_orders(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        query = request.query
        size = page_size(query)
        ids = csv_values(query.get("ids"))
        wanted = OrderFilter(
            after=decode_cursor(query["cursor"], integration) if query.get("cursor") else -1,
            statuses=parse_statuses(query),
            ids=tuple(ids) if ids else None,  # an empty ids list filters nothing
            created_after=parse_created_after(query),
        )
        page, next_cursor = select_page(integration, wanted, size)
        return success({"next": next_cursor, "results": [order.wire() for order in page]})

    async def _get_open_orders(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        query = request.query
        size = page_size(query)
        after = decode_cursor(query["cursor"], integration) if query.get("cursor") else -1
        page, next_cursor = select_page(
            integration, OrderFilter(after, statuses=frozenset({"OPEN"})), size
        )
        results = [order.wire(with_status=False) for order in page]
        return success({"next": next_cursor, "results": results})

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
            body = ResultBody.model_validate(payload)
        except ValidationError as exc:
            raise KomboApiError(400, INPUT_INVALID, validation_message(exc)) from exc
        if body.status != order.status and order.status != "OPEN":
            raise KomboApiError(
                400,
                INPUT_INVALID,
                f"The order is {order.status}; its status can only be changed while it is OPEN.",
            )
        order.status = body.status
        order.result = payload
        return success({}, warnings=[])

    async def _get_packages(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        return success({"packages": list(integration.packages.values())})

    async def _put_packages(self, request: web.Request) -> web.Response:
        integration = self._authenticate(request)
        try:
            body = PackagesBody.model_validate(await self._json_body(request))
        except ValidationError as exc:
            raise KomboApiError(400, INPUT_INVALID, validation_message(exc)) from exc
        now = iso(datetime.now(UTC), millis=True)
        replaced: dict[str, dict[str, Any]] = {}
        for package in body.packages:
            entry = package.model_dump()
            previous = integration.packages.get(package.id)
            unchanged = previous is not None and all(
                previous[key] == entry[key] for key in ("type", "name", "description")
            )
            entry["updated_at"] = previous["updated_at"] if unchanged and previous else now
            replaced[package.id] = {key: entry[key] for key in PACKAGE_KEYS}
        # Packages left out are "marked deleted": they are simply no longer listed.
        integration.packages = replaced
        return success({}, warnings=[])
