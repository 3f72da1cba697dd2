"""The settings sections: server, store, cache, broker, sync, limits and the rest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from ordergraph.settings.origins import (
    _HEADER_NAME,
    ANY_ORIGIN,
    DEFAULT_CORS_HEADERS,
    normalise_origin,
)


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
    # Connections each process keeps open, and how many more it opens for a burst
    # (closed again when returned). A request holds one only for its statement, but
    # with fewer kept than concurrent requests every request past them opened and
    # closed a connection: measured under wrk with 10 clients and SQLAlchemy's
    # default of 5, a new PostgreSQL connection every few requests.
    pool_size: int = Field(default=16, ge=1)
    max_overflow: int = Field(default=16, ge=0)


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
