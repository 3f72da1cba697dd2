"""Connections in the store: tenant scope, conflicts, state changes, removal with and
without purge, the change feed every process follows, and the file import."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from ordergraph.models import ProviderName
from ordergraph.store import (
    AccountTakenError,
    ConnectionConflictError,
    ConnectionOrigin,
    ConnectionRemovedError,
    ConnectionState,
    EventSource,
    FileImport,
    Store,
    SyncState,
    create_engine,
)
from ordergraph.store.budget import statement_budget
from ordergraph.store.rows import order_key
from tests.databases import CURSOR_SECRET
from tests.store.builders import kombo_order, minutes

KOMBO = ProviderName.KOMBO
UNIFIED = ProviderName.UNIFIED


@pytest.fixture
async def shared(store_url: str) -> AsyncIterator[Store]:
    """The run's shared database: for tests that stay inside their own tenants."""
    async with Store.from_engine(create_engine(store_url), cursor_secret=CURSOR_SECRET) as store:
        yield store


@pytest.fixture
def other_tenant() -> str:
    return f"other-{uuid.uuid4().hex[:10]}"


def _account() -> str:
    return f"acct-{uuid.uuid4().hex[:12]}"


async def test_an_added_connection_is_read_back_by_its_tenant_only(
    shared: Store, tenant: str, other_tenant: str
) -> None:
    account = _account()
    written = await shared.connections.add(
        tenant, f"{tenant}-k", KOMBO, account, name="Greenhouse", overrides={"read_timeout": 9.0}
    )

    assert written.changed
    stored = written.connection
    assert (stored.tenant, stored.provider, stored.account, stored.name) == (
        tenant,
        "kombo",
        account,
        "Greenhouse",
    )
    assert stored.state is ConnectionState.ACTIVE
    assert stored.origin is ConnectionOrigin.API
    assert stored.overrides == {"read_timeout": 9.0}
    assert await shared.connections.get(tenant, f"{tenant}-k") == stored
    assert [c.id for c in await shared.connections.list(tenant)] == [f"{tenant}-k"]
    # Another tenant sees nothing of it, not even by id.
    assert await shared.connections.get(other_tenant, f"{tenant}-k") is None
    assert await shared.connections.list(other_tenant) == []
    assert await shared.connections.find_by_account("kombo", account) == stored


async def test_adding_again_is_a_repeat_that_changes_nothing(shared: Store, tenant: str) -> None:
    account = _account()
    first = await shared.connections.add(tenant, f"{tenant}-k", KOMBO, account)
    again = await shared.connections.add(tenant, f"{tenant}-k", KOMBO, account, name="renamed")

    assert not again.changed
    assert again.data_version is None
    assert again.connection == first.connection


async def test_an_account_belongs_to_one_tenant(
    shared: Store, tenant: str, other_tenant: str
) -> None:
    account = _account()
    await shared.connections.add(tenant, f"{tenant}-k", KOMBO, account)

    with pytest.raises(AccountTakenError) as taken:
        await shared.connections.add(other_tenant, f"{other_tenant}-k", KOMBO, account)
    # Nothing about the owner reaches the other tenant.
    assert tenant not in str(taken.value)
    assert f"{tenant}-k" not in str(taken.value)
    assert await shared.connections.list(other_tenant) == []

    with pytest.raises(ConnectionConflictError) as twice:
        await shared.connections.add(tenant, f"{tenant}-k2", KOMBO, account)
    assert not isinstance(twice.value, AccountTakenError)
    assert twice.value.existing_id == f"{tenant}-k"

    with pytest.raises(ConnectionConflictError, match="already in use"):
        await shared.connections.add(tenant, f"{tenant}-k", KOMBO, _account())
    # The same account at another provider is another account.
    assert (await shared.connections.add(tenant, f"{tenant}-u", UNIFIED, account)).changed


async def test_credentials_are_never_stored(shared: Store, tenant: str) -> None:
    for name in ("api_key", "webhook_secret", "token"):
        with pytest.raises(ValueError, match=name):
            await shared.connections.add(
                tenant, f"{tenant}-k", KOMBO, _account(), overrides={name: "s3cr3t-value"}
            )
    assert await shared.connections.list(tenant, include_removed=True) == []


