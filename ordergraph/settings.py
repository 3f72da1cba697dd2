"""Settings: provider credentials, connections, tenants, store, cache, broker and limits.

Read from a TOML file (``ordergraph serve --config ordergraph.toml``) and from
``ORDERGRAPH_*`` environment variables (nested with ``__``, e.g.
``ORDERGRAPH_STORE__URL``). Any string in the file may be a ``${ENV_VAR}`` reference,
so secrets stay out of the file; a reference to a variable that is not set is a
``ConfigError`` naming the variable (never a value).

Example::

    [server]
    public_url = "https://orders.example.com"

    [store]
    url = "postgresql://ordergraph@db/ordergraph"

    [[tenants]]
    name = "acme"

    [[tenants.keys]]        # one table per key; `ordergraph hash-key` prints the hash
    hash = "sha256:3f1c...e9"
    scopes = ["read", "write", "pii"]

    [providers.kombo]       # one workspace key per provider, shared by its connections
    base_url = "https://api.kombo.dev/v1"
    api_key = "${KOMBO_API_KEY}"
    webhook_secret = "${KOMBO_WEBHOOK_SECRET}"

    [[connections]]         # a customer account: tenant + provider + account
    id = "acme-kombo"
    tenant = "acme"
    provider = "kombo"
    account = "greenhouse:HWUTwvyx2wLoSUHphiWVrp28"

A connection may still carry its own ``base_url``, ``api_key``, ``webhook_secret``,
timeouts...: what it sets wins over its provider's section (so files written before
provider sections existed load unchanged).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ordergraph.errors import ConfigError
from ordergraph.keys import Scope, is_key_hash
from ordergraph.models import ProviderName
from ordergraph.providers.base import ConnectionConfig
from ordergraph.providers.registry import PLUGINS, plugin_of

__all__ = [
    "ANY_ORIGIN",
    "DEFAULT_CORS_HEADERS",
    "OVERRIDABLE_FIELDS",
    "ApiKeySettings",
    "BrokerSettings",
    "CacheSettings",
    "ConnectionSettings",
    "DeliverySettings",
    "IdSettings",
    "LimitSettings",
    "LoggingSettings",
    "MetricsSettings",
    "MutationSettings",
    "PersistedSettings",
    "ProviderSettings",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "SubscriptionSettings",
    "SyncSettings",
    "TenantSettings",
    "TracingSettings",
    "WebhookSettings",
    "expand_env",
    "load_settings",
    "normalise_origin",
]

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

ANY_ORIGIN = "*"
_ORIGIN = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[^\]/]*\]|[^:/?#\[\]]*)(?::(?P<port>[0-9]*))?$"
)
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+$")

DEFAULT_CORS_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "cache-control",
    "x-request-id",
    # Apollo Client sends these when the client's name and version are set.
    "apollographql-client-name",
    "apollographql-client-version",
)
"""Request headers a cross-origin caller may send by default (``server.cors_allow_headers``)."""


def normalise_origin(value: str) -> str:
    """``value`` as a browser sends it in ``Origin``: ``scheme://host[:port]``, lowercase,
    no default port; ``ValueError`` (saying what to write instead) when it is not one."""
    text = value.strip().lower()
    match = _ORIGIN.match(text)
    if match is None:
        hint = ""
        if re.match(r"^https?://[^/]+/", text):
            fixed = "/".join(text.split("/", 3)[:3])
            hint = f" (an origin has no path, not even '/': write {fixed!r})"
        msg = f"{value!r} is not an origin: write scheme://host[:port]{hint}"
        raise ValueError(msg)
    scheme, host, port = match.group("scheme"), match.group("host"), match.group("port")
    if scheme not in _DEFAULT_PORTS:
        msg = f"{value!r} is not an origin: the scheme must be http or https"
        raise ValueError(msg)
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            msg = f"{value!r} is not an origin: {host} is not an IPv6 address"
            raise ValueError(msg) from None
    elif not _HOSTNAME.match(host):
        msg = f"{value!r} is not an origin: {host!r} is not a host name (use punycode for IDNs)"
        raise ValueError(msg)
    if port is not None:
        if not port or not 1 <= int(port) <= 65535:
            msg = f"{value!r} is not an origin: the port must be 1-65535"
            raise ValueError(msg)
        if int(port) != _DEFAULT_PORTS[scheme]:
            return f"{scheme}://{host}:{int(port)}"
    return f"{scheme}://{host}"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    """The HTTP server."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # The URL providers use to reach us (webhook registration); defaults to host:port.
    public_url: str | None = None
    # Largest request body accepted (GraphQL documents, webhook deliveries).
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Seconds a client may take to send a request's headers, and to stay idle between
    # requests on a kept-alive connection; then the connection is closed.
    header_timeout: float = Field(default=10.0, gt=0)
    # Seconds a client may take to send a request's body once its headers arrived;
    # then it is answered 408 and the connection closed.
    body_timeout: float = Field(default=30.0, gt=0)
    # Browser origins (``scheme://host[:port]``) that may call /graphql across origins
    # (CORS, see ``ordergraph.api.cors``); the WebSocket ``Origin`` check uses the same
    # list. Empty (the default): none. ``"*"`` allows every origin: meant for the demo,
    # never for a deployment that holds real data.
    cors_origins: tuple[str, ...] = ()
    # Request headers a browser on a listed origin may send (preflight
    # ``Access-Control-Allow-Headers``); names, matched case-insensitively.
    cors_allow_headers: tuple[str, ...] = DEFAULT_CORS_HEADERS
    # Answer repeated queries from the whole-response cache (keyed by tenant, the key's
    # scopes, document, variables and the tenant's data version, so ingestion
    # invalidates exactly).
    response_cache: bool = True
    # GraphiQL, the in-browser IDE, on GET /graphql from a browser (``ordergraph.graphiql``).
    # Off: a browser gets what any other client gets (a GraphQL answer or error).
    graphiql: bool = True
    # Seconds a tenant's data version held in memory is trusted without a store read.
    # Broker wake-ups bring other processes' writes sooner; this bounds how long a lost
    # wake-up can delay one (this process's own writes are seen at once).
    response_cache_confirm: float = Field(default=1.0, gt=0, le=60)
    # Worker processes of `ordergraph serve` on one port (None: one per core). More
    # than one needs what they can share: PostgreSQL, and Redis for cache and broker.
    workers: int | None = Field(default=None, ge=1, le=256)

    @field_validator("cors_origins")
    @classmethod
    def _check_cors_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        normalised = [
            o.strip() if o.strip() == ANY_ORIGIN else normalise_origin(o) for o in origins
        ]
        return tuple(dict.fromkeys(normalised))

    @field_validator("cors_allow_headers")
    @classmethod
    def _check_cors_allow_headers(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        lowered = [n.strip().lower() for n in names]
        for name in lowered:
            if not _HEADER_NAME.match(name):
                msg = f"{name!r} is not an HTTP header name"
                raise ValueError(msg)
        return tuple(dict.fromkeys(lowered))

    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"


class StoreSettings(_Section):
    """Where the order index lives: ``sqlite:///path`` or ``postgresql://...``."""

    url: str = "sqlite:///data/ordergraph.db"
    # Migrate on start instead of refusing an outdated schema.
    auto_migrate: bool = False
    # Signs pagination cursors so a tampered cursor is refused, not misread. Every
    # process serving one store needs the same value; required by `serve`.
    cursor_secret: SecretStr | None = None


class CacheSettings(_Section):
    """Cache backend: ``memory://`` or ``redis://host:port/db``."""

    url: str = "memory://"


class BrokerSettings(_Section):
    """Wake-up broker: ``memory://`` or ``redis://host:port/db``."""

    url: str = "memory://"
    # Redis channels are ``<prefix>:<tenant>`` and poller leases ``<prefix>:lease:...``;
    # deployments (or test runs) sharing one Redis keep apart by prefix.
    channel_prefix: str = Field(default="ordergraph", min_length=1)


class SyncSettings(_Section):
    """Background synchronisation defaults."""

    # Seconds between polls of every polled connection (a connection's own
    # ``poll_interval`` wins); None = what each provider's plug-in declares (60 s).
    # ``kombo_poll_interval``, its name when Kombo was the one polled provider, is
    # still read.
    poll_interval: float | None = Field(
        default=None,
        gt=0,
        validation_alias=AliasChoices("poll_interval", "kombo_poll_interval"),
    )
    # Several processes: one polls each polled connection while it holds a lease in
    # Redis (the broker's, else the cache's); a dead holder is replaced within this.
    poller_lease_ttl: float = Field(default=15.0, gt=0)
    # Every process reads the connections added, paused, resumed or removed elsewhere
    # (admin API, provider events) at least this often (seconds).
    connections_refresh_interval: float = Field(default=2.0, gt=0)


class WebhookSettings(_Section):
    """Webhook intake: how long deliveries are remembered to refuse replays."""

    # Neither vendor signs a delivery time (Unified signs ``data`` + ``nonce``, Kombo the
    # body with an event ``id``), so replays are recognised by that key alone, for this
    # long after we took the delivery. 14 days outlasts Unified's whole retry schedule
    # (20 attempts, Fibonacci minutes apart: about 12.3 days), so any re-send of a
    # delivery we took is still recognised; Kombo publishes no retry policy.
    replay_window: timedelta = Field(default=timedelta(days=14), gt=timedelta(0))
    # How often receipts older than the window are deleted (one process does it, under
    # a lease like the pollers'). Each run deletes about one interval's worth.
    prune_interval: timedelta = Field(default=timedelta(hours=1), gt=timedelta(0))


class DeliverySettings(_Section):
    """Result delivery (``submitResult``): a result is recorded first, then delivered
    inline and, when the provider is down, slow or rate-limited, retried in the
    background (ordergraph/sync/deliverer.py)."""

    # How long submitResult waits for its first attempt before answering with the
    # delivery still in flight: a healthy provider answers DELIVERED synchronously,
    # a slow one does not hold the caller.
    inline_timeout: float = Field(default=3.0, gt=0)
    # Longest wait between looks at the queue; an enqueue in this process wakes the
    # deliverer at once, so this bounds pick-up of other processes' work and retries.
    poll_interval: float = Field(default=5.0, gt=0)
    # A claimed delivery's lease: a process that dies mid-delivery hands it on after
    # this. Keep it above a provider call's worst case (timeouts x attempts), or a
    # second process may write while the first is still writing.
    lease: float = Field(default=120.0, gt=0)
    # Deliveries one process attempts at a time.
    concurrency: int = Field(default=8, ge=1)
    # Given up (FAILED, visibly) after this many attempts or this many seconds.
    max_attempts: int = Field(default=12, ge=1)
    max_age: float = Field(default=2 * 24 * 3600.0, gt=0)
    # Backoff between attempts: base * 2^(attempt-1), capped, with jitter so retries
    # of many results spread out; a provider's Retry-After is honoured if longer.
    backoff_base: float = Field(default=2.0, gt=0)
    backoff_cap: float = Field(default=900.0, gt=0)


class MutationSettings(_Section):
    """Mutations with an ``idempotencyKey``."""

    # A request claims its key while it runs; a claim older than this (its process
    # died mid-write) may be taken over by a retry with the same key. Longer than any
    # mutation takes, or a slow first request and a retry could both write.
    idempotency_claim_lease: float = Field(default=300.0, gt=0)


class IdSettings(_Section):
    # Ids issued before node ids were signed (unsigned ``Order:<conn>:<remote id>``,
    # ``Candidate:e:<email>``...) still resolve, but only for an entity the index held
    # before signing began (recorded once per store by migration 0003); entities first
    # seen later answer only to their signed id. False refuses every unsigned id.
    accept_legacy: bool = True


class LimitSettings(_Section):
    """Limits that protect the gateway and its providers.

    Every limit but the page size and the store statement budget refuses a whole
    operation before anything runs (no store read, no provider call), as a request error
    with a code; see ``ordergraph.schema.limits`` and, for ``max_cost``,
    ``ordergraph.schema.cost``. The page size and the budget
    (``ordergraph.store.budget``) fail only the field that went over them.
    """

    max_page_size: int = Field(default=100, ge=1, le=1000)
    # Nesting of selections (introspection fields not counted): each level of lists
    # under lists multiplies the store reads one request makes. The README's, tests'
    # and benchmark's queries go 5 deep.
    max_depth: int = Field(default=10, ge=1)
    # Lexical tokens, comments included, counted while parsing: the parser stops at the
    # limit, so a huge document costs only that much CPU. The full introspection query
    # is about 180; the dashboard query about 70.
    max_tokens: int = Field(default=2000, ge=100)
    # Aliased fields (``a: orders ... b: orders ...``): each alias repeats its field.
    # Counted with fragments expanded, as are fields.
    max_aliases: int = Field(default=30, ge=0)
    # Field selections in the document once its fragments are expanded (a fragment
    # spread twice counts twice). The full introspection query selects about 230, the
    # dashboard query 24.
    max_fields: int = Field(default=1000, ge=1)
    # Bytes (UTF-8) of the document, checked before it is parsed, over HTTP (GET and
    # POST) and WebSocket alike; no cache keeps a document it refused.
    max_document_bytes: int = Field(default=65536, ge=1024)
    # Upstream provider calls one operation could cause, as ordergraph.schema.cost
    # estimates them (worst case over the providers, first attempts). 200 lets a
    # backend job refresh a full page of orders of any provider in one request.
    max_cost: int = Field(default=200, ge=1)
    # Ids one request looks up, across all its aliases and lists: ``node``, ``nodes``,
    # ``order`` and ``refreshOrders`` (which also takes at most 250 per list).
    max_node_ids: int = Field(default=250, ge=1)
    # Store statements one operation may run (each subscription event its own budget);
    # the one after the last is refused at the field that asked (STORE_BUDGET_EXCEEDED),
    # the rest of the answer stays. Measured (SQLite and PostgreSQL alike): the
    # dashboard query runs 1-2, ``nodes`` with 250 ids 1, a page of 100 orders with
    # every nested field 407 (candidate and job ``orders`` are a page per order), so
    # 1000 leaves that page a margin of 2.4; see ordergraph.store.budget.
    max_store_statements: int = Field(default=1000, ge=1)
    # Schema introspection (``__schema``, ``__type``). Off by default: a deployment
    # shows its schema only when it chooses to. GraphiQL's docs and completion need it,
    # so the demo turns it on; ``__typename`` always works.
    introspection: bool = False


class PersistedSettings(_Section):
    """Persisted documents (``ordergraph.api.persisted``): Apollo's automatic persisted
    queries, and trusted documents from a manifest built with the client."""

    # Automatic persisted queries: a client sends a document's SHA-256 once, with the
    # document, and from then on the hash alone. Off: a hash the manifest does not
    # hold is answered PERSISTED_QUERY_NOT_SUPPORTED (Apollo's link then stops trying).
    automatic: bool = True
    # Slots of each tenant's registered documents in the cache; a new document may
    # take the slot of an older one, whose client then simply registers it again.
    max_entries: int = Field(default=10_000, ge=1, le=10_000_000)
    # Seconds a registered document is kept in the cache after it was registered.
    ttl: float = Field(default=86_400.0, gt=0)
    # A JSON manifest of trusted documents: Relay's ``--persist-output`` or GraphQL
    # Code Generator's ``persisted-documents.json`` (``{"<id or sha256>": "<document>"}``)
    # or Apollo's ``persisted-query-manifest.json``. Read and verified at start-up;
    # a relative path is relative to the working directory.
    manifest: Path | None = None
    # Trusted documents only: answer nothing but the manifest's documents (by hash,
    # by id, or sent as text that hashes to one of them); no registration.
    only: bool = False

    @model_validator(mode="after")
    def _check_only(self) -> PersistedSettings:
        if self.only and self.manifest is None:
            msg = "persisted.only needs persisted.manifest: the documents it may answer"
            raise ValueError(msg)
        return self


class SubscriptionSettings(_Section):
    """GraphQL subscriptions over WebSocket (``/graphql``, graphql-transport-ws).

    The Origin allow-list is ``server.cors_origins``, shared with CORS.
    """

    # Also speak the legacy ``graphql-ws`` subprotocol (subscriptions-transport-ws).
    legacy_graphql_ws: bool = False
    # WebSocket ping interval; a peer that does not answer is disconnected.
    keep_alive_interval: float = Field(default=15.0, gt=0)
    max_per_connection: int = Field(default=20, ge=1)
    # Events a subscription may hold for a consumer that is not reading; see
    # ordergraph/resolvers/subscriptions.py.
    max_backlog: int = Field(default=1000, ge=1)
    # How long a full backlog may stay untouched before the socket is closed.
    backlog_grace: float = Field(default=10.0, gt=0)
    # Longest wait for a broker wake-up before the log is read again anyway.
    poll_interval: float = Field(default=5.0, gt=0)
    page_size: int = Field(default=100, ge=1, le=1000)
    # Bytes a WebSocket may hold unsent (kernel and process buffers each); None leaves
    # the OS default, which autotunes up to megabytes per socket.
    send_buffer_bytes: int | None = Field(default=None, ge=4096)
    # Open WebSockets one tenant may hold (all its keys together, in this process);
    # one more is closed with 4429.
    max_connections_per_tenant: int = Field(default=100, ge=1)


class MetricsSettings(_Section):
    """Where ``GET /metrics`` is served, and who may read it.

    ``listen`` (``host:port``) serves it on an address of its own and not on the API's;
    ``token`` makes every scrape send ``Authorization: Bearer <token>``. With neither,
    the API port refuses ``/metrics`` (it names tenants and connections).
    """

    listen: str | None = None
    token: SecretStr | None = None

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, listen: str | None) -> str | None:
        if listen is None:
            return None
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            msg = f"{listen!r} is not host:port (for example 127.0.0.1:9100)"
            raise ValueError(msg)
        return listen

    @field_validator("token")
    @classmethod
    def _check_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < 16:
            msg = "metrics.token must be at least 16 characters"
            raise ValueError(msg)
        return token

    def address(self) -> tuple[str, int] | None:
        """``listen`` as (host, port), IPv6 brackets removed."""
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class LoggingSettings(_Section):
    """Process logs on stderr (see ``ordergraph.logs``)."""

    # "json": one object per line for a log pipeline; "text" for a terminal.
    format: Literal["json", "text"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class TracingSettings(_Section):
    """OpenTelemetry traces of GraphQL operations (``ordergraph.tracing``); needs the
    ``tracing`` extra (``pip install 'ordergraph[tracing]'``)."""

    enabled: bool = False
    service_name: str = Field(default="ordergraph", min_length=1)
    # OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); unset: spans
    # are exported nowhere unless ``console`` prints them (for trying it out).
    otlp_endpoint: str | None = None
    console: bool = False


_HASH_KEY_HINT = (
    "run `ordergraph hash-key` (the key on stdin) and put the sha256:... line it prints "
    "here; the key itself stays with the client"
)


class ApiKeySettings(_Section):
    """One API key of a tenant: the key's hash (never the key) and what it may do."""

    # ``sha256:<64 hex>`` of the key (``ordergraph.keys``: why unsalted SHA-256 fits
    # long random keys). Holding only hashes means the file, a backup or an env dump
    # cannot be used to call the API.
    hash: str
    # No default: what a key may do is decided when it is issued, not by omission.
    scopes: tuple[Scope, ...] = Field(min_length=1)

    @field_validator("hash")
    @classmethod
    def _check_hash(cls, value: str) -> str:
        text = value.strip().lower()
        if not is_key_hash(text):
            # Most likely the key itself was pasted: say what to do, never echo it.
            msg = f"must be a key hash (sha256:<64 hex digits>), not a key: {_HASH_KEY_HINT}"
            raise ValueError(msg)
        return text

    @field_validator("scopes")
    @classmethod
    def _unique_scopes(cls, scopes: tuple[Scope, ...]) -> tuple[Scope, ...]:
        return tuple(sorted(set(scopes)))


class TenantSettings(_Section):
    """A customer of the gateway and the API keys that act for it."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    keys: tuple[ApiKeySettings, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _refuse_plain_keys(cls, data: Any) -> Any:
        # The setting plain keys lived in before keys were stored as hashes.
        if isinstance(data, Mapping) and "api_keys" in data:
            msg = (
                "api_keys (keys in plain text) is no longer read: list each key as "
                '[[tenants.keys]] hash = "sha256:..." scopes = ["read", ...]; '
                f"{_HASH_KEY_HINT}"
            )
            raise ValueError(msg)
        return data


# What a ``[providers.<name>]`` section gives every connection of that provider, unless
# the connection sets the field itself.
_INHERITED_FIELDS = (
    "base_url",
    "api_key",
    "webhook_secret",
    "api_version",
    "manage_webhook",
    "poll_interval",
    "connect_timeout",
    "read_timeout",
    "max_attempts",
    "max_retry_delay",
)
_SECRET_FIELDS = frozenset({"api_key", "webhook_secret"})
# What a connection kept in the store may override (never a secret: the store holds no
# credentials, they come from the provider's section).
OVERRIDABLE_FIELDS = tuple(f for f in _INHERITED_FIELDS if f not in _SECRET_FIELDS)
# Without these a connection cannot reach its provider.
_REQUIRED_FIELDS = ("base_url", "api_key")


class ProviderSettings(_Section):
    """One provider's workspace credentials and its connections' defaults
    (``[providers.kombo]``, ``[providers.unified]``, ``[providers.stackone]``).

    The vendors issue one API key (and one webhook signing secret) per workspace, not
    per customer account; every connection of the provider uses them unless it sets
    its own. Unset fields fall back to the connection's built-in defaults.
    """

    base_url: str | None = None
    api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    # StackOne only (see ``ConnectionSettings.api_version``).
    api_version: str | None = None
    # Unified only (see ``ConnectionSettings.manage_webhook``).
    manage_webhook: bool | None = None
    # Unified only: the workspace its authorization URLs name (connect links). Not
    # a connection setting: no connection inherits it.
    workspace_id: str | None = None
    poll_interval: float | None = Field(default=None, gt=0)
    connect_timeout: float | None = Field(default=None, gt=0)
    read_timeout: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)
    max_retry_delay: float | None = Field(default=None, ge=0)

    def defaults(self) -> dict[str, Any]:
        """The fields this section sets: exactly what its connections inherit."""
        return {
            name: getattr(self, name)
            for name in _INHERITED_FIELDS
            if getattr(self, name) is not None
        }


class ConnectionSettings(_Section):
    """One customer account at one provider, owned by one tenant.

    Loaded through ``Settings``, the fields a connection leaves out come from its
    provider's ``[providers.<name>]`` section (``ProviderSettings``), so each one is
    complete here: readers never look at the section themselves.
    """

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    tenant: str
    provider: ProviderName
    base_url: str
    api_key: SecretStr
    account: str = Field(min_length=1)
    webhook_secret: SecretStr | None = None
    # A provider whose plug-in registers its webhook through the vendor's API
    # (Unified): do so on start, unless the subscription is managed by hand in the
    # vendor's dashboard.
    manage_webhook: bool = True
    # The API version the account speaks, where the provider's plug-in declares
    # several (StackOne: "2025-12-03", current, the default, or "2025-02-24", legacy,
    # the only one that can read an order back).
    api_version: str | None = None
    poll_interval: float | None = Field(default=None, gt=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=20.0, gt=0)
    max_attempts: int = Field(default=4, ge=1)
    max_retry_delay: float = Field(default=30.0, ge=0)
    # A label for people (the admin API's ``name``); never used to find the connection.
    name: str | None = None
    # Set by ``Settings``: the non-secret fields where this connection differs from its
    # provider's section (``stored_overrides``).
    _overrides: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_api_version(self) -> ConnectionSettings:
        # The versions come from the provider's plug-in: a provider with one API
        # declares none, and a connection naming a version is refused.
        if self.api_version is None:
            return self
        versions = plugin_of(self.provider).api_versions
        if not versions:
            labels = [plugin.label for plugin in PLUGINS if plugin.api_versions]
            msg = f"connection {self.id!r}: api_version is a {' or '.join(labels)} setting"
            raise ValueError(msg)
        if self.api_version not in versions:
            msg = f"connection {self.id!r}: api_version must be one of {', '.join(versions)}"
            raise ValueError(msg)
        return self

    def adapter_config(self) -> ConnectionConfig:
        """What the provider adapter needs (no tenant, no sync policy)."""
        return ConnectionConfig(
            id=self.id,
            provider=self.provider,
            base_url=self.base_url,
            api_key=self.api_key,
            account=self.account,
            webhook_secret=self.webhook_secret,
            api_version=self.api_version,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_attempts=self.max_attempts,
            max_retry_delay=self.max_retry_delay,
        )

    def stored_overrides(self) -> dict[str, Any]:
        """The non-secret fields in which this connection differs from its provider's
        section (or, outside ``Settings``, from the built-in defaults): what the store
        records as the connection's overrides. Never an API key or webhook secret."""
        if self._overrides is not None:
            return dict(self._overrides)
        return _overrides_of(self, None)


class _Sections(dict[ProviderName, ProviderSettings]):
    """The provider sections as a dict that hashes, so ``Settings`` stays hashable like
    every other frozen section (``functools.lru_cache`` keys on settings)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def _overrides_of(
    connection: ConnectionSettings, section: ProviderSettings | None
) -> dict[str, Any]:
    inherited = section.defaults() if section is not None else {}
    found: dict[str, Any] = {}
    for name in OVERRIDABLE_FIELDS:
        value = getattr(connection, name)
        default = inherited.get(name, ConnectionSettings.model_fields[name].default)
        if value != default:
            found[name] = value
    return found


def _valid_sections(raw: Any) -> dict[str, ProviderSettings | None]:
    """The provider sections of a raw settings document, None for an invalid one: the
    field's own validation names what is wrong with it."""
    sections: dict[str, ProviderSettings | None] = {}
    if not isinstance(raw, Mapping):
        return sections
    for name, value in raw.items():
        if isinstance(value, ProviderSettings):
            sections[str(name)] = value
            continue
        try:
            sections[str(name)] = ProviderSettings.model_validate(value)
        except ValidationError:
            sections[str(name)] = None
    return sections


def _inherit(raw: Any, position: int, sections: Mapping[str, ProviderSettings | None]) -> Any:
    """One raw connection with its provider section's fields filled in where it has none.

    ``ValueError`` naming the connection, the missing fields and where to put them when
    neither the connection nor its provider's section has the credentials.
    """
    if not isinstance(raw, Mapping):
        return raw  # a ConnectionSettings already, or garbage the field will refuse
    provider = raw.get("provider")
    if not isinstance(provider, str) or provider not in {p.value for p in ProviderName}:
        return raw  # the field's validation names the bad provider
    provider = str(ProviderName(provider))
    if provider in sections and sections[provider] is None:
        return raw  # its section is invalid: that error, not a second one, says why
    section = sections.get(provider)
    merged = {**(section.defaults() if section is not None else {}), **raw}
    missing = [name for name in _REQUIRED_FIELDS if merged.get(name) is None]
    if missing:
        who = (
            f"connection {raw['id']!r}"
            if isinstance(raw.get("id"), str)
            else (f"connections[{position}]")
        )
        fields = " and ".join(missing)
        msg = (
            f"{who} ({provider}) has no {fields}: set {fields} under [providers.{provider}] "
            f"(shared by every {provider} connection) or on the connection itself"
        )
        raise ValueError(msg)
    return merged


def _problems(exc: ValidationError) -> str:
    # pydantic's message may echo input values; keep only locations and reasons so a
    # secret typed into the wrong field is not printed.
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
        if error["loc"]
        else str(error["msg"])
        for error in exc.errors()
    )


