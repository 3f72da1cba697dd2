"""Connecting customer accounts: connect links and the provider's account events.

Workspace-level, not connection-level: a connect link is asked for with the provider's
workspace credentials (``[providers.<name>]``) before any connection exists, and the
provider then tells us of the new account (Kombo's ``integration-created`` webhook,
Unified's redirect back to us). A plug-in declares what its provider offers
(``ProviderPlugin.connect`` and ``account_events``); these are the canonical shapes
every provider's functions speak, so nothing outside ``providers/`` reads a vendor's
connect wire format.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import SecretStr

from ordergraph.providers.http import ErrorParser, HttpClient, Timeouts

__all__ = [
    "AccountEvent",
    "AccountEventKind",
    "AccountOwner",
    "ConnectLink",
    "ConnectLinkInputError",
    "ConnectLinkRequest",
    "ConnectLinks",
    "Workspace",
    "workspace_client",
]


@dataclass(frozen=True)
class Workspace:
    """A provider workspace's credentials (``[providers.<name>]``)."""

    base_url: str
    api_key: SecretStr
    # Unified names its workspace in the authorization path.
    workspace_id: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True)
class ConnectLinkRequest:
    """What a connect link is made for. ``tenant`` is ours (Kombo carries it as
    ``end_user_origin_id``, Unified as ``external_xref``); ``state`` is our signed
    state for flows that redirect back (``ordergraph.sync.connect_state``);
    ``callback_url`` is where such a flow returns."""

    tenant: str
    state: str
    callback_url: str
    end_user_email: str | None = None
    organization_name: str | None = None
    # Kombo ``integration_tool``, Unified ``integration_type``.
    integration: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ConnectLink:
    """The URL the vendor's customer opens to connect an account."""

    url: str


class ConnectLinkInputError(ValueError):
    """The request lacks what this provider's flow needs (names the input field)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


CreateLink = Callable[[Workspace, ConnectLinkRequest], Awaitable[ConnectLink]]


AccountOwner = Callable[[Workspace, str], Awaitable[str | None]]


@dataclass(frozen=True)
class ConnectLinks:
    """A provider's connect flow: ``create`` makes the link. A flow that ends by
    sending the customer's browser back to ``callback_url`` with the new account's id
    (``id``) and our ``state`` (Unified) declares ``callback_owner``: it reads, from
    the provider, which tenant the account was made for, so a callback handed an
    account of another flow is refused. Otherwise the provider announces the account
    with an event (Kombo's ``integration-created``, ``ProviderPlugin.account_events``)."""

    create: CreateLink
    callback_owner: AccountOwner | None = None


class AccountEventKind(enum.Enum):
    CREATED = "created"
    DELETED = "deleted"
    STATE_CHANGED = "state_changed"
    IGNORED = "ignored"
    """An account event that is none of ordergraph's business (another category of
    integration, say): acknowledged, nothing done."""


@dataclass(frozen=True)
class AccountEvent:
    """A provider's news about one account: ``tenant`` is what we sent with the link
    (None when the account was not connected through ours), ``active`` the new state
    of a STATE_CHANGED event."""

    kind: AccountEventKind
    account: str = ""
    tenant: str | None = None
    name: str | None = None
    active: bool | None = None


def workspace_client(
    provider: str,
    workspace: Workspace,
    auth_headers: dict[str, SecretStr],
    error_parser: ErrorParser,
    routes: tuple[str, ...] = (),
) -> HttpClient:
    """An HTTP client for one workspace-level call (the caller closes it)."""
    return HttpClient(
        provider=provider,
        base_url=workspace.base_url,
        auth_headers=auth_headers,
        error_parser=error_parser,
        timeouts=workspace.timeouts,
        routes=routes,
    )
