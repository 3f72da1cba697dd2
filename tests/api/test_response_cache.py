"""The whole-response cache: repeats skip execution; ingestion invalidates exactly.

Executions are counted by wrapping the schema's ``execute`` and the store's ``page``;
provider calls by the sandbox's request counter. The ``X-Ordergraph-Cache`` header
says what happened (hit / miss / bypass).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from ordergraph.api import GRAPHQL_HTTP, add_graphql_routes
from ordergraph.api.http import CACHE_HEADER
from ordergraph.api.response_cache import LocalEntries
from ordergraph.data_versions import DataVersions
from ordergraph.schema import schema as default_schema
from ordergraph.server import create_app
from ordergraph.store import EventSource, Store
from tests.api.conftest import CURSOR_SECRET, EXTRA_KEYS, KEYS, Api
from tests.api.helpers import deliver_unified, gid, unified_order
from tests.conftest import Sandbox

T0 = datetime(2024, 5, 1, tzinfo=UTC)

ORDERS = """
query Orders($first: Int) {
  orders(first: $first) { totalCount edges { node { remoteId status } } }
}
"""


@dataclass
class Reply:
    status: int
    cache: str | None
    body: dict[str, Any]
    text: str
    etag: str | None = field(default=None, compare=False)


async def ask(
    api: Api,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    tenant: str = "acme",
    headers: dict[str, str] | None = None,
) -> Reply:
    async with api.session.post(
        f"{api.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {KEYS[tenant]}", **(headers or {})},
    ) as response:
        text = await response.text()
        body = json.loads(text) if text else {}
        return Reply(
            response.status,
            response.headers.get(CACHE_HEADER),
            body,
            text,
            response.headers.get("ETag"),
        )


@dataclass
class Counter:
    """Calls of the wrapped coroutine functions, by name."""

    calls: dict[str, int] = field(default_factory=dict)

    def wrap(
        self, name: str, function: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return await function(*args, **kwargs)

        return counted

    def __getitem__(self, name: str) -> int:
        return self.calls.get(name, 0)


@pytest.fixture
def counter(api: Api, monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    orders = api.services.store.orders
    monkeypatch.setattr(orders, "page", counter.wrap("page", orders.page))
    monkeypatch.setattr(default_schema, "execute", counter.wrap("execute", default_schema.execute))
    return counter


async def deliver(api: Api, connection_id: str, remote_id: str, status: str = "OPEN") -> None:
    created = T0 + timedelta(minutes=len(remote_id))
    order = unified_order(
        remote_id, created_at=created, status=status, updated_at=datetime.now(UTC)
    )
    await deliver_unified(api, connection_id, [order])


async def test_a_repeat_is_a_hit_without_execution_store_or_provider_calls(
    api: Api, sandbox: Sandbox, counter: Counter
) -> None:
    await deliver(api, "acme-unified", "A-1")
    query = """
    query Dash($id: ID!) {
      orders { edges { node { remoteId package { name } } } }
      packages(connectionId: $id) { remoteId name }
    }
    """
    variables = {"id": gid("ProviderConnection", "acme-unified")}
    first = await ask(api, query, variables)
    assert first.cache == "miss"
    assert "errors" not in first.body, first.body
    assert counter["execute"] == 1
    assert counter["page"] == 1
    before = await sandbox.stats()

    for _ in range(3):
        again = await ask(api, query, variables)
        assert again.status == 200
        assert again.cache == "hit"
        assert again.text == first.text
    assert counter["execute"] == 1
    assert counter["page"] == 1
    assert (await sandbox.stats())["total"] == before["total"]


async def test_ingestion_for_the_tenant_makes_the_next_request_a_miss_with_fresh_data(
    api: Api, counter: Counter
) -> None:
    await deliver(api, "acme-unified", "A-1")
    first = await ask(api, ORDERS)
    assert first.cache == "miss"
    assert await ask(api, ORDERS) == Reply(200, "hit", first.body, first.text)

    await deliver(api, "acme-unified", "A-1", status="COMPLETED")
    fresh = await ask(api, ORDERS)
    assert fresh.cache == "miss"
    assert fresh.body["data"]["orders"]["edges"][0]["node"]["status"] == "COMPLETED"
    await deliver(api, "acme-unified", "A-2")
    newer = await ask(api, ORDERS)
    assert newer.cache == "miss"
    assert newer.body["data"]["orders"]["totalCount"] == 2
    assert (await ask(api, ORDERS)).cache == "hit"
    assert counter["execute"] == 3


async def test_an_ingestion_that_changes_nothing_keeps_the_entry(api: Api) -> None:
    order = unified_order("A-1", created_at=T0)
    await deliver_unified(api, "acme-unified", [order])
    assert (await ask(api, ORDERS)).cache == "miss"
    await deliver_unified(api, "acme-unified", [order])  # the same order again: no change
    assert (await ask(api, ORDERS)).cache == "hit"


async def test_ingestion_for_another_tenant_leaves_this_tenants_entries(api: Api) -> None:
    await deliver(api, "acme-unified", "A-1")
    assert (await ask(api, ORDERS)).cache == "miss"
    await deliver(api, "globex-unified", "G-1")
    assert (await ask(api, ORDERS)).cache == "hit"
    theirs = await ask(api, ORDERS, tenant="globex")
    assert theirs.cache == "miss"
    assert [e["node"]["remoteId"] for e in theirs.body["data"]["orders"]["edges"]] == ["G-1"]


async def test_tenants_never_share_an_entry(api: Api) -> None:
    await deliver(api, "acme-unified", "A-1")
    await deliver(api, "globex-unified", "G-1")
    mine = await ask(api, ORDERS)
    theirs = await ask(api, ORDERS, tenant="globex")
    assert (mine.cache, theirs.cache) == ("miss", "miss")
    assert mine.body != theirs.body
    assert (await ask(api, ORDERS, tenant="globex")).body == theirs.body


async def test_different_variables_are_different_entries(api: Api) -> None:
    await deliver(api, "acme-unified", "A-1")
    await deliver(api, "acme-unified", "A-22")
    one = await ask(api, ORDERS, {"first": 1})
    two = await ask(api, ORDERS, {"first": 2})
    assert (one.cache, two.cache) == ("miss", "miss")
    assert len(one.body["data"]["orders"]["edges"]) == 1
    assert len(two.body["data"]["orders"]["edges"]) == 2
    assert (await ask(api, ORDERS, {"first": 1})).body == one.body
    assert (await ask(api, ORDERS, {"first": 2})).cache == "hit"


async def test_get_and_post_of_the_same_request_share_an_entry(api: Api) -> None:
    assert (await ask(api, ORDERS)).cache == "miss"
    async with api.session.get(
        f"{api.url}/graphql",
        params={"query": ORDERS},
        headers={"Authorization": f"Bearer {KEYS['acme']}"},
    ) as response:
        assert response.headers[CACHE_HEADER] == "hit"


async def test_responses_with_errors_are_not_cached(api: Api, counter: Counter) -> None:
    query = "{ orders(first: 100000) { edges { cursor } } }"
    for _ in range(2):
        reply = await ask(api, query)
        assert reply.cache == "miss"
        assert reply.body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"
    assert counter["execute"] == 2


async def test_a_provider_failure_is_not_cached(api: Api, sandbox: Sandbox) -> None:
    query = "query P($id: ID!) { packages(connectionId: $id) { remoteId } }"
    variables = {"id": gid("ProviderConnection", "acme-kombo")}
    await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
    failed = await ask(api, query, variables)
    assert failed.cache == "miss"
    assert failed.body["errors"]
    await sandbox.faults({})
    recovered = await ask(api, query, variables)
    assert recovered.cache == "miss"
    assert "errors" not in recovered.body
    assert (await ask(api, query, variables)).cache == "hit"


async def test_sync_status_is_never_cached(api: Api, counter: Counter) -> None:
    query = "{ connections { id syncStatus { lastError webhookRegistered } } }"
    assert [(await ask(api, query)).cache for _ in range(2)] == ["bypass", "bypass"]
    fragment = """
    query N($id: ID!) { node(id: $id) { ...Sync } }
    fragment Sync on ProviderConnection { syncStatus { lastSyncedAt } }
    """
    variables = {"id": gid("ProviderConnection", "acme-kombo")}
    assert [(await ask(api, fragment, variables)).cache for _ in range(2)] == ["bypass", "bypass"]
    assert counter["execute"] == 4
    assert (await ask(api, "{ connections { id } }")).cache == "miss"
    assert (await ask(api, "{ connections { id } }")).cache == "hit"


async def test_no_cache_request_header_bypasses_the_lookup(api: Api, counter: Counter) -> None:
    await deliver(api, "acme-unified", "A-1")
    assert (await ask(api, ORDERS)).cache == "miss"
    forced = await ask(api, ORDERS, headers={"Cache-Control": "no-cache"})
    assert forced.cache == "bypass"
    assert counter["execute"] == 2
    assert (await ask(api, ORDERS, headers={"Cache-Control": "no-store"})).cache == "bypass"
    assert (await ask(api, ORDERS)).cache == "hit"


async def test_each_entry_is_written_to_the_shared_cache_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    shared = api.services.cache
    original = shared.set

    async def counted(key: str, value: Any, ttl: float) -> None:
        if ":responses:" in key:
            writes.append(key)
        await original(key, value, ttl)

    monkeypatch.setattr(shared, "set", counted)
    await deliver(api, "acme-unified", "A-1")

    assert (await ask(api, ORDERS)).cache == "miss"
    for _ in range(3):  # executed every time, the same content under the same key
        assert (await ask(api, ORDERS, headers={"Cache-Control": "no-cache"})).cache == "bypass"
    await deliver(api, "acme-unified", "A-2")
    assert (await ask(api, ORDERS, headers={"Cache-Control": "no-cache"})).cache == "bypass"
    assert (await ask(api, ORDERS)).cache == "hit"

    for _ in range(100):  # the shared writes land in the background
        if len(writes) >= 2:
            break
        await asyncio.sleep(0.01)
    assert len(writes) == len(set(writes)) == 2


async def test_mutations_bypass_and_invalidate_the_tenants_entries(api: Api) -> None:
    if default_schema.as_str().find("type Mutation") < 0:
        pytest.skip("the schema has no Mutation type")
    assert (await ask(api, ORDERS)).cache == "miss"
    assert (await ask(api, ORDERS, tenant="globex")).cache == "miss"
    mutation = await ask(api, "mutation { __typename }")
    assert mutation.cache == "bypass"
    assert mutation.body == {"data": {"__typename": "Mutation"}}
    assert (await ask(api, ORDERS)).cache == "miss"
    assert (await ask(api, ORDERS)).cache == "hit"
    assert (await ask(api, ORDERS, tenant="globex")).cache == "hit"


async def test_a_hit_answers_in_the_negotiated_media_type(api: Api) -> None:
    assert (await ask(api, ORDERS)).cache == "miss"
    for accept in ("application/graphql-response+json", "application/json"):
        hit = await ask(api, ORDERS, headers={"Accept": accept})
        assert hit.cache == "hit"
        assert hit.status == 200
    async with api.session.post(
        f"{api.url}/graphql",
        json={"query": ORDERS},
        headers={
            "Authorization": f"Bearer {KEYS['acme']}",
            "Accept": "application/graphql-response+json",
        },
    ) as response:
        assert response.headers[CACHE_HEADER] == "hit"
        assert response.content_type == "application/graphql-response+json"


async def test_the_cache_can_be_switched_off(api: Api) -> None:
    server_settings = api.services.settings.server.model_copy(update={"response_cache": False})
    settings = api.services.settings.model_copy(update={"server": server_settings})
    services = dataclasses.replace(api.services, settings=settings)
    app = create_app(services, background=False)
    add_graphql_routes(app)
    assert app[GRAPHQL_HTTP].response_cache is None
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        off = Api(str(server.make_url("")).rstrip("/"), services, api.session)
        assert [(await ask(off, ORDERS)).cache for _ in range(2)] == ["bypass", "bypass"]
    finally:
        await server.close()


async def test_empty_variables_and_none_share_an_entry(api: Api) -> None:
    assert (await ask(api, ORDERS, {})).cache == "miss"
    assert (await ask(api, ORDERS, None)).cache == "hit"
    assert (await api.query(ORDERS)) == (await ask(api, ORDERS)).body


# --- in-memory data versions: exact within a process, bounded across processes ----------


@pytest.fixture
def versions_read(api: Api, monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts store reads of the data version (a hit must make none)."""
    counter = Counter()
    orders = api.services.store.orders
    monkeypatch.setattr(orders, "data_version", counter.wrap("version", orders.data_version))
    return counter


