"""What a provider plug-in declares: everything outside ``providers/`` acts on this.

Sync, the server, the cost estimate, the settings and the command line never branch
on a provider's name; they read its ``ProviderPlugin`` (``ordergraph/providers/
registry.py`` holds the one list): where its webhooks arrive and how a delivery is
verified and routed, whether and how often it is polled, what reading orders back
costs, whether ordergraph registers its webhook, which API versions it speaks.

A declaration holds no I/O of its own: the functions it names are the adapter
package's pure ones (signature checks on bytes, reading an account id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ordergraph.models import ProviderName
from ordergraph.providers.base import BaseProvider, Capability
from ordergraph.providers.connect import AccountEvent, ConnectLinks

__all__ = [
    "CONNECTION_SEGMENT",
    "Polling",
    "ProviderPlugin",
    "RawBodySignature",
    "ReadCost",
    "WebhookRoute",
]

CONNECTION_SEGMENT = "{connection}"
"""The route segment that names our connection in a per-connection webhook route."""


@dataclass(frozen=True)
class RawBodySignature:
    """A vendor that signs the raw body: checked on the bytes before any parse.

    ``matches(secret, body, signature)`` compares in constant time; ``account_of``
    reads the provider-side account from a body already verified (and whose nesting
    the caller bounded): a shared route learns its connection only from the body.
    """

    header: str
    matches: Callable[[str, bytes, str], bool]
    account_of: Callable[[bytes], str | None]


@dataclass(frozen=True)
class WebhookRoute:
    """Where a provider's webhooks arrive and how a delivery finds its connection.

    ``route`` is the public path (an interface: vendors hold these URLs). A route with
    ``{connection}`` names our connection, and the adapter verifies the delivery with
    that connection's secret (``parse_webhook``). A route without it is shared by all
    of the provider's connections: its ``raw_signature`` is checked against each
    distinct secret first, and only a verified body is read to pick the connection.
    """

    route: str
    raw_signature: RawBodySignature | None = None

    def __post_init__(self) -> None:
        if not self.per_connection and self.raw_signature is None:
            msg = f"{self.route}: a shared webhook route needs a raw-body signature to route by"
            raise ValueError(msg)

    @property
    def per_connection(self) -> bool:
        return CONNECTION_SEGMENT in self.route

    def path_for(self, connection_id: str) -> str:
        """The route's path for one connection (the shared path for a shared route)."""
        return self.route.replace(CONNECTION_SEGMENT, connection_id)


@dataclass(frozen=True)
class Polling:
    """A provider whose orders are kept in the index by polling its order list.

    ``interval`` is the default seconds between cycles (settings may override it);
    ``id_batch`` how many ids one status check reads (the ``ids`` filter's limit).
    """

    interval: float
    id_batch: int


@dataclass(frozen=True)
class ReadCost:
    """Upstream calls to read orders back by id: ``calls`` per batch of ``ids_per_call``
    (what the adapter's ``get_orders`` spends; the cost estimate prices by it)."""

    calls: int
    ids_per_call: int

    def of(self, count: int) -> int:
        """Calls for ``count`` ids."""
        return self.calls * -(-count // self.ids_per_call)


@dataclass(frozen=True)
class ProviderPlugin:
    """One provider, as the rest of ordergraph sees it."""

    name: ProviderName
    # How people name the provider (the README's table, messages).
    label: str
    adapter: type[BaseProvider]
    read_cost: ReadCost
    webhooks: WebhookRoute | None = None
    polling: Polling | None = None
    # The API versions a connection may name (``api_version``); empty = the provider
    # has one, and a connection that names a version is refused.
    api_versions: tuple[str, ...] = ()
    default_api_version: str | None = None
    # How a customer connects an account through us (``createConnectLink``); None when
    # the provider's flow is not ours to start (accounts come by ``addConnection``).
    connect: ConnectLinks | None = None
    # Reads account news (created, deleted, state changed) from a verified webhook
    # body on the provider's shared route; None for any other event.
    account_events: Callable[[bytes], AccountEvent | None] | None = None

    def __post_init__(self) -> None:
        if self.adapter.name is not self.name:
            msg = f"{self.adapter.__name__} serves {self.adapter.name}, not {self.name}"
            raise ValueError(msg)
        capabilities = self.capabilities
        if (self.webhooks is not None) != (Capability.RECEIVE_WEBHOOKS in capabilities):
            msg = f"{self.name}: a webhook route is declared exactly when webhooks are received"
            raise ValueError(msg)
        polling_needs = {Capability.LIST_ORDERS, Capability.GET_ORDERS}
        if self.polling is not None and not polling_needs <= capabilities:
            msg = f"{self.name}: polling needs listing orders and reading them by id"
            raise ValueError(msg)
        if self.default_api_version is not None and (
            self.default_api_version not in self.api_versions
        ):
            msg = f"{self.name}: the default API version is not one of its versions"
            raise ValueError(msg)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.adapter.capabilities

    @property
    def registers_webhook(self) -> bool:
        """Whether ordergraph registers this provider's webhook through its API (else
        the vendor is told our URL by hand, or in the sandbox by a flag)."""
        return Capability.REGISTER_WEBHOOK in self.capabilities
