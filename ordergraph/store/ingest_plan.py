"""Deciding what an ingestion writes: a pure function of the batch and the stored rows.

Kept apart from the SQL so the rules (first-seen times, stale updates, kept results,
which changes are events) read in one place and run the same on both backends.

Results are never lost to a read. An incoming order without a result keeps the one
stored: Kombo's orders never carry one (its API only takes results), and a Unified or
StackOne read taken before our result reached the provider does not carry it yet.
While a result of ours is still on its way (its delivery pending or in flight) the
stored result is kept even over a provider read (webhook, poll) that carries one: that
read shows what the provider held before ours, which is about to replace it. Our own
writes (``ResultLedger``: a newer result, the delivered one) are not reads and apply.
Otherwise (delivered, or failed for good) a read that carries a result replaces ours:
the provider holds what it holds. The kept result is part of the written document and
of its content hash, so re-reading an unchanged order still writes nothing and
appends no event.

Status is the provider's; the question is only *when* a read was taken:

- Until the provider has taken our result (its delivery pending, in flight or failed)
  the stored status is simply what the provider last reported: recording a result does
  not change it. Any read is the provider's word and is applied as it comes.
- When the provider has taken the result, the status it answered with is recorded
  (``ResultLedger.delivered``, a MUTATION event). From then on the provider stays the
  source of truth, but only for what it says *after* taking the result. A read taken
  before the delivery was recorded and ingested after it (a poll page or a refresh in
  flight meanwhile) would put the pre-delivery status back, with a spurious event,
  until the next read. So a read whose ``read_at`` (when the provider read began) is
  before the order's last recorded delivery keeps the stored status and provider
  status; the rest of the read is applied. A read begun after it is applied whole:
  if the provider shows another status then, that is its truth.
- A read without ``read_at`` (a webhook: its body does not say when the provider took
  it) is applied as it comes; a provider ``updated_at`` older than the stored one is
  still skipped as stale (``_is_stale``).
- A webhook order without a provider ``updated_at`` (Kombo's never carry one) cannot
  show whether it is newer than the stored row: a replayed or late delivery would put
  an old status back. The intake (``ordergraph/sync/confirm.py``) reads the orders
  whose status it would change back from the provider and ingests that read instead;
  the rest it names in ``status_if_new``: their status applies to a new row only, and
  an existing row keeps its stored status (checked here, under the ingestion lock, so
  an order that appeared or changed since the intake looked keeps what it has).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordergraph.store.errors import TenantConflictError
from ordergraph.store.records import CreatedAtSource, EventSource
from ordergraph.store.rows import (
    PreparedOrder,
    event_values,
    with_kept_result,
    with_kept_status,
)
from ordergraph.store.types import as_utc

__all__ = ["CurrentRow", "IngestPlan", "is_provider_read", "plan_ingest"]

_PROVIDER_READS = frozenset({EventSource.WEBHOOK, EventSource.POLL})


@dataclass(frozen=True, slots=True)
class CurrentRow:
    """The columns of a stored order that ingestion compares against."""

    tenant: str
    status: str
    created_at: datetime
    created_at_source: str
    first_seen_at: datetime
    updated_at: datetime | None
    content_hash: str
    version: int
    # The stored result document (``stored_result``), None when the order has none.
    result: dict[str, Any] | None = None
    provider_status: str | None = None
    # A result of ours is on its way to the provider (a delivery pending or in flight).
    # Like ``delivered_at``, looked up only for orders holding a result, when it matters.
    result_pending: bool = False
    # When the order's last result delivery was recorded as taken by the provider;
    # read only for ingestions that say when their read began (None: unknown/never).
    delivered_at: datetime | None = None


@dataclass(slots=True)
class IngestPlan:
    """Rows to insert, rows to update and events to append, in that order."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    stale: int = 0
    changed_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Working:
    current: CurrentRow
    values: dict[str, Any]
    is_new: bool


def _is_stale(incoming: datetime | None, stored: datetime | None) -> bool:
    # Only provable when both sides carry the provider's update time (Kombo sends none).
    return incoming is not None and stored is not None and incoming < stored


def is_provider_read(source: EventSource) -> bool:
    """Whether ``source`` is a read of the provider's view (not one of our own writes)."""
    return source in _PROVIDER_READS


def _result_to_keep(
    prepared: PreparedOrder, current: CurrentRow, source: EventSource
) -> dict[str, Any] | None:
    """The stored result, when it must replace what ``prepared`` carries (the module
    docstring's rule); None when the incoming result stands."""
    if current.result is None:
        return None
    if prepared.order.result is None:
        return current.result
    if (
        current.result_pending
        and is_provider_read(source)
        and prepared.data["result"] != current.result
    ):
        return current.result
    return None