async def test_pause_resume_and_activate(shared: Store, tenant: str, other_tenant: str) -> None:
    cid = f"{tenant}-k"
    added = await shared.connections.add(
        tenant, cid, KOMBO, _account(), state=ConnectionState.PENDING
    )
    assert added.connection.state is ConnectionState.PENDING

    active = await shared.connections.set_state(tenant, cid, ConnectionState.ACTIVE)
    assert active is not None
    assert active.changed
    assert active.connection.state is ConnectionState.ACTIVE
    assert active.connection.version > added.connection.version
    paused = await shared.connections.set_state(tenant, cid, ConnectionState.PAUSED)
    assert paused is not None
    assert paused.connection.state is ConnectionState.PAUSED
    repeat = await shared.connections.set_state(tenant, cid, ConnectionState.PAUSED)
    assert repeat is not None
    assert not repeat.changed
    assert repeat.connection == paused.connection

    # Another tenant's pause is a "not found", and changes nothing.
    assert await shared.connections.set_state(other_tenant, cid, ConnectionState.ACTIVE) is None
    assert await shared.connections.set_state(tenant, "nope", ConnectionState.ACTIVE) is None
    assert (await shared.connections.get(tenant, cid)) == paused.connection

    await shared.connections.remove(tenant, cid)
    with pytest.raises(ConnectionRemovedError):
        await shared.connections.set_state(tenant, cid, ConnectionState.ACTIVE)


async def test_a_removed_account_can_be_connected_again(
    shared: Store, tenant: str, other_tenant: str
) -> None:
    account = _account()
    cid = f"{tenant}-k"
    await shared.connections.add(tenant, cid, KOMBO, account)

    removal = await shared.connections.remove(tenant, cid)
    assert removal is not None
    assert removal.changed
    assert removal.connection.state is ConnectionState.REMOVED
    assert removal.connection.removed_at is not None
    assert await shared.connections.list(tenant) == []
    assert [c.id for c in await shared.connections.list(tenant, include_removed=True)] == [cid]
    assert await shared.connections.find_by_account("kombo", account) is None
    again = await shared.connections.remove(tenant, cid)
    assert again is not None
    assert not again.changed
    assert await shared.connections.remove(other_tenant, cid) is None

    # The same tenant brings it back under its id...
    back = await shared.connections.add(
        tenant, cid, KOMBO, account, state=ConnectionState.PAUSED, name="back"
    )
    assert back.changed
    assert (back.connection.state, back.connection.name) == (ConnectionState.PAUSED, "back")
    assert back.connection.removed_at is None
    await shared.connections.remove(tenant, cid)
    # ...or, once removed, another tenant may connect the account.
    moved = await shared.connections.add(other_tenant, f"{other_tenant}-k", KOMBO, account)
    assert moved.connection.tenant == other_tenant


@dataclass
class _Seen:
    versions: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, tenant: str, version: int) -> None:
        self.versions.append((tenant, version))


async def test_each_change_raises_the_tenants_data_version(shared: Store, tenant: str) -> None:
    seen = _Seen()
    shared.orders.add_version_observer(seen)
    cid = f"{tenant}-k"
    start = await shared.orders.data_version(tenant)

    added = await shared.connections.add(tenant, cid, KOMBO, _account())
    paused = await shared.connections.set_state(tenant, cid, ConnectionState.PAUSED)
    removed = await shared.connections.remove(tenant, cid)
    await shared.connections.remove(tenant, cid)  # a repeat: no change

    assert paused is not None
    assert removed is not None
    versions = [added.data_version, paused.data_version, removed.data_version]
    assert versions[0] is not None
    assert versions[0] > start  # start + 1, or a random first count (store/versions.py)
    assert versions == [versions[0], versions[0] + 1, versions[0] + 2]
    assert seen.versions == [(tenant, v) for v in versions]
    assert await shared.orders.data_version(tenant) == versions[2]


