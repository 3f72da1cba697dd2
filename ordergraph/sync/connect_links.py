"""Customers connecting their own accounts: connect links, the callback a redirect
flow returns to, and the provider's account events.

- ``create_link``: the provider's connect flow (``ProviderPlugin.connect``) with its
  workspace credentials (``[providers.<name>]``), for the calling tenant. Flows that
  redirect back carry a signed, expiring ``state`` naming the tenant and provider
  (``ordergraph.sync.connect_state``) and return to ``/connect/<provider>/callback``.
- The callback (``GET /connect/<provider>/callback?id=...&state=...``) verifies the
  state, asks the provider which tenant the account was made for (Unified's
  ``external_xref``) and connects it for that tenant, origin ``PROVIDER_EVENT``.
- Account events (Kombo's ``integration-created``/``-deleted``/``-state-changed``,
  verified by the webhook intake first): created connects the account for the tenant
  the link named (a tenant this server does not know is ignored, logged), deleted
  removes the connection (its orders kept), a state change pauses or resumes it.

Every path ends in ``ConnectionLifecycle``: one way to add, pause, resume or remove,
so every process follows within its refresh interval.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ordergraph.errors import UnsupportedOperationError
from ordergraph.models import ProviderName
from ordergraph.providers.connect import (
    AccountEvent,
    AccountEventKind,
    ConnectLink,
    ConnectLinkRequest,
    Workspace,
)
from ordergraph.providers.http import Timeouts
from ordergraph.providers.plugin import ProviderPlugin
from ordergraph.providers.registry import PLUGINS, plugin_of
from ordergraph.settings import Settings
from ordergraph.store.connections import ConnectionOrigin, ConnectionState
from ordergraph.sync.connect_state import ConnectStateSigner
from ordergraph.sync.lifecycle import ConnectionLifecycle, ProviderNotConfiguredError

__all__ = ["CALLBACK_ROUTE", "ConnectLinks", "ConnectOptions"]

logger = logging.getLogger(__name__)

CALLBACK_ROUTE = "/connect/{provider}/callback"
_MAX_PARAM = 512


@dataclass(frozen=True)
class ConnectOptions:
    """What a caller may pass for a link (each provider needs some of it)."""

    end_user_email: str | None = None
    organization_name: str | None = None
    integration: str | None = None
    language: str | None = None


class ConnectLinks:
    """Connect links, their callback and provider account events, over the lifecycle."""

    def __init__(
        self, settings: Settings, lifecycle: ConnectionLifecycle, signer: ConnectStateSigner
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.signer = signer

    def workspace(self, provider: ProviderName) -> Workspace | None:
        """The provider's workspace credentials; None when the settings lack them."""
        section = self.settings.providers.get(provider)
        if section is None or section.base_url is None or section.api_key is None:
            return None
        return Workspace(
            base_url=section.base_url,
            api_key=section.api_key,
            workspace_id=section.workspace_id,
            timeouts=Timeouts(
                connect=section.connect_timeout or 5.0, read=section.read_timeout or 20.0
            ),
        )

    def callback_url(self, provider: ProviderName) -> str:
        return self.settings.server.base_url() + CALLBACK_ROUTE.format(provider=provider.value)

    async def create_link(
        self, tenant: str, provider: ProviderName, options: ConnectOptions
    ) -> ConnectLink:
        """A link for ``tenant``'s customer. Raises ``UnsupportedOperationError`` for a
        provider whose flow is not ours to start, ``ProviderNotConfiguredError``
        without workspace credentials, ``ConnectLinkInputError`` for missing options
        and ``ProviderError`` when the provider refuses or fails."""
        plugin = plugin_of(provider)
        if plugin.connect is None:
            msg = f"{plugin.label} has no connect flow ordergraph can start: use addConnection"
            raise UnsupportedOperationError(msg, provider=provider.value)
        workspace = self.workspace(provider)
        if workspace is None:
            msg = f"[providers.{provider.value}] has no base_url and api_key"
            raise ProviderNotConfiguredError(msg)
        request = ConnectLinkRequest(
            tenant=tenant,
            state=self.signer.issue(tenant, provider),
            callback_url=self.callback_url(provider),
            end_user_email=options.end_user_email,
            organization_name=options.organization_name,
            integration=options.integration,
            language=options.language,
        )
        return await plugin.connect.create(workspace, request)

    # --- the redirect callback --------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """``GET /connect/<provider>/callback`` for each provider whose flow returns."""
        return [
            web.get(CALLBACK_ROUTE.format(provider=plugin.name.value), self._callback_of(plugin))
            for plugin in PLUGINS
            if plugin.connect is not None and plugin.connect.callback_owner is not None
        ]

    def _callback_of(
        self, plugin: ProviderPlugin
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            return await self.callback(plugin, request)

        return handle

    async def callback(self, plugin: ProviderPlugin, request: web.Request) -> web.Response:
        query = request.query
        state = self.signer.verify(query.get("state", "")[: _MAX_PARAM * 2])
        if state is None or state.provider is not plugin.name:
            return _page(400, "This connect link is not valid or has expired. Ask for a new one.")
        if "error" in query:
            logger.info(
                "connect flow of %s for %s failed at the provider", plugin.name, state.tenant
            )
            return _page(400, "The account was not connected. Ask for a new link to try again.")
        account = query.get("id", "")
        if not account or len(account) > _MAX_PARAM or not account.isprintable():
            return _page(400, "The provider did not say which account was connected.")
        workspace = self.workspace(plugin.name)
        owner_of = plugin.connect.callback_owner if plugin.connect is not None else None
        if workspace is None or owner_of is None:
            return _page(503, "Connecting accounts is not configured on this server.")
        try:
            owner = await owner_of(workspace, account)
        except Exception:
            logger.warning("reading %s account %s failed", plugin.name, account, exc_info=True)
            return _page(503, "The provider could not be reached. Reload this page to retry.")
        if owner != state.tenant:
            # A state replayed with another flow's account: not this tenant's.
            logger.warning(
                "%s callback: account %s was not made for this link", plugin.name, account
            )
            return _page(400, "This account was not connected through this link.")
        added = await self._connect(plugin.name, state.tenant, account, name=None)
        if not added:
            return _page(409, "This account is connected already.")
        return _page(200, f"{plugin.label} account connected. You can close this window.")

    # --- account events ---------------------------------------------------------------

    async def account_event(self, plugin: ProviderPlugin, event: AccountEvent) -> None:
        """Act on a verified account event (see the module docstring)."""
        if event.kind is AccountEventKind.IGNORED or not event.account:
            return
        if event.kind is AccountEventKind.CREATED:
            tenant = event.tenant
            if tenant is None or tenant not in {t.name for t in self.settings.tenants}:
                logger.warning(
                    "%s account %s was created for no tenant of this server; ignored",
                    plugin.name,
                    event.account,
                )
                return
            await self._connect(plugin.name, tenant, event.account, name=event.name)
            return
        current = await self.lifecycle.store.find_by_account(plugin.name.value, event.account)
        if current is None:
            return
        if event.kind is AccountEventKind.DELETED:
            await self.lifecycle.remove(current.tenant, current.id, purge_orders=False)
        elif event.active is True and current.state is not ConnectionState.ACTIVE:
            await self.lifecycle.set_state(current.tenant, current.id, ConnectionState.ACTIVE)
        elif event.active is False and current.state is ConnectionState.ACTIVE:
            await self.lifecycle.set_state(current.tenant, current.id, ConnectionState.PAUSED)

    async def _connect(
        self, provider: ProviderName, tenant: str, account: str, *, name: str | None
    ) -> bool:
        try:
            added = await self.lifecycle.add(
                tenant, provider, account, name=name, origin=ConnectionOrigin.PROVIDER_EVENT
            )
        except ProviderNotConfiguredError:
            logger.error("%s account %s cannot be connected: no credentials", provider, account)
            return False
        if added.connection is None:
            logger.warning("%s account %s is connected under another tenant", provider, account)
            return False
        return True


def _page(status: int, message: str) -> web.Response:
    body = (
        f"<!doctype html><meta charset=utf-8><title>ordergraph</title><p>{html.escape(message)}</p>"
    )
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
