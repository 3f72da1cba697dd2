"""``Settings``, the whole document, and reading it from a TOML file and the environment."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ordergraph.errors import ConfigError
from ordergraph.models import ProviderName
from ordergraph.settings.connections import (
    _SECRET_FIELDS,
    OVERRIDABLE_FIELDS,
    ConnectionSettings,
    ProviderSettings,
    _inherit,
    _overrides_of,
    _problems,
    _Sections,
    _valid_sections,
)
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
from ordergraph.settings.tenants import TenantSettings

# A ``${NAME}`` reference to an environment variable, in any string of the file.
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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