async def test_remove_with_purge_deletes_only_that_connections_orders(
    shared: Store, tenant: str, other_tenant: str
) -> None:
    gone, kept = f"{tenant}-gone", f"{tenant}-kept"
    await shared.connections.add(tenant, gone, KOMBO, _account())
    await shared.connections.add(tenant, kept, KOMBO, _account())
    await shared.orders.ingest(tenant, kept, [kombo_order("k1")], EventSource.POLL)
    before = await shared.orders.ingest(
        tenant, gone, [kombo_order("g1"), kombo_order("g2")], EventSource.POLL
    )
    cursor = shared.orders.event_cursor(tenant, before.events[-1].id)
    await shared.deliveries.enqueue(tenant, order_key(gone, "g1"), gone, {}, now=minutes(0))
    await shared.deliveries.enqueue(tenant, order_key(kept, "k1"), kept, {}, now=minutes(0))
    await shared.sync_state.put(SyncState(gone, cursor="c1"))
    await shared.sync_state.put(SyncState(kept, cursor="c2"))
    # Another tenant's orders under the same connection id (a file connection of its
    # own, say) are not this tenant's to purge.
    await shared.orders.ingest(other_tenant, gone, [kombo_order("o1")], EventSource.POLL)
    version = await shared.orders.data_version(tenant)

    removal = await shared.connections.remove(tenant, gone, purge_orders=True)

    assert removal is not None
    assert (removal.purged_orders, removal.purged_events) == (2, 2)
    assert removal.data_version == version + 1
    assert await shared.orders.count(tenant) == 1
    assert list(await shared.orders.get(tenant, [order_key(kept, "k1")])) == [order_key(kept, "k1")]
    assert [d.connection_id for d in await shared.deliveries.list(tenant)] == [kept]
    assert await shared.sync_state.get(gone) is None
    assert await shared.sync_state.get(kept) is not None
    # A cursor handed out before the purge still reads on, and new events get new ids.
    position = shared.orders.event_position(tenant, cursor)
    later = await shared.orders.ingest(tenant, kept, [kombo_order("k2")], EventSource.POLL)
    assert later.events[0].id > position
    after = await shared.orders.events_after(tenant, position)
    assert [e.order_id for e in after] == [order_key(kept, "k2")]
    assert await shared.orders.count(other_tenant) == 1
    # Purging a removed connection again finds nothing more.
    again = await shared.connections.remove(tenant, gone, purge_orders=True)
    assert again is not None
    assert (again.changed, again.purged_orders, again.data_version) == (False, 0, None)


async def test_remove_without_purge_keeps_the_orders(shared: Store, tenant: str) -> None:
    cid = f"{tenant}-k"
    await shared.connections.add(tenant, cid, KOMBO, _account())
    await shared.orders.ingest(tenant, cid, [kombo_order("a")], EventSource.POLL)

    removal = await shared.connections.remove(tenant, cid)

    assert removal is not None
    assert removal.purged_orders == 0
    assert await shared.orders.count(tenant) == 1


async def test_reads_cost_one_statement(shared: Store, tenant: str) -> None:
    await shared.connections.add(tenant, f"{tenant}-k", KOMBO, _account())
    with statement_budget(100) as budget:
        await shared.connections.get(tenant, f"{tenant}-k")
        await shared.connections.list(tenant)
        await shared.connections.changes_since(0, limit=1)
    assert budget.executed == 3


