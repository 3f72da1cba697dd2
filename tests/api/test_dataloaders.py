"""Few upstream calls (DESIGN §6): the dashboard query costs one package list per
connection on a cold cache and none when warm, never a call per order; and resolving
many orders costs the store a constant number of queries, not one per order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from ordergraph.sandbox.core import SandboxContext
from tests.api.conftest import Api
from tests.api.helpers import DASHBOARD, fill_index, gid, node_key, package_list_calls
from tests.conftest import Sandbox


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=7, orders_per_account=12)


async def _upstream_requests(sandbox: Sandbox) -> int:
    return int((await sandbox.stats())["total"])


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after}


async def _dashboard(api: Api, first: int, tenant: str = "acme") -> list[dict[str, Any]]:
    body = await api.query(DASHBOARD, {"first": first}, tenant=tenant)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["orders"]["edges"]]


async def test_dashboard_lists_packages_once_per_connection_cold_and_never_warm(
    api: Api, sandbox: Sandbox
) -> None:
    # given both tenants indexed (28 orders each over three connections) and a cold cache
    counts = await fill_index(api, sandbox)
    lists_before = await package_list_calls(sandbox)
    requests_before = await _upstream_requests(sandbox)

    # when acme's dashboard is loaded
    orders = await _dashboard(api, 50)

    # then every order came with its package name, for one package list per connection
    assert len(orders) == sum(n for c, n in counts.items() if c.startswith("acme-"))
    assert {o["provider"] for o in orders} == {"UNIFIED", "STACKONE", "KOMBO"}
    assert all(o["package"]["name"] for o in orders)
    assert _delta(await package_list_calls(sandbox), lists_before) == {
        "unified": 1,
        "stackone": 1,
        "kombo": 1,
    }
    # and nothing else upstream: no call per order
    assert await _upstream_requests(sandbox) - requests_before == 3

    # when the dashboard is loaded again: a different `first` on purpose, because a
    # whole-response cache would answer an identical repeat without executing anything,
    # and this must measure the package cache, not the response cache
    warm_before = await _upstream_requests(sandbox)
    again = await _dashboard(api, 49)

    # then the package names come from the cache: no upstream request at all
    assert [o["package"]["name"] for o in again] == [o["package"]["name"] for o in orders][:49]
    assert await _upstream_requests(sandbox) == warm_before

    # and the cache is per tenant: globex's first dashboard lists its own connections once
    globex_before = await package_list_calls(sandbox)
    await _dashboard(api, 50, tenant="globex")
    assert _delta(await package_list_calls(sandbox), globex_before) == {
        "unified": 1,
        "stackone": 1,
        "kombo": 1,
    }


async def test_package_names_of_a_small_and_a_large_page_cost_the_same(
    api: Api, sandbox: Sandbox
) -> None:
    # given both tenants indexed
    await fill_index(api, sandbox)
    costs = []
    for tenant, first in (("acme", 2), ("globex", 50)):
        # when a cold dashboard of 2 orders, then one of every order, is loaded
        before = await _upstream_requests(sandbox)
        orders = await _dashboard(api, first, tenant=tenant)
        assert len(orders) == min(first, 28)
        costs.append(await _upstream_requests(sandbox) - before)
    # then 25 times the orders cost no more upstream requests (one list per connection)
    small, large = costs
    assert small <= large <= 3


@contextmanager
def _order_queries(api: Api) -> Iterator[list[str]]:
    """Statements that read the orders table while the block runs."""
    seen: list[str] = []
    engine = api.services.store.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM orders" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_many_orders_by_id_cost_one_store_query(api: Api, sandbox: Sandbox) -> None:
    # given acme's orders and their ids
    await fill_index(api, sandbox)
    everything = await _dashboard(api, 50)
    ids = [o["id"] for o in everything]
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Order {
        status candidate { name } package { name } } } }"""
    await api.query(query, {"ids": ids[:1]})  # warm the connection pool

    queries = []
    for chosen in (ids[:2], ids, [*ids, gid("Order", "acme-kombo:missing")]):
        # when orders are resolved by id, 2 then all of them (and one missing)
        with _order_queries(api) as seen:
            body = await api.query(query, {"ids": chosen})
        nodes = body["data"]["nodes"]
        assert [n["id"] if n else None for n in nodes] == [i if i in ids else None for i in chosen]
        queries.append(len(seen))
    # then every batch is one store query, however many orders it holds
    assert queries == [1, 1, 1]


