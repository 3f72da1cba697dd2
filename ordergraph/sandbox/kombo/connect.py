"""Kombo Connect: ``POST /connect/create-link``, ``DELETE /integrations/{id}``, the
customer finishing a link, and the signed ``integration-*`` webhooks.

What the spec leaves open, and what the simulator does:

* The link is ``<sandbox>/connect/kombo/<token>`` (Kombo's is
  ``https://connect.kombo.dev/v1?token=…``); ``EMBEDDED`` links expire after an hour,
  ``MAGIC_LINK`` ones after a year, as the spec says. A link is used once: finishing it
  again is a 409, an expired one a 410.
* Finishing a link creates an integration ``<integration_tool or a sandbox tool>:<id>``
  in the link's category, already holding the ATS's orders, and sends
  ``integration-created``; abandoning it (``error``) sends ``connection-flow-failed``.
  Deleting one (API or control) sends ``integration-deleted``; a state change from the
  control API sends ``integration-state-changed``. All go to the dashboard-configured
  Kombo webhook URL (``POST /_sandbox/webhooks``), signed like every Kombo webhook.
* ``GET /integrations/{id}`` answers the spec's fields; ``read_models`` and
  ``write_actions`` (Kombo's coverage grid) are empty, ``setup_status`` is COMPLETED.
* A paused (``INACTIVE``) or ``INVALID`` integration answers its API calls with 403
  ``INTEGRATION.INACTIVE`` / ``INTEGRATION.AUTHENTICATION_INVALID`` (status not
  published). Integrations made outside a link (seeded, ``POST /_sandbox/accounts``)
  have no ``origin_id`` or ``creator_email`` (both ``null``, as the spec allows).
"""

from __future__ import annotations

import hmac
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from aiohttp import web
from pydantic import ValidationError

from ordergraph.sandbox.core import (
    Account,
    AccountError,
    ConnectOutcome,
    SandboxContext,
    connect_link,
    iso,
)
from ordergraph.sandbox.data import OrderFactory, seed_packages
from ordergraph.sandbox.kombo.bodies import CreateLinkBody, validation_message
from ordergraph.sandbox.kombo.orders import Integration, stored_order
from ordergraph.sandbox.kombo.wire import (
    AUTHENTICATION_INVALID,
    INPUT_INVALID,
    INTEGRATION_NOT_FOUND,
    ORDER_STATUSES,
    PACKAGES_UPDATED_AT,
    TOOLS,
    KomboApiError,
    derived_secret,
    kombo_id,
    sign,
    success,
)

__all__ = ["STATE_ERRORS", "ConnectRoutes", "PendingLink"]

INTEGRATION_CREATED = "integration-created"
INTEGRATION_DELETED = "integration-deleted"
INTEGRATION_STATE_CHANGED = "integration-state-changed"
CONNECTION_FLOW_FAILED = "connection-flow-failed"
# Error code and message a non-ACTIVE integration answers with.
STATE_ERRORS = {
    "INACTIVE": ("INTEGRATION.INACTIVE", "The integration is inactive."),
    "INVALID": ("INTEGRATION.AUTHENTICATION_INVALID", "The integration's credentials are invalid."),
}
_LINK_LIFETIME = {"EMBEDDED": timedelta(hours=1), "MAGIC_LINK": timedelta(days=365)}


@dataclass
class PendingLink:
    """A link from ``create-link`` until the customer finishes it."""

    body: CreateLinkBody
    expires_at: datetime
    used: bool = False

    def end_user(self) -> dict[str, str | None]:
        return {
            "organization_name": self.body.end_user_organization_name,
            "creator_email": self.body.end_user_email,
            "origin_id": self.body.end_user_origin_id,
        }