def the_versions(api: Api) -> DataVersions:
    """The in-memory versions of the test app's response cache (it observes the store)."""
    for observer in api.services.store.orders._version_observers:
        owner = getattr(observer, "__self__", None)
        if isinstance(owner, DataVersions):
            return owner
    raise AssertionError("no response cache is observing the store")


async def test_hits_read_no_data_version_from_the_store_within_the_bound(
    api: Api, versions_read: Counter
) -> None:
    await deliver(api, "acme-unified", "A-1")
    assert (await ask(api, ORDERS)).cache == "miss"
    reads = versions_read["version"]
    for _ in range(20):
        assert (await ask(api, ORDERS)).cache == "hit"
    assert versions_read["version"] == reads  # the version came from memory


async def test_a_write_of_this_process_is_never_hidden_even_with_a_long_bound(
    api: Api,
) -> None:
    versions = the_versions(api)
    versions.confirm_within = 3600.0  # only this process's own feed can tell it
    await deliver(api, "acme-unified", "A-1")
    assert (await ask(api, ORDERS)).cache == "miss"
    assert (await ask(api, ORDERS)).cache == "hit"
    # Straight through the store (no broker publish): the store's observer tells it.
    result = await api.services.store.orders.ingest(
        "acme",
        "acme-unified",
        [unified_order("A-2", created_at=T0)],
        EventSource.WEBHOOK,
    )
    assert result.changed
    fresh = await ask(api, ORDERS)
    assert fresh.cache == "miss"
    assert fresh.body["data"]["orders"]["totalCount"] == 2


