"""The demo's configuration: secrets kept in the data dir, the sandbox's accounts as six
connections (one per provider per tenant), the gateway's settings, and the info file."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from strawberry import relay

from ordergraph.errors import ConfigError
from ordergraph.ids import NodeIdCodec
from ordergraph.keys import Scope, hash_api_key
from ordergraph.models import ProviderName
from ordergraph.providers.registry import PLUGINS, plugin_of
from ordergraph.providers.stackone.wire import LEGACY_API_VERSION
from ordergraph.sandbox.core import Account
from ordergraph.settings import Settings

__all__ = [
    "KOMBO_POLL_INTERVAL",
    "OPEN_ORIGINS",
    "PROVIDERS",
    "STORE_FILE",
    "TENANTS",
    "DemoSecrets",
    "api_key_of",
    "demo_connections",
    "demo_providers",
    "demo_settings",
    "info_document",
    "write_json_atomically",
]

TENANTS = ("acme", "globex")
# Every provider with a plug-in (and so a simulator): one connection each per tenant.
PROVIDERS = tuple(plugin.name for plugin in PLUGINS)
# Kombo is polled this often (production default: a minute), so status changes show soon.
KOMBO_POLL_INTERVAL = 5.0
SECRETS_FILE = "secrets.json"
STORE_FILE = "demo.sqlite3"
# The demo is the one place every origin may call (DESIGN.md section 5): "*" makes
# /graphql answer CORS for any origin (ordergraph.api.cors); serve's default stays closed.
OPEN_ORIGINS = ("*",)
_ALL = [str(scope) for scope in Scope]


@dataclass(frozen=True)
class DemoSecrets:
    """The cursor secret and one API key per tenant, generated once per data dir so
    cursors and keys stay valid across restarts of the demo."""

    cursor_secret: str
    api_keys: Mapping[str, str]

    @classmethod
    def load_or_create(cls, data_dir: Path) -> DemoSecrets:
        path = data_dir / SECRETS_FILE
        stored: dict[str, Any] = {}
        if path.exists():
            try:
                stored = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                msg = f"{path} is not readable JSON; delete it to generate new demo secrets"
                raise ConfigError(msg) from exc
        keys = dict(stored.get("api_keys") or {})
        for tenant in TENANTS:
            keys.setdefault(tenant, f"demo_{tenant}_{secrets.token_urlsafe(24)}")
        made = cls(
            cursor_secret=stored.get("cursor_secret") or secrets.token_urlsafe(32),
            api_keys={t: keys[t] for t in TENANTS},
        )
        if made.as_json() != stored:
            write_json_atomically(path, made.as_json(), mode=0o600)
        return made

    def as_json(self) -> dict[str, Any]:
        return {"cursor_secret": self.cursor_secret, "api_keys": dict(self.api_keys)}


def write_json_atomically(path: Path, document: Any, *, mode: int = 0o644) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it into place, so a
    reader sees no file or the whole file, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def api_key_of(account: Account) -> str:
    """The API key inside the headers the sandbox lists for an account.

    Unified and Kombo send ``Bearer <key>``; StackOne sends Basic auth whose username is
    the key (empty password).
    """
    scheme, _, credentials = account.headers["Authorization"].partition(" ")
    if scheme.lower() == "basic":
        return base64.b64decode(credentials).decode().split(":", 1)[0]
    return credentials


def demo_connections(
    accounts: Sequence[Account], base_urls: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Six connections: each tenant gets one account of each provider, in order."""
    connections: list[dict[str, Any]] = []
    for provider in PROVIDERS:
        owned = [a for a in accounts if a.provider == provider.value]
        if len(owned) < len(TENANTS):
            msg = f"the sandbox has {len(owned)} {provider.value} accounts, the demo needs two"
            raise ConfigError(msg)
        for tenant, account in zip(TENANTS, owned, strict=False):
            connection: dict[str, Any] = {
                "id": f"{tenant}-{provider.value}",
                "tenant": tenant,
                "provider": provider.value,
                "base_url": base_urls[provider.value],
                "api_key": api_key_of(account),
                "account": account.account,
                "webhook_secret": account.webhook_secret or None,
                # Loopback: retry soon rather than back off for half a minute.
                "max_retry_delay": 1.0,
            }
            if plugin_of(provider).polling is not None:
                connection["poll_interval"] = KOMBO_POLL_INTERVAL
            if provider is ProviderName.STACKONE:
                # The simulator keeps the legacy order reads: the demo's activity and
                # refreshOrders read StackOne orders back through them.
                connection["api_version"] = LEGACY_API_VERSION
            connections.append(connection)
    return connections