async def test_candidate_pages_cost_the_same_store_queries_at_any_size(
    api: Api, sandbox: Sandbox
) -> None:
    # given acme's candidates
    await fill_index(api, sandbox)
    query = """query($n: Int!) { candidates(first: $n) { totalCount
        edges { node { id name emails } } } }"""
    await api.query(query, {"n": 1})  # warm the connection pool
    queries = []
    for size in (2, 25):
        # when a small and a large page of candidates is read
        with _order_queries(api) as seen:
            body = await api.query(query, {"n": size})
        assert len(body["data"]["candidates"]["edges"]) == size
        queries.append(len(seen))
    # then both cost the same number of store queries
    assert queries[0] == queries[1] <= 4


@contextmanager
def _event_queries(api: Api) -> Iterator[list[str]]:
    """Statements that read the event log while the block runs."""
    seen: list[str] = []
    engine = api.services.store.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM order_events" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("events", ["first: 5", "last: 5"])
async def test_a_page_of_orders_reads_all_their_events_in_one_query(
    api: Api, sandbox: Sandbox, events: str
) -> None:
    # given acme's orders, each with its creation event
    await fill_index(api, sandbox)
    query = """query($n: Int!) { orders(first: $n) { edges { node { id
        events(EVENTS) { edges { cursor node { newStatus } } pageInfo { hasNextPage } }
    } } } }""".replace("EVENTS", events)
    await api.query(query, {"n": 1})  # warm the connection pool
    counts = []
    for size in (2, 25):
        # when a small and a large page asks for every order's events
        with _event_queries(api) as seen:
            body = await api.query(query, {"n": size})
        assert "errors" not in body, body
        edges = body["data"]["orders"]["edges"]
        assert len(edges) == size
        assert all(e["node"]["events"]["edges"] for e in edges)
        counts.append(len(seen))
    # then the events of the whole page are one query, whatever its size or direction
    assert counts == [1, 1]


async def test_candidates_and_jobs_by_id_cost_one_store_query_per_kind(
    api: Api, sandbox: Sandbox
) -> None:
    # given acme's candidates and jobs (those with an email and a job id)
    await fill_index(api, sandbox)
    everything = await _dashboard(api, 50)
    listed = """{ orders(first: 50) { edges { node { candidate { id } job { id } } } } }"""
    body = await api.query(listed)
    nodes = [e["node"] for e in body["data"]["orders"]["edges"]]
    candidates = list(dict.fromkeys(n["candidate"]["id"] for n in nodes if n["candidate"]))
    jobs = list(dict.fromkeys(n["job"]["id"] for n in nodes if n["job"]))
    assert len(candidates) > 5, (len(candidates), len(everything))
    assert len(jobs) > 5, (len(jobs), len(everything))
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { id
        ... on Candidate { emails } ... on Job { title } } }"""
    await api.query(query, {"ids": candidates[:1]})  # warm the connection pool

    for chosen in (candidates[:2], candidates, jobs[:2], jobs, candidates + jobs):
        # when they are resolved by id, few then many (then both kinds at once)
        with _order_queries(api) as seen:
            body = await api.query(query, {"ids": chosen})
        assert "errors" not in body, body
        assert [n["id"] for n in body["data"]["nodes"]] == chosen
        kinds = {node_key(i).split(":")[0] for i in chosen}
        # then each kind of key is one store query, however many ids it holds
        assert len(seen) == len(kinds), (kinds, len(seen))