async def test_another_process_write_is_seen_at_the_latest_after_the_bound(
    api: Api, fresh_store_url: str
) -> None:
    versions = the_versions(api)
    versions.confirm_within = 0.5
    await deliver(api, "acme-unified", "A-1")
    assert (await ask(api, ORDERS)).cache == "miss"
    # Another process: its own store handle, and no wake-up reaches this one.
    other = await Store.open(fresh_store_url, cursor_secret=CURSOR_SECRET)
    try:
        await other.orders.ingest(
            "acme", "acme-unified", [unified_order("A-2", created_at=T0)], EventSource.WEBHOOK
        )
    finally:
        await other.close()
    started = asyncio.get_running_loop().time()
    while True:
        reply = await ask(api, ORDERS)
        elapsed = asyncio.get_running_loop().time() - started
        if reply.cache == "miss":
            assert reply.body["data"]["orders"]["totalCount"] == 2
            break
        assert reply.body["data"]["orders"]["totalCount"] == 1
        # Never hidden past the bound (a little slack for the request itself).
        assert elapsed < 0.5 + 0.5, elapsed
        await asyncio.sleep(0.05)


async def test_shutdown_lets_a_read_ahead_finish_before_the_store_closes(api: Api) -> None:
    orders = api.services.store.orders
    read = orders.data_version
    ended: list[str] = []

    async def slow_read(tenant: str) -> int:
        try:
            await asyncio.sleep(0.1)
            return await read(tenant)
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise
        finally:
            ended.append("finished")

    orders.data_version = slow_read  # type: ignore[method-assign]
    try:
        app = create_app(api.services, background=False)
        add_graphql_routes(app)
    finally:
        del orders.data_version
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    cached = Api(str(server.make_url("")).rstrip("/"), api.services, api.session, app)
    try:
        versions = app[GRAPHQL_HTTP].response_cache
        assert versions is not None
        versions.versions.confirm_within = 1.0
        assert (await ask(cached, ORDERS)).cache == "miss"  # waited for the first read
        await asyncio.sleep(0.8)  # past three quarters of the bound: the next read starts
        assert (await ask(cached, ORDERS)).cache == "hit"  # ahead, without this request
        assert ended == ["finished"]
    finally:
        await server.close()
    # The read under way at shutdown ran to its end (a cancelled database read leaves
    # its pooled connection to be torn down after the store closed).
    assert ended == ["finished", "finished"]


