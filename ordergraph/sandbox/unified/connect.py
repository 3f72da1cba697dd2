"""Unified.to connections: the authorization URL, the customer's consent, and
``/unified/connection`` (list, read, remove).

What the spec leaves open, and what the simulator does:

* ``GET /unified/integration/auth/{workspace_id}/{integration_type}`` needs the API
  token like every path (the operation declares no ``security`` of its own, so the
  spec's global ``jwt`` applies): the client fetches it and hands the answer to its
  customer. The answer is the URL of the consent page,
  ``<sandbox>/connect/unified/<token>``, as ``text/plain``, or with ``redirect=true``
  a 302 to it. ``POST /_sandbox/connect/complete`` also takes this endpoint's own URL
  (it then opens the flow itself, as the customer's browser would). An unknown
  workspace is a 404; a redirect target that is not an http(s) URL a 400. ``scopes``
  (repeated or comma-separated) become the connection's ``permissions`` (default: the
  assessment ones and ``webhook``).
* Consent given: a connection with the flow's ``external_xref`` and ``env``, already
  holding the ATS's orders, and the browser goes to ``success_redirect`` with ``id``
  and ``state`` appended, as the spec describes. Refused (``error``): to
  ``failure_redirect`` with ``error`` appended, and no connection. A flow is used once.
* A connection never shows its ``auth`` (credentials). The control API's ``INACTIVE``
  sets ``is_paused`` (its webhooks stop delivering), ``INVALID`` stamps
  ``last_unhealthy_at``, ``ACTIVE`` undoes both. Removing a connection removes its
  webhook subscriptions; Unified sends no event for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import web
from multidict import MultiMapping
from yarl import URL

from ordergraph.sandbox.core import (
    Account,
    AccountError,
    ConnectOutcome,
    SandboxContext,
    connect_link,
    json_response,
)
from ordergraph.sandbox.unified.checks import ApiError, parse_time, query_int, time_filter
from ordergraph.sandbox.unified.wire import (
    DEFAULT_LIST_LIMIT,
    DEFAULT_PERMISSIONS,
    Connection,
    derive,
    now_iso,
)

__all__ = ["AUTH_PATH", "AuthSession", "ConnectRoutes", "connection_record"]

AUTH_PATH = "/unified/integration/auth/{workspace_id}/{integration_type}"
_AUTH_PATTERN = re.compile(r"^/unified/integration/auth/([^/]+)/([^/]+)$")
_INTEGRATION_TYPE = re.compile(r"^[a-z0-9_]+$")


def connection_record(
    connection_id: str, workspace_id: str, integration_type: str, created_at: str,
    external_xref: str | None, permissions: Sequence[str], environment: str,
) -> dict[str, Any]:  # fmt: skip
    """The spec's ``Connection`` for one connection, without ``auth``."""
    record: dict[str, Any] = {
        "id": connection_id,
        "created_at": created_at,
        "updated_at": created_at,
        "workspace_id": workspace_id,
        "integration_type": integration_type,
        "integration_name": integration_type.replace("_", " ").title(),
        "categories": ["assessment"],
        "permissions": list(permissions),
        "environment": environment,
        "is_paused": False,
        "last_healthy_at": created_at,
    }
    if external_xref is not None:
        record["external_xref"] = external_xref
    return record


@dataclass
class AuthSession:
    """One authorization flow, from the authorization URL to the customer's answer."""

    integration_type: str
    state: str | None
    external_xref: str | None
    success_redirect: str | None
    failure_redirect: str | None
    permissions: tuple[str, ...]
    environment: str
    used: bool = False