def _predates_delivery(read_at: datetime | None, current: CurrentRow) -> bool:
    return (
        read_at is not None and current.delivered_at is not None and read_at < current.delivered_at
    )


def plan_ingest(
    tenant: str,
    batch: Sequence[PreparedOrder],
    stored: Mapping[str, CurrentRow],
    source: EventSource,
    now: datetime,
    *,
    read_at: datetime | None = None,
    status_if_new: Collection[str] = frozenset(),
    replace_result: bool = False,
) -> IngestPlan:
    """What to write for ``batch`` given the rows already ``stored`` (by order key).

    A new order is inserted with an event (previous status ``None``). A known order whose
    content is unchanged is skipped; one with an older provider ``updated_at`` than the
    stored one is skipped as stale; any other change updates the row, and appends an
    event only when the status changed. An incoming order without a result keeps the
    stored one (compared and written with it), as does one whose stored result is
    still being delivered. With ``read_at`` (when the provider read
    of the batch began), an order whose last result delivery was recorded after it
    keeps its stored status (module docstring); so does an existing order whose key is
    in ``status_if_new`` (a delivery that cannot show it is newer). An order listed
    twice is applied in list order.
    """
    plan = IngestPlan()
    working: dict[str, _Working] = {}
    for prepared in batch:
        entry = working.get(prepared.id)
        current = entry.current if entry else stored.get(prepared.id)
        if current is not None and current.tenant != tenant:
            raise TenantConflictError(
                f"order {prepared.id} belongs to another tenant; "
                f"connection {prepared.columns['connection_id']} cannot serve two tenants"
            )
        # ``replace_result``: our own correction (a refused result giving way to the
        # accepted one, ordergraph/store/results.py), applied as it is.
        kept = (
            _result_to_keep(prepared, current, source)
            if current is not None and not replace_result
            else None
        )
        if kept is not None:
            prepared = with_kept_result(prepared, kept)
        if (
            current is not None
            and (prepared.status, prepared.columns["provider_status"])
            != (current.status, current.provider_status)
            and (_predates_delivery(read_at, current) or prepared.id in status_if_new)
        ):
            prepared = with_kept_status(prepared, current.status, current.provider_status)
        provider_created = prepared.order.created_at
        if current is None:
            created_at = as_utc(provider_created) if provider_created else now
            created_source = (
                CreatedAtSource.PROVIDER if provider_created else CreatedAtSource.FIRST_SEEN
            )
            first_seen_at = now
            version = 1
            previous_status: str | None = None
        else:
            if _is_stale(prepared.columns["updated_at"], current.updated_at):
                plan.stale += 1
                continue
            if provider_created:
                created_at, created_source = as_utc(provider_created), CreatedAtSource.PROVIDER
            else:
                # Keep the first-seen time: re-ingesting must not move the order in listings.
                created_at = current.created_at
                created_source = CreatedAtSource(current.created_at_source)
            if prepared.content_hash == current.content_hash and created_at == current.created_at:
                plan.unchanged += 1
                continue
            first_seen_at = current.first_seen_at
            version = current.version + 1
            previous_status = current.status
        values = {
            **prepared.columns,
            "id": prepared.id,
            "tenant": tenant,
            "created_at": created_at,
            "created_at_source": str(created_source),
            "first_seen_at": first_seen_at,
            "ingested_at": now,
            # What ``updatedAt`` shows and ``updatedSince`` filters on (store/tables.py).
            "changed_at": prepared.columns["updated_at"] or now,
            "content_hash": prepared.content_hash,
            "version": version,
        }
        working[prepared.id] = _Working(
            current=CurrentRow(
                tenant=tenant,
                status=prepared.status,
                created_at=created_at,
                created_at_source=str(created_source),
                first_seen_at=first_seen_at,
                updated_at=prepared.columns["updated_at"],
                content_hash=prepared.content_hash,
                version=version,
                result=prepared.data.get("result"),
                provider_status=prepared.columns["provider_status"],
                result_pending=current.result_pending if current is not None else False,
                delivered_at=current.delivered_at if current is not None else None,
            ),
            values=values,
            is_new=entry.is_new if entry else current is None,
        )
        if previous_status != prepared.status:
            plan.events.append(
                event_values(
                    tenant,
                    prepared.id,
                    prepared.columns["connection_id"],
                    previous_status,
                    prepared.status,
                    source,
                    now,
                )
            )
    for order_id, entry in working.items():
        (plan.inserts if entry.is_new else plan.updates).append(entry.values)
        plan.changed_ids.append(order_id)
    return plan