async def test_a_wake_up_carrying_a_version_makes_the_next_request_fresh(api: Api) -> None:
    versions = the_versions(api)
    versions.confirm_within = 3600.0
    await deliver(api, "acme-unified", "A-1")
    assert (await ask(api, ORDERS)).cache == "miss"
    # What the Redis broker does on another process's wake-up: the version arrives.
    stamp = await versions.stamp("acme")
    versions.observe("acme", stamp.version + 1)
    assert (await ask(api, ORDERS)).cache == "miss"


async def test_etag_and_if_none_match_answer_304_until_the_data_changes(api: Api) -> None:
    await deliver(api, "acme-unified", "A-1")
    first = await ask(api, ORDERS)
    assert first.cache == "miss"
    assert first.etag is not None
    hit = await ask(api, ORDERS)
    assert (hit.cache, hit.etag) == ("hit", first.etag)

    not_modified = await ask(api, ORDERS, headers={"If-None-Match": first.etag})
    assert not_modified.status == 304
    assert not_modified.text == ""
    assert not_modified.etag == first.etag
    # Weak form and a list are understood too.
    listed = await ask(api, ORDERS, headers={"If-None-Match": f'"nope", W/{first.etag}'})
    assert listed.status == 304

    await deliver(api, "acme-unified", "A-1", status="COMPLETED")
    changed = await ask(api, ORDERS, headers={"If-None-Match": first.etag})
    assert changed.status == 200
    assert changed.etag not in (None, first.etag)
    assert changed.body["data"]["orders"]["edges"][0]["node"]["status"] == "COMPLETED"