async def test_changes_since_follows_every_write_in_order(fresh_store: Store) -> None:
    connections = fresh_store.connections
    assert await connections.current_version() == 0
    a = (await connections.add("acme", "a", KOMBO, "1")).connection
    b = (await connections.add("globex", "b", UNIFIED, "2")).connection
    await connections.add("acme", "a", KOMBO, "1")  # a repeat: no new version
    paused = await connections.set_state("acme", "a", ConnectionState.PAUSED)
    removed = await connections.remove("globex", "b")
    assert paused is not None
    assert removed is not None

    feed = await connections.changes_since(0)
    assert [(c.id, c.state) for c in feed] == [
        ("a", ConnectionState.PAUSED),
        ("b", ConnectionState.REMOVED),
    ]
    assert [c.version for c in feed] == [paused.connection.version, removed.connection.version]
    assert a.version < b.version < paused.connection.version < removed.connection.version
    assert await connections.current_version() == removed.connection.version
    assert [c.id for c in await connections.changes_since(paused.connection.version)] == ["b"]
    assert await connections.changes_since(removed.connection.version) == []
    assert [c.id for c in await connections.list_all()] == ["a"]
    assert [c.id for c in await connections.list_all(include_removed=True)] == ["a", "b"]


async def test_concurrent_writers_get_distinct_versions_and_one_owner_per_account(
    fresh_store: Store,
) -> None:
    connections = fresh_store.connections

    async def claim(tenant: str) -> str:
        try:
            await connections.add(tenant, f"{tenant}-shared", KOMBO, "contested")
        except AccountTakenError:
            return "refused"
        return "added"

    outcomes = await asyncio.gather(
        *(claim(f"t{n}") for n in range(6)),
        *(connections.add(f"t{n}", f"t{n}-own", KOMBO, f"own-{n}") for n in range(6)),
    )

    assert sorted(o for o in outcomes if isinstance(o, str)) == ["added"] + ["refused"] * 5
    feed = await connections.changes_since(0)
    assert len(feed) == 7
    assert [c.version for c in feed] == list(range(1, 8))


@dataclass(frozen=True)
class _Entry:
    """A ``[[connections]]`` entry as the import reads it."""

    id: str
    tenant: str
    provider: str
    account: str
    name: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def stored_overrides(self) -> dict[str, Any]:
        return dict(self.overrides)


async def test_file_connections_are_imported_and_follow_the_file(fresh_store: Store) -> None:
    connections = fresh_store.connections
    a = _Entry("a", "acme", "kombo", "k-1", overrides={"read_timeout": 7.0})
    b = _Entry("b", "globex", "unified", "u-1")

    first = await connections.import_file_connections([a, b], now=minutes(0))
    assert (first.added, first.removed) == (("a", "b"), ())
    assert set(first.data_versions) == {"acme", "globex"}
    stored = await connections.get("acme", "a")
    assert stored is not None
    assert (stored.origin, stored.state, stored.overrides) == (
        ConnectionOrigin.FILE,
        ConnectionState.ACTIVE,
        {"read_timeout": 7.0},
    )
    # Every process imports on start: a repeat changes nothing.
    version = await connections.current_version()
    assert await connections.import_file_connections([a, b]) == FileImport()
    assert await connections.current_version() == version

    # An admin's pause survives a restart; the file's name and overrides win.
    await connections.set_state("acme", "a", ConnectionState.PAUSED)
    renamed = _Entry("a", "acme", "kombo", "k-1", name="Acme ATS")
    second = await connections.import_file_connections([renamed], now=minutes(1))
    assert (second.updated, second.removed) == (("a",), ("b",))
    now_a = await connections.get("acme", "a")
    assert now_a is not None
    assert (now_a.state, now_a.name, now_a.overrides) == (ConnectionState.PAUSED, "Acme ATS", {})
    gone = await connections.get("globex", "b")
    assert gone is not None
    assert gone.state is ConnectionState.REMOVED

    # Back in the file: back in service.
    third = await connections.import_file_connections([renamed, b], now=minutes(2))
    assert third.revived == ("b",)
    back = await connections.get("globex", "b")
    assert back is not None
    assert back.state is ConnectionState.ACTIVE
    assert back.removed_at is None
    # Connections from elsewhere are not the file's to remove.
    await connections.add("acme", "api-1", KOMBO, "k-2")
    await connections.import_file_connections([renamed, b])
    api = await connections.get("acme", "api-1")
    assert api is not None
    assert api.state is ConnectionState.ACTIVE