def _redirect_target(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if not value.startswith(("http://", "https://")):
        raise ApiError(400, f"{name} must be an http(s) URL")
    return value


def _scopes(query: MultiMapping[str]) -> tuple[str, ...]:
    given = [part for value in query.getall("scopes", []) for part in value.split(",") if part]
    return tuple(given) or DEFAULT_PERMISSIONS


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return str(URL(url).extend_query(params))


class ConnectRoutes:
    """Connections and their authorization flow, mixed into the simulator."""

    provider: ClassVar[str]
    context: SandboxContext
    workspace_id: str
    token: str
    secret: str
    connections: dict[str, Connection]
    webhooks: dict[str, dict[str, Any]]
    _cursors: dict[str, int]
    auth_sessions: dict[str, AuthSession]
    # The simulator's: makes a connection (with its orders and packages).
    _add_connection: Callable[..., Connection]

    # --- vendor routes ---------------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.Response:
        match = request.match_info
        token = self._open_session(match["workspace_id"], match["integration_type"], request.query)
        url = connect_link(request, self.provider, token)
        if request.query.get("redirect", "").lower() == "true":
            raise web.HTTPFound(url)
        return web.Response(text=url, content_type="text/plain")

    async def list_connections(self, request: web.Request) -> web.Response:
        query = request.query
        updated_gte = time_filter(query.get("updated_gte"), "updated_gte")
        categories = {p for v in query.getall("categories", []) for p in v.split(",") if p}
        chosen = [
            c.record
            for c in self.connections.values()
            if (query.get("external_xref") in (None, c.record.get("external_xref")))
            and (query.get("env") in (None, c.record["environment"]))
            and (not categories or categories & set(c.record["categories"]))
            and (updated_gte is None or parse_time(c.record["updated_at"]) >= updated_gte)
        ]
        sort_key = query.get("sort", "created_at")
        if sort_key not in ("created_at", "updated_at"):
            sort_key = "created_at"
        # Creation order breaks ties: timestamps only have second precision.
        position = {connection_id: index for index, connection_id in enumerate(self.connections)}
        chosen.sort(
            key=lambda r: (str(r[sort_key]), position[r["id"]]),
            reverse=query.get("order") == "desc",
        )
        limit = query_int(request, "limit", DEFAULT_LIST_LIMIT)
        offset = query_int(request, "offset", 0)
        return json_response(chosen[offset : offset + limit])

    async def get_connection(self, request: web.Request) -> web.Response:
        return json_response(self._connection_by_id(request.match_info["id"]).record)

    async def remove_connection(self, request: web.Request) -> web.Response:
        self._drop_connection(self._connection_by_id(request.match_info["id"]).id)
        return web.Response(status=200)

    def _connection_by_id(self, connection_id: str) -> Connection:
        connection = self.connections.get(connection_id)
        if connection is None:
            raise ApiError(404, "Connection not found")
        return connection

    def _drop_connection(self, connection_id: str) -> None:
        del self.connections[connection_id]
        hooks = [w for w, hook in self.webhooks.items() if hook["connection_id"] == connection_id]
        for webhook_id in hooks:
            del self.webhooks[webhook_id]
            self._cursors.pop(webhook_id, None)

    def _open_session(
        self, workspace_id: str, integration_type: str, query: MultiMapping[str]
    ) -> str:
        if workspace_id != self.workspace_id:
            raise ApiError(404, "Workspace not found")
        if not _INTEGRATION_TYPE.match(integration_type):
            raise ApiError(400, "Unknown integration_type")
        session = AuthSession(
            integration_type=integration_type,
            state=query.get("state"),
            external_xref=query.get("external_xref") or None,
            success_redirect=_redirect_target(query, "success_redirect"),
            failure_redirect=_redirect_target(query, "failure_redirect"),
            permissions=_scopes(query),
            environment=query.get("env") or "Production",
        )
        token = derive(self.context.seed, f"auth-session:{len(self.auth_sessions)}", 32)
        self.auth_sessions[token] = session
        return token

    # --- the customer's side and the control API -------------------------------------------

    def connect_token(self, path: str, query: MultiMapping[str]) -> str | None:
        match = _AUTH_PATTERN.match(path)
        if match is None:
            return None
        try:
            return self._open_session(match[1], match[2], query)
        except ApiError as exc:
            raise AccountError(exc.status, exc.message) from exc

    def connect_page(self, token: str) -> dict[str, Any] | None:
        session = self.auth_sessions.get(token)
        if session is None:
            return None
        return {
            "integration": session.integration_type,
            "permissions": " ".join(session.permissions),
            "used": session.used,
        }

    async def complete_connect(self, token: str, *, error: str | None = None) -> ConnectOutcome:
        session = self.auth_sessions.get(token)
        if session is None:
            raise AccountError(404, "unknown Unified authorization")
        if session.used:
            raise AccountError(409, "this Unified authorization was already used")
        session.used = True
        if error is not None:
            target = session.failure_redirect
            redirect = _with_query(target, {"error": error}) if target else None
            return ConnectOutcome(self.provider, None, redirect)
        connection = self._add_connection(
            created_at=now_iso(),
            integration_type=session.integration_type,
            external_xref=session.external_xref,
            permissions=session.permissions,
            environment=session.environment,
        )
        params = {"id": connection.id}
        if session.state is not None:
            params["state"] = session.state
        target = session.success_redirect
        return ConnectOutcome(
            self.provider, connection.id, _with_query(target, params) if target else None
        )

    async def create_account(self) -> Account:
        connection = self._add_connection(created_at=now_iso())
        headers = {"Authorization": f"Bearer {self.token}"}
        return Account(self.provider, connection.id, headers, self.secret)

    async def remove_account(self, account: str) -> None:
        self._drop_connection(account)

    async def set_account_state(self, account: str, state: str) -> None:
        record = self.connections[account].record
        now = now_iso()
        record["is_paused"] = state == "INACTIVE"
        if state == "INVALID":
            record["last_unhealthy_at"] = now
        else:
            record.pop("last_unhealthy_at", None)
            record["last_healthy_at"] = now
        record["updated_at"] = now