async def test_no_304_for_another_tenant_or_another_scope(api: Api) -> None:
    await deliver(api, "acme-unified", "A-1")
    await deliver(api, "globex-unified", "A-1")  # the same remote id and shape
    acme = await ask(api, ORDERS)
    assert acme.etag is not None
    theirs = await ask(api, ORDERS, tenant="globex", headers={"If-None-Match": acme.etag})
    assert theirs.status == 200
    assert theirs.etag != acme.etag
    narrower = [k for k, scopes in EXTRA_KEYS.get("acme", {}).items() if "pii" not in scopes]
    if not narrower:
        pytest.skip("no acme key without the pii scope in the test keys")
    async with api.session.post(
        f"{api.url}/graphql",
        json={"query": ORDERS},
        headers={"Authorization": f"Bearer {narrower[0]}", "If-None-Match": acme.etag},
    ) as response:
        assert response.status == 200
        assert response.headers.get("ETag") not in (None, acme.etag)


async def test_a_mutation_makes_a_held_etag_stale(api: Api) -> None:
    first = await ask(api, ORDERS)
    assert (await ask(api, ORDERS, headers={"If-None-Match": first.etag or ""})).status == 304
    await ask(api, "mutation { __typename }")
    again = await ask(api, ORDERS, headers={"If-None-Match": first.etag or ""})
    assert again.status == 200
    assert again.cache == "miss"


async def test_no_cache_requests_never_get_a_304(api: Api) -> None:
    first = await ask(api, ORDERS)
    bypass = await ask(
        api, ORDERS, headers={"If-None-Match": first.etag or "", "Cache-Control": "no-cache"}
    )
    assert bypass.status == 200
    assert bypass.cache == "bypass"


# --- DataVersions and LocalEntries on their own -----------------------------------------


