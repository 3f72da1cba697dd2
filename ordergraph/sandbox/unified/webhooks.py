"""Unified.to webhook subscriptions (``/unified/webhook``) and their deliveries."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, ClassVar

from aiohttp import web

from ordergraph.sandbox.core import SandboxContext, json_response
from ordergraph.sandbox.unified.checks import (
    ApiError,
    check_fields,
    json_object,
    merge,
    parse_time,
    query_bool,
    query_int,
    time_filter,
)
from ordergraph.sandbox.unified.wire import (
    DEFAULT_LIST_LIMIT,
    DEFAULT_PAGE_MAX_LIMIT,
    ORDER_OBJECT,
    WEBHOOK_EVENTS,
    WEBHOOK_WRITABLE,
    Connection,
    compact_json,
    derive,
    now_iso,
    pages,
    webhook_signature,
)


class WebhookRoutes:
    """The subscription endpoints and delivery logic, mixed into the simulator."""

    provider: ClassVar[str]
    context: SandboxContext
    workspace_id: str
    secret: str
    connections: dict[str, Connection]
    webhooks: dict[str, dict[str, Any]]
    _cursors: dict[str, int]
    _revision: int
    _webhook_count: int
    _tasks: set[asyncio.Task[None]]

    async def list_webhooks(self, request: web.Request) -> web.Response:
        query = request.query
        updated_gte = time_filter(query.get("updated_gte"), "updated_gte")
        created_lte = time_filter(query.get("created_lte"), "created_lte")
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
            and (updated_gte is None or parse_time(webhook["updated_at"]) >= updated_gte)
            and (created_lte is None or parse_time(webhook["created_at"]) <= created_lte)
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
        limit = query_int(request, "limit", DEFAULT_LIST_LIMIT)
        offset = query_int(request, "offset", 0)
        return json_response(chosen[offset : offset + limit])

    async def create_webhook(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        webhook = self._new_webhook(body)
        self.webhooks[webhook["id"]] = webhook
        self._cursors[webhook["id"]] = self._revision
        if query_bool(request, "include_all"):
            self._spawn(self._backfill(webhook["id"]))
        return json_response(webhook)

    async def get_webhook(self, request: web.Request) -> web.Response:
        return json_response(self._webhook(request))

    async def update_webhook(self, request: web.Request) -> web.Response:
        webhook = self._webhook(request)
        body = await json_object(request)
        for fixed in ("connection_id", "object_type"):
            if fixed in body and body[fixed] != webhook[fixed]:
                raise ApiError(400, f"{fixed} cannot be changed")
        read_only = frozenset(webhook) - set(WEBHOOK_WRITABLE) | {"connection_id", "object_type"}
        changes = check_fields(body, WEBHOOK_WRITABLE, read_only)
        merge(webhook, changes)
        webhook["updated_at"] = now_iso()
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
            raise ApiError(404, "Connection not found")
        if body.get("object_type") != ORDER_OBJECT:
            raise ApiError(400, f"object_type must be {ORDER_OBJECT} on this connection")
        if body.get("event") not in WEBHOOK_EVENTS:
            raise ApiError(400, f"event must be one of {', '.join(WEBHOOK_EVENTS)}")
        if not isinstance(body.get("hook_url"), str):
            raise ApiError(400, "hook_url is required")
        read_only = frozenset(body) - set(WEBHOOK_WRITABLE)
        changes = check_fields(body, WEBHOOK_WRITABLE, read_only)
        self._webhook_count += 1
        now = now_iso()
        webhook: dict[str, Any] = {
            "id": derive(self.context.seed, f"webhook:{self._webhook_count}"),
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
        merge(webhook, changes)
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
        connection = self.connections.get(webhook["connection_id"])
        if connection is None:  # removed while this delivery waited
            return
        snapshot = [stored.wire for stored in connection.orders.values()]
        for page in pages(snapshot, self._page_size(webhook)):
            await self._deliver(webhook, "INITIAL-PARTIAL", page)
        await self._deliver(webhook, "INITIAL-COMPLETE", [])
        webhook["checked_at"] = now_iso()

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
            # A paused connection (control API state INACTIVE) delivers nothing.
            and not self.connections[connection_id].record.get("is_paused")
        ]

    async def _notify(self, connection_id: str, event: str, orders: Sequence[Any]) -> None:
        """Deliver changed orders to the connection's active subscribers of ``event``."""
        for webhook in self._subscribers(connection_id, event):
            for page in pages(list(orders), self._page_size(webhook)):
                await self._deliver(webhook, self._live_kind(webhook), page)
            self._cursors[webhook["id"]] = self._revision
            webhook["checked_at"] = now_iso()

    async def _run_pending(self, webhook_id: str) -> None:
        """``…/trigger``: deliver what the webhook has not seen yet (e.g. while paused)."""
        webhook = self.webhooks.get(webhook_id)
        if webhook is None or not webhook.get("hook_url"):
            return
        cursor = self._cursors.get(webhook_id, 0)
        connection = self.connections.get(webhook["connection_id"])
        if connection is None:  # removed while this delivery waited
            return
        if webhook["event"] == "created":
            pending = [s.wire for s in connection.orders.values() if s.created_rev > cursor]
        else:
            pending = [
                s.wire
                for s in connection.orders.values()
                if s.rev > cursor and s.created_rev <= cursor
            ]
        for page in pages(pending, self._page_size(webhook)):
            await self._deliver(webhook, self._live_kind(webhook), page)
        self._cursors[webhook_id] = self._revision
        webhook["checked_at"] = now_iso()

    def _webhook(self, request: web.Request) -> dict[str, Any]:
        webhook = self.webhooks.get(request.match_info["id"])
        if webhook is None:
            raise ApiError(404, "Webhook not found")
        return webhook
