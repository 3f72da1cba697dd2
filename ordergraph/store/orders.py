"""``OrderStore``: the order index and its event log.

Every way an order arrives (webhook, poll, our own mutations) goes through
``ingest``; readers page with keyset cursors and tail the event log.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from ordergraph.models import Order, OrderStatus
from ordergraph.store.batch_reads import (
    events_of_orders,
    newest_orders_by_candidate,
    newest_orders_by_job,
)
from ordergraph.store.candidates import CandidatePage, count_candidates, page_candidates
from ordergraph.store.cursors import CursorCodec
from ordergraph.store.deliveries import delivery_marks_in
from ordergraph.store.dialects import insert_ignoring_conflicts
from ordergraph.store.engine import single_read, write_transaction
from ordergraph.store.filters import filter_conditions
from ordergraph.store.ingest_plan import CurrentRow, is_provider_read, plan_ingest
from ordergraph.store.known_documents import KnownDocuments
from ordergraph.store.order_pages import STORED_COLUMNS, PageWindow, count_where, read_page
from ordergraph.store.page_edges import PageEdges
from ordergraph.store.receipts import WebhookReceipt, record_receipt
from ordergraph.store.records import (
    EventSource,
    IngestResult,
    OrderFilter,
    OrderPage,
    SortOrder,
    StoredEvent,
    StoredOrder,
)
from ordergraph.store.rows import (
    PreparedOrder,
    prepare_order,
    stored_event,
    stored_order,
    stored_result,
)
from ordergraph.store.tables import connections as connections_table
from ordergraph.store.tables import order_events, tenant_state
from ordergraph.store.tables import orders as orders_table
from ordergraph.store.types import as_utc, utcnow
from ordergraph.store.versions import first_data_version

__all__ = ["DEFAULT_PAGE_SIZE", "OrderStore"]

DEFAULT_PAGE_SIZE = 50
# Bound IN lists well below both backends' bind-parameter limits.
_IN_CHUNK = 500

_CURRENT_COLUMNS = [
    orders_table.c.id,
    orders_table.c.tenant,
    orders_table.c.status,
    orders_table.c.provider_status,
    orders_table.c.created_at,
    orders_table.c.created_at_source,
    orders_table.c.first_seen_at,
    orders_table.c.updated_at,
    orders_table.c.content_hash,
    orders_table.c.version,
    # Only the result out of the stored document (a JSON path, NULL for most orders):
    # ingestion keeps it when a read carries none, without loading whole documents.
    orders_table.c.data["result"].label("result"),
]
# Columns an update may change; tenant, first_seen_at and the key never change.
_UPDATED_COLUMNS = [
    c.name for c in orders_table.c if c.name not in {"id", "tenant", "first_seen_at", "remote_id"}
]
_UPDATE_ORDER = (
    orders_table.update()
    .where(orders_table.c.id == sa.bindparam("match_id"))
    .values({name: sa.bindparam(f"new_{name}") for name in _UPDATED_COLUMNS})
)


def _delivery_lookups(
    tenant: str,
    batch: Sequence[PreparedOrder],
    stored: dict[str, CurrentRow],
    *,
    by_read_time: bool,
    read: bool,
) -> list[str]:
    """The orders whose result deliveries the plan must know: only those holding a
    result (a delivery always puts one on the order), and only when it can matter (the
    read says when it began, or is a provider read bringing a result other than ours).
    Most batches: none."""
    wanted: dict[str, None] = {}
    for prepared in batch:
        current = stored.get(prepared.id)
        if current is None or current.result is None or current.tenant != tenant:
            continue
        incoming = prepared.data.get("result")
        if by_read_time or (read and incoming is not None and incoming != current.result):
            wanted[prepared.id] = None
    return list(wanted)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


class OrderStore:
    """The order index over one ``AsyncEngine`` (SQLite or PostgreSQL).

    ``cursor_secret`` signs page cursors; every process serving the same store must use
    the same secret, and changing it invalidates cursors already handed out.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cursor_secret: str | bytes,
        default_page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self._engine = engine
        self._cursors = CursorCodec(cursor_secret)
        self._default_page_size = default_page_size
        self._version_observers: list[Callable[[str, int], None]] = []
        # The documents its pages have read, by content hash (known_documents).
        self.documents = KnownDocuments()
        # The edges its pages have built, by row (page_edges).
        self.edges = PageEdges()

    def add_version_observer(self, observer: Callable[[str, int], None]) -> None:
        """Tell ``observer(tenant, data_version)`` after each ``ingest`` that committed a
        change (not ``ingest_in``: its caller commits, then publishes the version)."""
        self._version_observers.append(observer)

    @property
    def engine(self) -> AsyncEngine:
        """The engine this store runs on (the owner disposes it)."""
        return self._engine

    # -- ingestion -----------------------------------------------------------------

    async def ingest(
        self,
        tenant: str,
        connection_id: str,
        orders: Sequence[Order],
        source: EventSource,
        *,
        now: datetime | None = None,
        receipt: WebhookReceipt | None = None,
        read_at: datetime | None = None,
        status_if_new: Collection[str] = (),
    ) -> IngestResult:
        """Upsert ``orders`` for ``connection_id`` and append their events, atomically.

        New orders and status changes append one event each; other content changes
        update the row only; unchanged or stale orders write nothing. Either all of it
        commits or none of it does. After a commit that changed anything the caller
        publishes a wake-up; ``IngestResult.data_version`` is the tenant's new version.

        Ingestions of one tenant are serialised on the tenant's ``tenant_state`` row,
        which makes concurrent ingestions of the same order safe and keeps the tenant's
        event ids in commit order (so a reader tailing the log never skips an event
        that commits late).

        With a ``receipt`` (a webhook delivery's identity) the receipt is recorded in
        the same transaction; if it was recorded before, nothing is written and the
        result says ``duplicate``. So a delivery is ingested once, however often and
        however concurrently it arrives, and a delivery whose transaction never
        committed is not remembered.

        ``read_at`` is when the provider read that returned ``orders`` began (a poll, a
        refresh; unknown for a webhook). An order whose last result delivery was
        recorded after it keeps its stored status: the read may predate the delivery
        (ordergraph/store/ingest_plan.py). An order without a result keeps its stored one.
        The orders whose remote ids are in ``status_if_new`` take their status only
        when new; a stored one keeps its own (a delivery that cannot prove it is newer).
        """
        at = as_utc(now) if now is not None else utcnow()
        # Serialise and hash before the transaction: bad input fails without a lock held.
        batch = [prepare_order(connection_id, order) for order in orders]
        if not batch:
            if receipt is not None:
                # A delivery without orders (e.g. a Kombo event we do not index): only
                # remember it; there is no tenant data to lock.
                async with write_transaction(self._engine) as conn:
                    fresh = await record_receipt(conn, receipt, at)
                return IngestResult(
                    0, 0, 0, 0, (), (), await self.data_version(tenant), duplicate=not fresh
                )
            # An idle poll: nothing to lock or write.
            return IngestResult(0, 0, 0, 0, (), (), await self.data_version(tenant))
        async with write_transaction(self._engine) as conn:
            result = await self._ingest_prepared(
                conn,
                tenant,
                batch,
                source,
                at,
                receipt,
                as_utc(read_at) if read_at else None,
                frozenset(p.id for p in batch if p.order.remote_id in status_if_new),
            )
        if result.changed:
            # Committed: this process's response cache must not serve the old version
            # for even a moment (other processes hear of it through the broker).
            self.notify_version(tenant, result.data_version)
        return result

    def notify_version(self, tenant: str, data_version: int) -> None:
        """Tell the version observers that ``tenant``'s data is now at ``data_version``:
        for a write made outside ``ingest`` (a connection added or removed with its
        orders, ordergraph/store/connections.py), once it committed."""
        for observer in self._version_observers:
            observer(tenant, data_version)

    async def ingest_in(
        self,
        conn: AsyncConnection,
        tenant: str,
        connection_id: str,
        orders: Sequence[Order],
        source: EventSource,
        *,
        now: datetime | None = None,
        replace_result: bool = False,
    ) -> IngestResult:
        """``ingest`` inside the caller's write transaction (which commits it together
        with whatever else it writes, e.g. a result delivery). ``replace_result``: the
        orders' results replace the stored ones even when absent (a refused result of
        ours giving way to the accepted one, ordergraph/store/results.py)."""
        at = as_utc(now) if now is not None else utcnow()
        batch = [prepare_order(connection_id, order) for order in orders]
        return await self._ingest_prepared(
            conn, tenant, batch, source, at, replace_result=replace_result
        )

    async def lock_tenant_in(
        self, conn: AsyncConnection, tenant: str, *, now: datetime | None = None
    ) -> int:
        """Take ``tenant``'s ingestion lock in the caller's write transaction (held until
        it ends); returns the tenant's data version. Taking it again is harmless."""
        return await self._lock_tenant(conn, tenant, as_utc(now) if now else utcnow())

    async def bump_version_in(
        self, conn: AsyncConnection, tenant: str, *, now: datetime | None = None
    ) -> int:
        """Raise ``tenant``'s data version in the caller's write transaction, which holds
        the tenant's lock (``lock_tenant_in``); returns the new version. Once committed,
        the caller calls ``notify_version`` and publishes the wake-up."""
        return await self._bump_version(conn, tenant, as_utc(now) if now else utcnow())

    async def get_in(self, conn: AsyncConnection, tenant: str, order_id: str) -> StoredOrder | None:
        """One of ``tenant``'s orders, read in the caller's transaction."""
        result = await conn.execute(
            sa.select(*STORED_COLUMNS).where(
                orders_table.c.tenant == tenant, orders_table.c.id == order_id
            )
        )
        row = result.mappings().first()
        return stored_order(row) if row is not None else None

    async def _ingest_prepared(
        self,
        conn: AsyncConnection,
        tenant: str,
        batch: list[PreparedOrder],
        source: EventSource,
        at: datetime,
        receipt: WebhookReceipt | None = None,
        read_at: datetime | None = None,
        status_if_new: frozenset[str] = frozenset(),
        *,
        replace_result: bool = False,
    ) -> IngestResult:
        version = await self._lock_tenant(conn, tenant, at)
        # After the tenant lock, so racing copies of one delivery queue on that lock
        # and the later one finds the receipt committed.
        if receipt is not None and not await record_receipt(conn, receipt, at):
            return IngestResult(0, 0, 0, 0, (), (), version, duplicate=True)
        if not batch:
            return IngestResult(0, 0, 0, 0, (), (), version)
        if await _removed_connection(conn, tenant, {p.columns["connection_id"] for p in batch}):
            # A removed connection's late news (a poll or delivery that began before
            # the removal, on any process): nothing of it is kept, so a purge stays a
            # purge. Removal takes the same tenant lock, so the two never interleave.
            return IngestResult(0, 0, 0, 0, (), (), version)
        stored = await self._current_rows(conn, list(dict.fromkeys(p.id for p in batch)))
        lookups = _delivery_lookups(
            tenant, batch, stored, by_read_time=read_at is not None, read=is_provider_read(source)
        )
        for chunk in _chunks(lookups):
            for order_id, marks in (await delivery_marks_in(conn, tenant, chunk)).items():
                stored[order_id] = replace(
                    stored[order_id], delivered_at=marks.delivered_at, result_pending=marks.pending
                )
        plan = plan_ingest(
            tenant,
            batch,
            stored,
            source,
            at,
            read_at=read_at,
            status_if_new=status_if_new,
            replace_result=replace_result,
        )
        if plan.inserts:
            await conn.execute(orders_table.insert(), plan.inserts)
        if plan.updates:
            await conn.execute(
                _UPDATE_ORDER,
                [
                    {"match_id": row["id"], **{f"new_{n}": row[n] for n in _UPDATED_COLUMNS}}
                    for row in plan.updates
                ],
            )
        events: tuple[StoredEvent, ...] = ()
        if plan.events:
            events = await self._append_events(conn, tenant, plan.events)
        if plan.changed_ids:
            version = await self._bump_version(conn, tenant, at)
        return IngestResult(
            inserted=len(plan.inserts),
            updated=len(plan.updates),
            unchanged=plan.unchanged,
            stale=plan.stale,
            events=events,
            changed_ids=tuple(plan.changed_ids),
            data_version=version,
        )

    async def _lock_tenant(self, conn: AsyncConnection, tenant: str, now: datetime) -> int:
        await conn.execute(
            insert_ignoring_conflicts(conn, tenant_state).values(
                tenant=tenant, data_version=first_data_version(), updated_at=now
            )
        )
        # FOR UPDATE holds the row (PostgreSQL) until commit; SQLite's BEGIN IMMEDIATE
        # already holds the whole database.
        locked = await conn.execute(
            sa.select(tenant_state.c.data_version)
            .where(tenant_state.c.tenant == tenant)
            .with_for_update()
        )
        return int(locked.scalar_one())

    async def _append_events(
        self, conn: AsyncConnection, tenant: str, rows: list[dict[str, Any]]
    ) -> tuple[StoredEvent, ...]:
        # INSERT ... RETURNING in parameter order costs SQLite one statement per row; a
        # plain executemany and one read-back is much cheaper, and exact: the tenant's
        # row lock means no other transaction can append events for this tenant now,
        # so the tenant's events above the previous maximum are exactly ours, in order.
        c = order_events.c
        newest = await conn.execute(sa.select(sa.func.max(c.id)).where(c.tenant == tenant))
        floor = newest.scalar_one_or_none() or 0
        await conn.execute(order_events.insert(), rows)
        appended = await conn.execute(
            sa.select(order_events).where(c.tenant == tenant, c.id > floor).order_by(c.id)
        )
        return tuple(stored_event(row) for row in appended.mappings())

    async def _bump_version(self, conn: AsyncConnection, tenant: str, now: datetime) -> int:
        bumped = await conn.execute(
            tenant_state.update()
            .where(tenant_state.c.tenant == tenant)
            .values(data_version=tenant_state.c.data_version + 1, updated_at=now)
            .returning(tenant_state.c.data_version)
        )
        return int(bumped.scalar_one())

    async def _current_rows(
        self, conn: AsyncConnection, ids: Sequence[str]
    ) -> dict[str, CurrentRow]:
        found: dict[str, CurrentRow] = {}
        for chunk in _chunks(ids):
            result = await conn.execute(
                sa.select(*_CURRENT_COLUMNS).where(orders_table.c.id.in_(chunk))
            )
            for row in result.mappings():
                found[row["id"]] = CurrentRow(
                    tenant=row["tenant"],
                    status=row["status"],
                    provider_status=row["provider_status"],
                    created_at=row["created_at"],
                    created_at_source=row["created_at_source"],
                    first_seen_at=row["first_seen_at"],
                    updated_at=row["updated_at"],
                    content_hash=row["content_hash"],
                    version=row["version"],
                    result=stored_result(row["result"]),
                )
        return found

    # -- reads -------------------------------------------------------------------------

    async def get(self, tenant: str, ids: Iterable[str]) -> dict[str, StoredOrder]:
        """The stored orders among ``ids`` that belong to ``tenant``, by id (for loaders)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, StoredOrder] = {}
        async with self._engine.connect() as conn:
            for chunk in _chunks(wanted):
                result = await conn.execute(
                    sa.select(*STORED_COLUMNS).where(
                        orders_table.c.tenant == tenant, orders_table.c.id.in_(chunk)
                    )
                )
                for row in result.mappings():
                    found[row["id"]] = stored_order(row)
        return found

    async def page(
        self,
        tenant: str,
        *,
        filter: OrderFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.ASC,
        with_total: bool = False,
    ) -> OrderPage:
        """One Relay page of ``tenant``'s orders in (created_at, id) order.

        ``first``/``after`` read forwards, ``last``/``before`` backwards; ``after`` and
        ``before`` may be combined to bound a window. ``has_next_page`` and
        ``has_previous_page`` are exact: true iff a matching order lies beyond the
        page's last (first) edge, or beyond the cursor when the page is empty. All
        queries of one page read one snapshot. Raises ``InvalidCursorError`` for a cursor
        not issued for this tenant and direction, ``PaginationError`` for ``first``
        with ``last`` or a negative size.
        """
        return await read_page(
            self._engine,
            self._cursors,
            tenant,
            PageWindow(filter, first, after, last, before, order, with_total),
            default_size=self._default_page_size,
            documents=self.documents,
            known=self.edges,
        )

    async def candidates(
        self,
        tenant: str,
        *,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CandidatePage:
        """One page of the tenant's candidates (distinct emails), in email order."""
        return await page_candidates(
            self._engine,
            self._cursors,
            tenant,
            search=search,
            first=first,
            after=after,
            last=last,
            before=before,
            default_size=self._default_page_size,
        )

    async def count_candidates(self, tenant: str, search: str | None = None) -> int:
        return await count_candidates(self._engine, tenant, search)

    async def count(self, tenant: str, filter: OrderFilter | None = None) -> int:
        """How many of ``tenant``'s orders match ``filter`` (a Relay ``totalCount``)."""
        async with single_read(self._engine) as conn:
            return await count_where(conn, filter_conditions(tenant, filter or OrderFilter()))

    # -- event log ---------------------------------------------------------------------

    def event_cursor(self, tenant: str, event_id: int) -> str:
        """The opaque cursor of ``tenant``'s event ``event_id`` (signed, tenant-bound)."""
        return self._cursors.encode_event(tenant, event_id)

    def event_position(self, tenant: str, cursor: str) -> int:
        """The event id an event cursor names; ``InvalidCursorError`` for a cursor not
        issued to ``tenant`` (another tenant's, altered or made up)."""
        return self._cursors.decode_event(cursor, tenant)

    async def events_after(
        self,
        tenant: str,
        after_id: int | None,
        *,
        limit: int = 100,
        connection_ids: Sequence[str] | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        order_ids: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        """``tenant``'s events with an id above ``after_id``, oldest first, at most ``limit``.

        ``statuses`` filters on the new status. Within a tenant, ids grow in commit
        order, so a reader that remembers the last id it saw misses nothing.
        """
        c = order_events.c
        conditions: list[ColumnElement[bool]] = [c.tenant == tenant]
        if after_id is not None:
            conditions.append(c.id > after_id)
        if connection_ids is not None:
            conditions.append(c.connection_id.in_(list(connection_ids)))
        if statuses is not None:
            conditions.append(c.new_status.in_([str(s) for s in statuses]))
        if order_ids is not None:
            conditions.append(c.order_id.in_(list(order_ids)))
        async with single_read(self._engine) as conn:
            result = await conn.execute(
                sa.select(order_events).where(*conditions).order_by(c.id).limit(limit)
            )
            return [stored_event(row) for row in result.mappings()]

    async def events_of_orders(
        self,
        tenant: str,
        order_ids: Sequence[str],
        *,
        after_id: int | None,
        limit: int,
        before_id: int | None = None,
        from_end: bool = False,
    ) -> dict[str, list[StoredEvent]]:
        """For each of ``tenant``'s orders, its first ``limit`` events between ``after_id``
        and ``before_id`` (or its last ``limit`` with ``from_end``), oldest first: one query
        for all of them."""
        return await events_of_orders(
            self._engine,
            tenant,
            order_ids,
            after_id,
            limit,
            before_id=before_id,
            from_end=from_end,
        )

    async def newest_orders_by_candidate(
        self, tenant: str, emails: Sequence[str]
    ) -> dict[str, StoredOrder]:
        """Each candidate email's newest order (one query); emails without one left out."""
        return await newest_orders_by_candidate(self._engine, tenant, emails)

    async def newest_orders_by_job(
        self, tenant: str, jobs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredOrder]:
        """Each (connection id, job remote id)'s newest order (one query)."""
        return await newest_orders_by_job(self._engine, tenant, jobs)

    async def data_version(self, tenant: str) -> int:
        """A number that changes whenever any of ``tenant``'s orders changes (0 before
        the tenant's first write, then above a random start: ``first_data_version``).

        Response caches key on it: equal versions mean equal data.
        """
        async with single_read(self._engine) as conn:
            result = await conn.execute(
                sa.select(tenant_state.c.data_version).where(tenant_state.c.tenant == tenant)
            )
            value = result.scalar_one_or_none()
        return int(value) if value is not None else 0

    async def latest_event_id(self, tenant: str | None = None) -> int:
        """The newest event id (of ``tenant``, or overall); 0 when the log is empty.

        A subscription that starts "from now" reads events after this id.
        """
        query = sa.select(sa.func.max(order_events.c.id))
        if tenant is not None:
            query = query.where(order_events.c.tenant == tenant)
        async with single_read(self._engine) as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return int(value) if value is not None else 0


async def _removed_connection(conn: AsyncConnection, tenant: str, connection_ids: set[str]) -> bool:
    """Whether any of ``connection_ids`` is a connection of ``tenant`` the store holds as
    removed (one the table does not hold, from an older settings file, is not)."""
    c = connections_table.c
    found = await conn.scalar(
        sa.select(c.id)
        .where(c.tenant == tenant, c.id.in_(sorted(connection_ids)), c.state == "REMOVED")
        .limit(1)
    )
    return found is not None
