"""Provider sections (``[providers.<name>]``) and connections: what a connection
inherits from its provider's section, and what the store may hold of it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)

from ordergraph.models import ProviderName
from ordergraph.providers.base import ConnectionConfig
from ordergraph.providers.registry import PLUGINS, plugin_of
from ordergraph.settings.sections import _Section

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