async def test_a_file_connection_may_hand_its_account_to_a_new_id(fresh_store: Store) -> None:
    connections = fresh_store.connections
    await connections.import_file_connections([_Entry("old", "acme", "kombo", "k-1")])

    moved = await connections.import_file_connections([_Entry("new", "acme", "kombo", "k-1")])

    assert (moved.added, moved.removed) == (("new",), ("old",))
    live = await connections.list("acme")
    assert [c.id for c in live] == ["new"]


async def test_file_import_conflicts_write_nothing(fresh_store: Store) -> None:
    connections = fresh_store.connections
    await connections.add("globex", "api", KOMBO, "taken")
    await connections.import_file_connections([_Entry("f", "acme", "kombo", "k-1")])
    version = await connections.current_version()

    with pytest.raises(AccountTakenError):
        await connections.import_file_connections(
            [_Entry("f", "acme", "kombo", "k-1"), _Entry("g", "acme", "kombo", "taken")]
        )
    with pytest.raises(ConnectionConflictError, match="already used by a connection added by API"):
        await connections.import_file_connections([_Entry("api", "globex", "kombo", "other")])
    with pytest.raises(ConnectionConflictError, match="moved from tenant"):
        await connections.import_file_connections([_Entry("f", "globex", "kombo", "k-1")])
    with pytest.raises(ConnectionConflictError, match="same provider account"):
        await connections.import_file_connections(
            [_Entry("f", "acme", "kombo", "k-1"), _Entry("h", "acme", "kombo", "k-1")]
        )
    with pytest.raises(ValueError, match="api_key"):
        await connections.import_file_connections(
            [_Entry("f", "acme", "kombo", "k-1", overrides={"api_key": "s3cr3t"})]
        )

    assert await connections.current_version() == version
    assert [c.id for c in await connections.list_all()] == ["api", "f"]


async def test_settings_connections_import_without_their_secrets(fresh_store: Store) -> None:
    from ordergraph.settings import load_settings

    settings = load_settings(
        environ={},
        overrides={
            "tenants": [{"name": "acme"}],
            "providers": {
                "kombo": {"base_url": "https://k.example", "api_key": "workspace-s3cr3t"}
            },
            "connections": [
                {"id": "a", "tenant": "acme", "provider": "kombo", "account": "k-1"},
                {
                    "id": "b",
                    "tenant": "acme",
                    "provider": "kombo",
                    "account": "k-2",
                    "api_key": "own-s3cr3t",
                    "webhook_secret": "hook-s3cr3t",
                    "base_url": "https://eu.k.example",
                    "max_attempts": 2,
                },
            ],
        },
    )

    await fresh_store.connections.import_file_connections(settings.connections)

    stored = {c.id: c for c in await fresh_store.connections.list("acme")}
    assert stored["a"].overrides == {}
    assert stored["b"].overrides == {"base_url": "https://eu.k.example", "max_attempts": 2}
    async with fresh_store.engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT * FROM connections"))).all()
    assert "s3cr3t" not in repr(rows)


async def test_a_removed_connections_late_news_is_not_kept(shared: Store, tenant: str) -> None:
    # given a connection whose orders and sync state were purged with it
    gone = f"{tenant}-late"
    await shared.connections.add(tenant, gone, KOMBO, _account())
    await shared.orders.ingest(tenant, gone, [kombo_order("l1")], EventSource.POLL)
    await shared.connections.remove(tenant, gone, purge_orders=True)
    # when a poll that began before the removal ends after it
    late = await shared.orders.ingest(tenant, gone, [kombo_order("l2")], EventSource.POLL)
    await shared.sync_state.put(SyncState(gone, cursor="late"))
    # then nothing of it is kept: the purge stays a purge
    assert not late.changed
    assert await shared.orders.count(tenant) == 0
    assert await shared.sync_state.get(gone) is None
    # and once the connection is added again, its news is kept as before
    await shared.connections.add(
        tenant, gone, KOMBO, (await shared.connections.get(tenant, gone)).account
    )  # type: ignore[union-attr]
    again = await shared.orders.ingest(tenant, gone, [kombo_order("l3")], EventSource.POLL)
    assert again.changed
