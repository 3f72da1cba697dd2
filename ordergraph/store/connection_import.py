"""What importing the settings file's connections changes (``plan_file_import``), and
the conflicts that stop an add or an import. Pure: no database here; the caller
(``ConnectionStore``) reads the rows, takes the lock and writes the plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordergraph.store.connection_records import (
    ConnectionOrigin,
    ConnectionState,
    FileConnection,
    StoredConnection,
    checked_overrides,
    provider_value,
)
from ordergraph.store.errors import AccountTakenError, ConnectionConflictError

__all__ = ["ImportPlan", "plan_file_import", "refuse_account"]


@dataclass(slots=True)
class ImportPlan:
    """Rows to insert and to update (whole rows but for their change version, which the
    writer assigns), the ids by what happens to them, and the tenants touched."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    # Removals come first: an account handed from one file connection to another
    # within one import is free again by the time the other takes it.
    updates: list[dict[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    revived: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    tenants: set[str] = field(default_factory=set)


def refuse_account(holder: StoredConnection, tenant: str, provider: str) -> None:
    """Raise the error for an account already held live by ``holder``: another
    tenant's (``AccountTakenError``, naming neither it nor its connection) or this
    tenant's under another id (``ConnectionConflictError`` with ``existing_id``)."""
    if holder.tenant != tenant:
        raise AccountTakenError(f"this {provider} account is connected to another tenant")
    raise ConnectionConflictError(
        f"this {provider} account is already connected as {holder.id!r}", existing_id=holder.id
    )


def _check_entry(entry: FileConnection, current: StoredConnection | None) -> None:
    if current is None:
        return
    if current.origin is not ConnectionOrigin.FILE:
        raise ConnectionConflictError(
            f"connection id {entry.id!r} in the settings file is already used by a "
            f"connection added by {current.origin.value}: give the file's a new id"
        )
    if current.tenant != entry.tenant:
        # Its orders are stored under the old tenant: moving them is not an import's job.
        raise ConnectionConflictError(
            f"connection {entry.id!r} moved from tenant {current.tenant!r} to "
            f"{entry.tenant!r} in the settings file: give it a new id"
        )


def plan_file_import(
    entries: Sequence[FileConnection],
    stored: Mapping[str, StoredConnection],
    at: datetime,
) -> ImportPlan:
    """The writes that make the store's ``FILE`` connections what ``entries`` say.

    ``stored`` must hold every ``FILE`` row, every row with an entry's id, and every
    live row holding an entry's account. Raises (planning nothing) as
    ``ConnectionStore.import_file_connections`` documents.
    """
    wanted = {entry.id for entry in entries}
    plan = ImportPlan()
    for row in stored.values():
        if row.origin is ConnectionOrigin.FILE and row.id not in wanted and not row.removed:
            plan.removed.append(row.id)
            plan.tenants.add(row.tenant)
            plan.updates.append(
                {
                    "id": row.id,
                    "provider": row.provider,
                    "account": row.account,
                    "name": row.name,
                    "overrides": dict(row.overrides),
                    "state": ConnectionState.REMOVED.value,
                    "changed_at": at,
                    "removed_at": at,
                }
            )
    leaving = set(plan.removed)
    holders = {
        (row.provider, row.account): row
        for row in stored.values()
        if not row.removed and row.id not in leaving
    }
    for entry in entries:
        provider = provider_value(entry.provider)
        current = stored.get(entry.id)
        _check_entry(entry, current)
        holder = holders.get((provider, entry.account))
        if holder is not None and holder.id != entry.id:
            refuse_account(holder, entry.tenant, provider)
        fields: dict[str, Any] = {
            "id": entry.id,
            "provider": provider,
            "account": entry.account,
            "name": entry.name,
            "overrides": checked_overrides(entry.stored_overrides()),
            "changed_at": at,
            "removed_at": None,
        }
        if current is None:
            plan.added.append(entry.id)
            plan.inserts.append(
                {
                    **fields,
                    "tenant": entry.tenant,
                    "origin": ConnectionOrigin.FILE.value,
                    "state": ConnectionState.ACTIVE.value,
                    "created_at": at,
                }
            )
        else:
            # The state is the connection's (an admin's pause survives a restart); only
            # a removed one comes back, because the file names it again.
            state = ConnectionState.ACTIVE if current.removed else current.state
            now = (provider, entry.account, entry.name, fields["overrides"], state)
            if now == (current.provider, current.account, current.name, current.overrides,
                       current.state):  # fmt: skip
                continue
            (plan.revived if current.removed else plan.updated).append(entry.id)
            plan.updates.append({**fields, "state": state.value})
        plan.tenants.add(entry.tenant)
    return plan