class ConnectRoutes:
    """Kombo Connect and the integration lifecycle, mixed into the simulator."""

    provider: ClassVar[str]
    context: SandboxContext
    api_key: str
    webhook_secret: str
    integrations: dict[str, Integration]
    links: dict[str, PendingLink]
    _events: random.Random
    _numbers: int

    # --- integrations ------------------------------------------------------------------

    def _add_integration(
        self, *, tool: str | None = None, category: str = "ASSESSMENT",
        end_user: dict[str, str | None] | None = None, connected_at: datetime | None = None,
    ) -> Integration:  # fmt: skip
        """A new integration, numbered in creation order so ids follow from the seed."""
        number = self._numbers
        self._numbers += 1
        rng = random.Random(f"kombo:{self.context.seed}:integration:{number}")
        integration_id = f"{tool or TOOLS[number % len(TOOLS)]}:{kombo_id(rng)}"
        integration = Integration(
            id=integration_id,
            factory=OrderFactory(
                seed=self.context.seed,
                account=integration_id,
                id_prefix="Ko",
                statuses=ORDER_STATUSES,
            ),
            rng=random.Random(f"kombo:{self.context.seed}:events:{integration_id}"),
            category=category,
            end_user=end_user
            or {
                "organization_name": f"Sandbox customer {number + 1}",
                "creator_email": None,
                "origin_id": None,
            },
        )
        if connected_at is not None:
            integration.connected_at = connected_at
        # A customer's ATS already holds orders when it is connected.
        for _ in range(self.context.orders_per_account):
            integration.add(stored_order(integration.factory.next_order()))
        integration.packages = {
            package.id: {
                "id": package.id,
                "name": package.name,
                "description": package.description,
                "updated_at": iso(PACKAGES_UPDATED_AT, millis=True),
                "type": package.type,
            }
            for package in seed_packages()
        }
        self.integrations[integration_id] = integration
        return integration

    def _account_of(self, integration_id: str) -> Account:
        return Account(
            provider=self.provider,
            account=integration_id,
            headers={"Authorization": f"Bearer {self.api_key}", "X-Integration-Id": integration_id},
            webhook_secret=self.webhook_secret,
        )

    def _check_key(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        )
        if not valid:
            raise KomboApiError(401, AUTHENTICATION_INVALID, "The API key is missing or invalid.")

    # --- vendor routes ----------------------------------------------------------------

    async def _create_link(self, request: web.Request) -> web.Response:
        self._check_key(request)
        try:
            payload = json.loads(await request.read())
            body = CreateLinkBody.model_validate(payload)
        except ValueError as exc:  # JSONDecodeError and ValidationError alike
            detail = (
                validation_message(exc)
                if isinstance(exc, ValidationError)
                else "The request body is not valid JSON."
            )
            raise KomboApiError(400, INPUT_INVALID, detail) from exc
        token = derived_secret(self.context.seed, f"connect-link:{len(self.links)}")
        expires = datetime.now(UTC) + _LINK_LIFETIME[body.link_type]
        self.links[token] = PendingLink(body=body, expires_at=expires)
        return success({"link": connect_link(request, self.provider, token)})

    async def _get_integration(self, request: web.Request) -> web.Response:
        self._check_key(request)
        integration = self._integration_by_id(request.match_info["integration_id"])
        return success(
            {
                "id": integration.id,
                "tool": {
                    "id": integration.tool,
                    "label": integration.tool.title(),
                    "internal_label": None,
                    "logo_url": f"https://assets.kombo.dev/tools/{integration.tool}/logo.svg",
                    "icon_url": f"https://assets.kombo.dev/tools/{integration.tool}/icon.svg",
                },
                "category": integration.category,
                "status": integration.state,
                "setup_status": "COMPLETED",
                "end_user": dict(integration.end_user),
                "scope_config": {"id": f"{integration.category.lower()}-default", "name": None},
                "data_expired_at": None,
                "created_at": iso(integration.connected_at, millis=True),
                "beta": False,
                # The coverage grid is Kombo's product data; the sandbox lists none.
                "read_models": [],
                "write_actions": [],
            }
        )

    def _integration_by_id(self, integration_id: str) -> Integration:
        integration = self.integrations.get(integration_id)
        if integration is None:
            raise KomboApiError(
                404, INTEGRATION_NOT_FOUND, f"No integration with ID {integration_id!r} exists."
            )
        return integration

    async def _delete_integration(self, request: web.Request) -> web.Response:
        self._check_key(request)
        await self.remove_account(self._integration_by_id(request.match_info["integration_id"]).id)
        return success({})

    # --- the customer's side and the control API -------------------------------------------

    def connect_page(self, token: str) -> dict[str, Any] | None:
        link = self.links.get(token)
        if link is None:
            return None
        return {
            "organization": link.body.end_user_organization_name,
            "category": link.body.integration_category,
            "tool": link.body.integration_tool,
            "expires": iso(link.expires_at),
            "used": link.used,
        }

    async def complete_connect(self, token: str, *, error: str | None = None) -> ConnectOutcome:
        link = self.links.get(token)
        if link is None:
            raise AccountError(404, "unknown Kombo connect link")
        if link.used:
            raise AccountError(409, "this Kombo connect link was already used")
        if datetime.now(UTC) >= link.expires_at:
            raise AccountError(410, "this Kombo connect link has expired")
        link.used = True
        if error is not None:
            await self._send_event(
                CONNECTION_FLOW_FAILED,
                None,
                {
                    "integration_tool": link.body.integration_tool or "",
                    "integration_category": link.body.integration_category,
                    "end_user": link.end_user(),
                    "log_url": f"https://app.kombo.dev/sandbox/logs?flowId={token[:24]}",
                },
            )
            return ConnectOutcome(self.provider, None)
        integration = self._add_integration(
            connected_at=datetime.now(UTC),
            tool=link.body.integration_tool,
            category=link.body.integration_category,
            end_user=link.end_user(),
        )
        await self._send_event(INTEGRATION_CREATED, integration.id, _summary(integration))
        return ConnectOutcome(self.provider, integration.id)

    async def create_account(self) -> Account:
        integration = self._add_integration(connected_at=datetime.now(UTC))
        await self._send_event(INTEGRATION_CREATED, integration.id, _summary(integration))
        return self._account_of(integration.id)

    async def remove_account(self, account: str) -> None:
        integration = self.integrations.pop(account)
        deleted_at = iso(datetime.now(UTC), millis=True)
        data = _summary(integration) | {"deleted_at": deleted_at}
        await self._send_event(INTEGRATION_DELETED, account, data)

    async def set_account_state(self, account: str, state: str) -> None:
        integration = self.integrations[account]
        integration.state = state
        data = {
            "integration_tool": integration.tool,
            "integration_id": integration.id,
            "integration_category": integration.category,
            "end_user": dict(integration.end_user),
            "qa_status": "PASSED",
            "setup_status": "COMPLETED",
            "state": state,
            "updated_at": iso(datetime.now(UTC), millis=True),
        }
        await self._send_event(INTEGRATION_STATE_CHANGED, account, data)

    async def _send_event(self, kind: str, account: str | None, data: dict[str, Any]) -> None:
        """Sign and deliver one event; Kombo sends them to the dashboard's webhook URL,
        so without one configured nothing is sent."""
        target = self.context.webhook_targets.get(self.provider)
        if not target:
            return
        payload = {"id": kombo_id(self._events), "type": kind, "data": data}
        body = json.dumps(payload, separators=(",", ":")).encode()
        await self.context.webhooks.deliver(
            provider=self.provider,
            account=account,
            url=target,
            kind=kind,
            body=body,
            headers={"X-Kombo-Signature": sign(self.webhook_secret, body)},
        )


def _summary(integration: Integration) -> dict[str, Any]:
    """``data`` of integration-created (and, with ``deleted_at``, integration-deleted)."""
    return {
        "id": integration.id,
        "tool": integration.tool,
        "category": integration.category,
        "end_user": dict(integration.end_user),
    }
