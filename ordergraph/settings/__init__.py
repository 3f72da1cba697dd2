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

from ordergraph.settings.connections import OVERRIDABLE_FIELDS, ConnectionSettings, ProviderSettings
from ordergraph.settings.loading import Settings, expand_env, load_settings
from ordergraph.settings.origins import ANY_ORIGIN, DEFAULT_CORS_HEADERS, normalise_origin
from ordergraph.settings.sections import (
    BrokerSettings,
    CacheSettings,
    DeliverySettings,
    IdSettings,
    LimitSettings,
    LoggingSettings,
    MetricsSettings,
    MutationSettings,
    PersistedSettings,
    ServerSettings,
    StoreSettings,
    SubscriptionSettings,
    SyncSettings,
    TracingSettings,
    WebhookSettings,
)
from ordergraph.settings.tenants import ApiKeySettings, TenantSettings

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