class SlowStore:
    """A store whose version read waits until released (a read in flight)."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.release = asyncio.Event()
        self.reads = 0

    async def read_version(self, tenant: str) -> int:
        self.reads += 1
        value = self.version  # what the read sees when it starts
        await self.release.wait()
        return value

    async def read_epoch(self, tenant: str) -> str:
        return "epoch-in-cache"


async def test_a_write_committed_during_the_first_read_is_not_lost() -> None:
    store = SlowStore(version=4)
    versions = DataVersions(
        read_version=store.read_version, read_epoch=store.read_epoch, confirm_within=3600
    )
    reading = asyncio.ensure_future(versions.stamp("acme"))
    await asyncio.sleep(0)
    versions.observe("acme", 5)  # this process committed while the read was in flight
    versions.set_epoch("acme", "epoch-set-here")
    store.release.set()
    stamp = await reading
    assert (stamp.version, stamp.epoch) == (5, "epoch-set-here")
    assert await versions.stamp("acme") == stamp
    assert store.reads == 1


async def test_versions_only_grow_and_forget_forces_a_read() -> None:
    store = SlowStore(version=7)
    store.release.set()
    versions = DataVersions(
        read_version=store.read_version, read_epoch=store.read_epoch, confirm_within=3600
    )
    assert (await versions.stamp("acme")).version == 7
    versions.observe("acme", 6)  # an older wake-up arriving late
    assert (await versions.stamp("acme")).version == 7
    store.version = 9
    versions.forget("acme")
    assert (await versions.stamp("acme")).version == 9
    assert store.reads == 2


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def known_at_version_1() -> tuple[SlowStore, Clock, DataVersions]:
    """Versions with a 10 s bound that read version 1 at t=100 (waited for: nothing was
    known); the store's next reads hang until ``release`` is set."""
    store, clock = SlowStore(version=1), Clock()
    store.release.set()
    versions = DataVersions(
        read_version=store.read_version,
        read_epoch=store.read_epoch,
        confirm_within=10,
        clock=clock,
    )
    assert (await versions.stamp("acme")).version == 1
    store.release.clear()
    return store, clock, versions


async def test_the_next_read_starts_ahead_of_the_bound_and_nobody_waits_for_it() -> None:
    store, clock, versions = await known_at_version_1()
    store.version = 2
    clock.now = 106.0  # within three quarters of the bound: no read
    assert (await versions.stamp("acme")).version == 1
    assert store.reads == 1
    clock.now = 108.0  # past them: a read starts, and this request does not wait for it
    assert (await asyncio.wait_for(versions.stamp("acme"), 1)).version == 1
    await _settle()
    assert (await asyncio.wait_for(versions.stamp("acme"), 1)).version == 1
    assert store.reads == 2  # one read at a time
    store.release.set()
    await _settle()
    assert (await versions.stamp("acme")).version == 2
    clock.now = 114.0  # the bound counts from when that read began (108)
    await versions.stamp("acme")
    assert store.reads == 2


async def test_past_the_bound_a_request_waits_for_the_read() -> None:
    store, clock, versions = await known_at_version_1()
    store.version = 2
    clock.now = 111.0  # nobody asked in time to read ahead: the copy is past its bound
    waiting = asyncio.ensure_future(versions.stamp("acme"))
    await _settle()
    assert not waiting.done()
    store.release.set()
    assert (await waiting).version == 2


async def test_a_read_begun_before_a_forget_is_not_joined_after_it() -> None:
    store, clock, versions = await known_at_version_1()
    store.version = 2
    clock.now = 108.0
    await versions.stamp("acme")  # a read ahead begins: it sees version 2
    await _settle()
    store.version = 3  # committed elsewhere; its wake-up lost
    versions.forget("acme")
    waiting = asyncio.ensure_future(versions.stamp("acme"))
    await _settle()
    assert store.reads == 3
    store.release.set()
    assert (await waiting).version == 3


async def test_a_read_ahead_that_fails_leaves_the_failure_to_the_next_waiting_read() -> None:
    clock = Clock()
    failing = False

    async def read_version(tenant: str) -> int:
        if failing:
            raise ConnectionError("store away")
        return 1

    async def read_epoch(tenant: str) -> str:
        return ""

    versions = DataVersions(
        read_version=read_version, read_epoch=read_epoch, confirm_within=10, clock=clock
    )
    await versions.stamp("acme")
    failing = True
    clock.now = 108.0
    assert (await versions.stamp("acme")).version == 1  # the read ahead fails unseen
    await _settle()
    clock.now = 111.0
    with pytest.raises(ConnectionError):
        await versions.stamp("acme")


def test_local_entries_hold_to_their_count_and_byte_bounds() -> None:
    entries = LocalEntries(capacity=3, max_bytes=80)
    for index in range(4):
        entries.put(f"k{index}", b"x" * 10, ttl=60)
    assert entries.get("k0") is None  # the least recently used went first
    assert len(entries) == 3
    entries.put("big", b"y" * 11, ttl=60)  # over max_bytes / 8: not kept locally
    assert entries.get("big") is None
    entries.put("k1", b"z" * 10, ttl=0)
    assert entries.get("k1") is None  # expired
    assert entries.bytes == 20