class Settings(BaseSettings):
    """All of ordergraph's settings."""

    model_config = SettingsConfigDict(
        env_prefix="ORDERGRAPH_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    server: ServerSettings = ServerSettings()
    store: StoreSettings = StoreSettings()
    cache: CacheSettings = CacheSettings()
    broker: BrokerSettings = BrokerSettings()
    sync: SyncSettings = SyncSettings()
    limits: LimitSettings = LimitSettings()
    ids: IdSettings = IdSettings()
    subscriptions: SubscriptionSettings = SubscriptionSettings()
    webhooks: WebhookSettings = WebhookSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    tracing: TracingSettings = TracingSettings()
    delivery: DeliverySettings = DeliverySettings()
    mutations: MutationSettings = MutationSettings()
    persisted: PersistedSettings = PersistedSettings()
    # ``[providers.<name>]``: each provider's credentials and connection defaults.
    providers: Annotated[dict[ProviderName, ProviderSettings], AfterValidator(_Sections)] = Field(
        default_factory=lambda: _Sections()
    )
    tenants: tuple[TenantSettings, ...] = ()
    connections: tuple[ConnectionSettings, ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment variables override the file (passed as init values).
        return env_settings, init_settings

    @model_validator(mode="before")
    @classmethod
    def _inherit_provider_settings(cls, data: Any) -> Any:
        # Before validation, on the merged sources (file, environment): a connection
        # without its own credentials takes its provider section's, and a connection
        # that has them (files written before the sections) keeps them.
        if not isinstance(data, Mapping):
            return data
        connections = data.get("connections")
        if not isinstance(connections, list | tuple):
            return data
        sections = _valid_sections(data.get("providers"))
        return {
            **data,
            "connections": [_inherit(c, i, sections) for i, c in enumerate(connections)],
        }

    @model_validator(mode="after")
    def _check_providers(self) -> Settings:
        for provider, section in self.providers.items():
            # Checked as a connection would be (so one rule, e.g. api_version being a
            # StackOne setting, holds for both), with placeholders for what is unset.
            probe = {
                "id": f"providers.{provider}",
                "tenant": "-",
                "provider": provider,
                "account": "-",
                "base_url": "-",
                "api_key": "-",
                **section.defaults(),
            }
            try:
                ConnectionSettings.model_validate(probe)
            except ValidationError as exc:
                reasons = "; ".join(
                    str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()
                )
                msg = f"[providers.{provider}]: {reasons}"
                raise ValueError(msg) from None
        for connection in self.connections:
            connection._overrides = _overrides_of(
                connection, self.providers.get(connection.provider)
            )
        return self

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        tenants = [t.name for t in self.tenants]
        if len(set(tenants)) != len(tenants):
            msg = "tenant names must be unique"
            raise ValueError(msg)
        ids = [c.id for c in self.connections]
        if len(set(ids)) != len(ids):
            msg = "connection ids must be unique"
            raise ValueError(msg)
        hashes = [k.hash for t in self.tenants for k in t.keys]
        if len(set(hashes)) != len(hashes):
            # One key must act for one tenant with one set of scopes.
            msg = "a key hash is listed twice"
            raise ValueError(msg)
        for connection in self.connections:
            if connection.tenant not in tenants:
                msg = f"connection {connection.id!r} names unknown tenant {connection.tenant!r}"
                raise ValueError(msg)
        accounts = [(c.provider, c.base_url, c.account) for c in self.connections]
        if len(set(accounts)) != len(accounts):
            # Two connections on one provider account would ingest the same orders
            # under two tenants.
            msg = "two connections point at the same provider account"
            raise ValueError(msg)
        return self

    def connection(self, connection_id: str) -> ConnectionSettings | None:
        return next((c for c in self.connections if c.id == connection_id), None)

    def resolve_connection(
        self,
        *,
        id: str,
        tenant: str,
        provider: ProviderName | str,
        account: str,
        name: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> ConnectionSettings:
        """The complete settings of a connection kept in the store (added by the admin
        API or a provider event): its provider section's credentials and defaults with
        the connection's own non-secret ``overrides`` on top.

        Raises ``ConfigError`` (naming fields, never values) when an override is a
        secret or unknown, when the provider section lacks the credentials, or when a
        value is invalid. The tenant is not checked against ``tenants``.
        """
        extra = dict(overrides or {})
        secret = sorted(set(extra) & _SECRET_FIELDS)
        if secret:
            msg = f"connection {id!r}: {', '.join(secret)} cannot be overridden per connection"
            raise ConfigError(msg)
        unknown = sorted(set(extra) - set(OVERRIDABLE_FIELDS))
        if unknown:
            msg = f"connection {id!r}: {', '.join(unknown)} cannot be overridden"
            raise ConfigError(msg)
        raw = {
            "id": id,
            "tenant": tenant,
            "provider": str(provider),
            "account": account,
            "name": name,
            **extra,
        }
        sections: dict[str, ProviderSettings | None] = {
            str(p): s for p, s in self.providers.items()
        }
        try:
            connection = ConnectionSettings.model_validate(_inherit(raw, 0, sections))
        except ValidationError as exc:
            msg = f"invalid connection {id!r}: {_problems(exc)}"
            raise ConfigError(msg) from None
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        connection._overrides = _overrides_of(connection, self.providers.get(connection.provider))
        return connection

    def connections_of(self, tenant: str) -> tuple[ConnectionSettings, ...]:
        return tuple(c for c in self.connections if c.tenant == tenant)


def expand_env(value: Any, environ: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${VAR}`` in every string of a parsed TOML document."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                msg = f"setting {path or '<root>'} refers to ${{{name}}}, which is not set"
                raise ConfigError(msg)
            return environ[name]

        return _ENV_REFERENCE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: expand_env(v, environ, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, environ, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def load_settings(
    path: Path | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from a TOML file (optional), ``${VAR}`` references and the environment."""
    environ = os.environ if environ is None else environ
    document: dict[str, Any] = {}
    if path is not None:
        try:
            with Path(path).open("rb") as handle:
                document = tomllib.load(handle)
        except FileNotFoundError as exc:
            msg = f"config file {path} does not exist"
            raise ConfigError(msg) from exc
        except tomllib.TOMLDecodeError as exc:
            msg = f"config file {path} is not valid TOML: {exc}"
            raise ConfigError(msg) from exc
    document = expand_env(document, environ)
    if overrides:
        document.update(overrides)
    try:
        return Settings(**document)
    except ValidationError as exc:
        msg = f"invalid settings: {_problems(exc)}"
        raise ConfigError(msg) from None