def demo_providers(
    accounts: Sequence[Account],
    base_urls: Mapping[str, str],
    workspace_ids: Mapping[str, str | None],
) -> dict[str, dict[str, Any]]:
    """``[providers.<name>]``: each simulator's workspace key and webhook secret (the
    sandbox issues one per provider, as the vendors do), so connections added at run
    time (``addConnection``, connect links) work like the six the demo starts with."""
    sections: dict[str, dict[str, Any]] = {}
    for provider in PROVIDERS:
        first = next(a for a in accounts if a.provider == provider.value)
        section: dict[str, Any] = {
            "base_url": base_urls[provider.value],
            "api_key": api_key_of(first),
            "webhook_secret": first.webhook_secret or None,
            "max_retry_delay": 1.0,
        }
        if workspace_ids.get(provider.value):
            section["workspace_id"] = workspace_ids[provider.value]
        if provider is ProviderName.STACKONE:
            section["api_version"] = LEGACY_API_VERSION
        sections[provider.value] = section
    return sections


class DemoSettings(Settings):
    """Settings made by the demo alone: ``ORDERGRAPH_*`` variables meant for a real
    deployment (a PostgreSQL URL, say) must not reach the demo."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def demo_settings(
    *,
    host: str,
    port: int,
    store_url: str,
    demo_secrets: DemoSecrets,
    connections: Sequence[Mapping[str, Any]],
    providers: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Two tenants, six connections, SQLite, in-memory cache and broker."""
    return DemoSettings(
        server={
            "host": host,
            "port": port,
            # Unified's hook_url and Kombo's webhook target point back at the demo.
            "public_url": f"http://{host}:{port}",
            "cors_origins": OPEN_ORIGINS,
        },
        store={
            "url": store_url,
            "auto_migrate": True,
            "cursor_secret": demo_secrets.cursor_secret,
        },
        cache={"url": "memory://"},
        # GraphiQL's docs and completion need introspection, which serve keeps off.
        limits={"introspection": True},
        broker={"url": "memory://"},
        sync={"poll_interval": KOMBO_POLL_INTERVAL},
        # Like a deployment, the gateway holds only the keys' hashes; the demo's keys
        # may do everything, personal data included, so every field can be explored.
        tenants=[
            {"name": t, "keys": [{"hash": hash_api_key(demo_secrets.api_keys[t]), "scopes": _ALL}]}
            for t in TENANTS
        ],
        providers=dict(providers or {}),
        connections=list(connections),
    )


def connection_global_id(connection_id: str, cursor_secret: str) -> str:
    """The connection's GraphQL id (``connections { id }``, ``createOrder(connectionId)``),
    signed as the gateway signs it (``ordergraph.ids``, keyed by the store secret)."""
    # The type name is part of the published schema (schema.graphql).
    node_id = NodeIdCodec(cursor_secret).encode("ProviderConnection", connection_id)
    return relay.to_base64("ProviderConnection", node_id)


def info_document(
    settings: Settings, demo_secrets: DemoSecrets, graphql_url: str, sandbox_url: str
) -> dict[str, Any]:
    """``{"graphql_url", "sandbox_url", "tenants": [{"name", "api_key", "connections":
    [{"id", "provider", "account"}]}]}`` (DESIGN.md section 5); the keys come from the
    demo's secrets, the settings hold only their hashes."""
    return {
        "graphql_url": graphql_url,
        "sandbox_url": sandbox_url,
        "tenants": [
            {
                "name": tenant.name,
                "api_key": demo_secrets.api_keys[tenant.name],
                "connections": [
                    {
                        "id": connection_global_id(c.id, demo_secrets.cursor_secret),
                        "provider": c.provider.value,
                        "account": c.account,
                    }
                    for c in settings.connections_of(tenant.name)
                ],
            }
            for tenant in settings.tenants
        ],
    }
