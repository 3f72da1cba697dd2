"""The records of ``ConnectionStore`` (ordergraph/store/connections.py): states,
origins, a stored connection, what each write returns, and the shape of a file
connection the import reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.engine import RowMapping

__all__ = [
    "ConnectionOrigin",
    "ConnectionRemoval",
    "ConnectionState",
    "ConnectionWrite",
    "FileConnection",
    "FileImport",
    "StoredConnection",
    "checked_overrides",
    "provider_value",
    "stored_connection",
]

# An override whose name says it is a credential is refused: the store keeps none.
_SECRET_HINTS = ("key", "secret", "token", "password")


class ConnectionState(StrEnum):
    """Where a connection stands: syncing (``ACTIVE``), stopped by an admin or the
    provider (``PAUSED``), waiting for the provider to finish connecting it
    (``PENDING``), or gone (``REMOVED``: its webhooks and ids answer as unknown)."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    PENDING = "PENDING"
    REMOVED = "REMOVED"


class ConnectionOrigin(StrEnum):
    """Who added a connection: the settings file, the admin API, or a provider event."""

    FILE = "FILE"
    API = "API"
    PROVIDER_EVENT = "PROVIDER_EVENT"


@dataclass(frozen=True, slots=True)
class StoredConnection:
    """One row of ``connections``.

    ``provider`` is a ``ProviderName`` value, kept as text so that a row of a provider
    this build does not know still lists. ``overrides`` holds only non-secret settings
    (``Settings.resolve_connection`` takes them). ``version`` is the row's change
    version (``ConnectionStore.changes_since``).
    """

    id: str
    tenant: str
    provider: str
    account: str
    name: str | None
    state: ConnectionState
    origin: ConnectionOrigin
    overrides: Mapping[str, Any]
    created_at: datetime
    changed_at: datetime
    removed_at: datetime | None
    version: int

    @property
    def removed(self) -> bool:
        return self.state is ConnectionState.REMOVED


@dataclass(frozen=True, slots=True)
class ConnectionWrite:
    """What a write did: the connection as stored now, whether anything changed, and
    when it did, the tenant's new data version (to publish after the commit)."""

    connection: StoredConnection
    changed: bool
    data_version: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectionRemoval:
    """``remove``'s result: the connection (now ``REMOVED``), whether its row changed,
    how many of its orders and events were purged, and the tenant's new data version
    when anything changed."""

    connection: StoredConnection
    changed: bool
    purged_orders: int = 0
    purged_events: int = 0
    data_version: int | None = None


@dataclass(frozen=True, slots=True)
class FileImport:
    """``import_file_connections``'s result, by connection id; ``data_versions`` holds
    each changed tenant's new data version."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    revived: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    data_versions: Mapping[str, int] = field(default_factory=dict)


class FileConnection(Protocol):
    """A ``[[connections]]`` entry as ``import_file_connections`` reads it
    (``ordergraph.settings.ConnectionSettings`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    def stored_overrides(self) -> Mapping[str, Any]: ...


def stored_connection(row: RowMapping) -> StoredConnection:
    return StoredConnection(
        id=row["id"],
        tenant=row["tenant"],
        provider=row["provider"],
        account=row["account"],
        name=row["name"],
        state=ConnectionState(row["state"]),
        origin=ConnectionOrigin(row["origin"]),
        overrides=dict(row["overrides"]),
        created_at=row["created_at"],
        changed_at=row["changed_at"],
        removed_at=row["removed_at"],
        version=int(row["change_version"]),
    )


def checked_overrides(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """``overrides`` as a dict, or ``ValueError`` naming those that look like credentials."""
    found = dict(overrides or {})
    secret = sorted(k for k in found if any(hint in k.lower() for hint in _SECRET_HINTS))
    if secret:
        # Names only: the values are what must not be stored or shown.
        msg = f"credentials are never stored with a connection: {', '.join(secret)}"
        raise ValueError(msg)
    return found


def provider_value(value: str) -> str:
    """A ProviderName (a str enum) as the plain text it is stored and compared as."""
    return str(value.value) if isinstance(value, StrEnum) else value
