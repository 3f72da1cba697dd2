"""The StackOne simulator: linked accounts, packages, orders and results."""

from __future__ import annotations

import base64
import binascii
import json
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ordergraph.sandbox.core import Account, SandboxContext, Simulator, json_response
from ordergraph.sandbox.data import OrderFactory, seed_packages
from ordergraph.sandbox.stackone.records import (
    StoredOrder,
    legacy_result,
    now_iso,
    order_body,
    project,
    requested_fields,
    wants_raw,
)
from ordergraph.sandbox.stackone.shapes import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    ORDER_SHAPE,
    PREFIX,
    RESULT_SHAPE,
    RESULT_VALUES,
    BodyError,
    UnknownPackageError,
    b64,
    compact,
    decode_cursor,
    encode_cursor,
    shape_problem,
)

__all__ = ["StackOneSimulator"]


@dataclass
class _AccountData:
    packages: list[dict[str, str]]
    factory: OrderFactory
    ids: random.Random
    orders: dict[str, StoredOrder] = field(default_factory=dict)
    state: str = "ACTIVE"  # control API: INACTIVE/INVALID answer 412


Handler = Callable[[web.Request, _AccountData], Awaitable[web.Response]]


class StackOneSimulator(Simulator):
    """StackOne's ATS assessments API (see the module docstring for the choices made)."""

    provider = "stackone"
    mount = "/stackone"

    def __init__(self, context: SandboxContext) -> None:
        super().__init__(context)
        self.api_key = ""
        self._accounts: dict[str, _AccountData] = {}
        self._ids = random.Random()

    # --- identity and data ----------------------------------------------------------

    def seed(self) -> None:
        # One stream for the key and every account id, seeded and then created, so the
        # ids follow from the seed whatever the order of POST /_sandbox/accounts calls.
        self._ids = random.Random(f"stackone:{self.context.seed}")
        self.api_key = "v1.eu1." + base64.urlsafe_b64encode(self._ids.randbytes(30)).decode()
        self._accounts = {}
        for _ in range(self.context.accounts_per_provider):
            self._add_account()

    def _add_account(self) -> str:
        account = str(self._ids.randrange(10**19, 10**20))
        self._accounts[account] = _AccountData(
            packages=[
                {
                    "id": b64(f"{account}:{package.id}"),
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
        return account

    # StackOne's connect sessions (hub links) are not in the saved specs: an account
    # is made here directly, as a linked account made in StackOne's dashboard would be.
    async def create_account(self) -> Account:
        account = self._add_account()
        return next(a for a in self.accounts() if a.account == account)

    async def remove_account(self, account: str) -> None:
        del self._accounts[account]  # its requests are then 403, as for any unknown id

    async def set_account_state(self, account: str, state: str) -> None:
        self._accounts[account].state = state

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
        body = {"statusCode": status, "message": message, "timestamp": now_iso()}
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
            if data.state != "ACTIVE":
                return self.error_response(
                    412, "Precondition failed: linked account belongs to a disabled integration"
                )
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
        fields = requested_fields(request)
        page = [project(p, fields) for p in data.packages[offset : offset + size]]
        body: dict[str, Any] = {"data": page}
        if offset + size < len(data.packages):
            body["next"] = encode_cursor(offset + size)
        if wants_raw(request):
            body["raw"] = []
        return json_response(body)

    async def _get_package(self, request: web.Request, data: _AccountData) -> web.Response:
        wanted = request.match_info["id"]
        package = next((p for p in data.packages if p["id"] == wanted), None)
        if package is None:
            return self.error_response(404, f"Assessment package {wanted} not found")
        body: dict[str, Any] = {"data": project(package, requested_fields(request))}
        if wants_raw(request):
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
            {"statusCode": 200, "message": "Record updated successfully.", "timestamp": now_iso()}
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
