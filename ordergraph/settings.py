"""Settings: connections, tenants, store, cache, broker and limits.

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
    api_keys = ["${ACME_API_KEY}"]

    [[connections]]
    id = "acme-kombo"
    tenant = "acme"
    provider = "kombo"
    base_url = "https://api.kombo.dev/v1"
    api_key = "${KOMBO_API_KEY}"
    account = "greenhouse:HWUTwvyx2wLoSUHphiWVrp28"
    webhook_secret = "${KOMBO_WEBHOOK_SECRET}"
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ordergraph.errors import ConfigError
from ordergraph.models import ProviderName
from ordergraph.providers.base import ConnectionConfig

__all__ = [
    "BrokerSettings",
    "CacheSettings",
    "ConnectionSettings",
    "LimitSettings",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "SyncSettings",
    "TenantSettings",
    "expand_env",
    "load_settings",
]

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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
    cors_origins: tuple[str, ...] = ()
    # Answer repeated queries from the whole-response cache (keyed by tenant, document,
    # variables and the tenant's data version, so ingestion invalidates exactly).
    response_cache: bool = True

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


class SyncSettings(_Section):
    """Background synchronisation defaults."""

    kombo_poll_interval: float = Field(default=60.0, gt=0)


class LimitSettings(_Section):
    """Limits that protect the gateway and its providers."""

    max_page_size: int = Field(default=100, ge=1, le=1000)


class TenantSettings(_Section):
    """A customer of the gateway and the API keys that act for it."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    api_keys: tuple[SecretStr, ...] = ()


class ConnectionSettings(_Section):
    """One customer account at one provider, owned by one tenant."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    tenant: str
    provider: ProviderName
    base_url: str
    api_key: SecretStr
    account: str = Field(min_length=1)
    webhook_secret: SecretStr | None = None
    # Unified: register our webhook through /unified/webhook on start, unless the
    # subscription is managed by hand in Unified's dashboard.
    manage_webhook: bool = True
    poll_interval: float | None = Field(default=None, gt=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=20.0, gt=0)
    max_attempts: int = Field(default=4, ge=1)
    max_retry_delay: float = Field(default=30.0, ge=0)

    def adapter_config(self) -> ConnectionConfig:
        """What the provider adapter needs (no tenant, no sync policy)."""
        return ConnectionConfig(
            id=self.id,
            provider=self.provider,
            base_url=self.base_url,
            api_key=self.api_key,
            account=self.account,
            webhook_secret=self.webhook_secret,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_attempts=self.max_attempts,
            max_retry_delay=self.max_retry_delay,
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
        # pydantic's message may echo input values; keep only locations and reasons so
        # a secret typed into the wrong field is not printed.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        msg = f"invalid settings: {problems}"
        raise ConfigError(msg) from None
