"""A per-operation budget of store statements (``limits.max_store_statements``).

Statements are counted on the real engine (SQLAlchemy ``before_cursor_execute``), on
SQLite and PostgreSQL. The budget's own listener is the engine's first: it refuses a
statement by raising before any later listener (these tests') sees it, so what the
tests count is exactly what reached the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bench.dashboard_bench import DASHBOARD as BENCH_DASHBOARD
from ordergraph.sandbox.core import SandboxContext
from ordergraph.settings import LimitSettings
from ordergraph.store import OrderFilter
from ordergraph.store.budget import STORE_BUDGET_EXCEEDED
from ordergraph.store.engine import UNBUDGETED_OPTION
from tests.api.conftest import KEYS, Api
from tests.api.helpers import (
    DASHBOARD,
    deliver_unified,
    error_codes,
    fill_index,
    gid,
    unified_order,
)
from tests.api.mutation_support import new_order_input, offered_package
from tests.api.ws_client import connect
from tests.conftest import Sandbox

# Every field of a page of orders, each nested connection included: the heaviest
# legitimate read of one page (its statements are quoted in the README's limits).
FULL_PAGE = """
query FullPage($first: Int!) {
  orders(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id remoteId provider status providerStatus createdAt createdAtFromProvider
        updatedAt ingestedAt testUrl targetUrl redirectUrl
        connection { id provider account capabilities
          syncStatus { lastSyncedAt lastError webhookRegistered } }
        candidate {
          id remoteId firstName lastName name emails phones profileUrl dateOfBirth
          nationalIdentifier ipAddress gender addresses { city region postalCode country }
          orders(first: 5) { totalCount edges { node { id status } } }
        }
        job {
          id remoteId title code description
          location { city region postalCode country raw }
          hiringTeam { remoteId firstName lastName email roles }
          orders(first: 5) { totalCount edges { node { id status } } }
        }
        application { remoteId status }
        package { id remoteId name description type }
        requester { remoteId firstName lastName email roles }
        result {
          status providerStatus score maxScore url startedAt completedAt summary
          attributes { type label value score maxScore status reference }
          attachments { url name contentType }
        }
        resultDelivery { state attempts lastError nextAttemptAt submittedAt updatedAt }
        events(first: 10) { edges { cursor node { previousStatus newStatus source occurredAt } } }
      }
    }
  }
}
"""
NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Order {
    status candidate { name } job { title } package { name } } } }"""
# Each candidate's own page of orders is a read (rows, then its count) per candidate.
# The outer page has no totalCount: its count would race the candidates' reads for the
# budget, and a refused count (non-null) would null the whole answer.
CANDIDATE_PAGES = """
query CandidatePages($first: Int!) {
  orders(first: $first) {
    edges { node { id candidate { name orders(first: 2) { totalCount } } } }
  }
}
"""
EVENTS = """
subscription Events {
  orderEvents {
    newStatus
    order { id candidate { name orders(first: 2) { totalCount } } }
  }
}
"""
SMALL_BUDGET = 5
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def sandbox_context() -> SandboxContext:
    # Enough orders for a full page of 100 for one tenant.
    return SandboxContext(seed=11, orders_per_account=50)


@contextmanager
def executed_statements(api: Api) -> Iterator[list[str]]:
    """Statements the operations run while the block ran reached the database with.

    Not counted, as the budget does not count them: transaction control, the response
    cache's read of the tenant's data version, which the HTTP transport makes before the
    operation starts (at most once per process and tenant), and the statements a read
    marks as part of itself (a page's fetch of documents it has not read before).
    """
    seen: list[str] = []
    engine = api.services.store.engine.sync_engine

    def record(
        _conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, *_: Any
    ) -> None:
        if statement.lstrip().upper().startswith("BEGIN") or "FROM tenant_state" in statement:
            return
        if context is not None and context.execution_options.get(UNBUDGETED_OPTION):
            return
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("api", [{"max_store_statements": SMALL_BUDGET}], indirect=True)
async def test_a_request_over_its_budget_gets_the_coded_error_and_keeps_the_rest(
    api: Api, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # given acme's orders: a page of 10 whose candidates' own pages need 1 + 10 x 2
    # statements, over the budget of 5
    await fill_index(api, sandbox)
    caplog.set_level(logging.INFO, logger="ordergraph.graphql")

    # when the page is asked for
    with executed_statements(api) as seen:
        body = await api.query(CANDIDATE_PAGES, {"first": 10})

    # then no more statements than the budget reached the database
    assert len(seen) == SMALL_BUDGET
    # and the fields whose reads were refused carry the coded error, nothing else fails
    errors = body["errors"]
    assert errors
    assert set(error_codes(body)) == {STORE_BUDGET_EXCEEDED}
    assert all(e["extensions"]["maxStoreStatements"] == SMALL_BUDGET for e in errors)
    assert "max_store_statements" in errors[0]["message"]
    # at the field that asked: a candidate's page of orders (its rows) or its count,
    # either of which nulls only that candidate (both are non-null)
    edges = body["data"]["orders"]["edges"]
    failed = {e["path"][2] for e in errors}
    asked = {tuple(e["path"][3:]) for e in errors}
    assert asked <= {("node", "candidate", "orders"), ("node", "candidate", "orders", "totalCount")}
    assert {i for i, edge in enumerate(edges) if edge["node"]["candidate"] is None} == failed
    # and the rest of the answer stays: the page and every order's id (the 4
    # statements left after the page's own fit at most two candidates' pages)
    assert len(edges) == 10
    assert all(edge["node"]["id"] for edge in edges)
    assert len(failed) >= 8

    # and it is logged as a client outcome: INFO, no traceback, nothing at ERROR
    records = [r for r in caplog.records if r.name == "ordergraph.graphql"]
    assert [r.levelno for r in records] == [logging.INFO]
    assert STORE_BUDGET_EXCEEDED in records[0].getMessage()
    assert records[0].exc_info is None

    # when the next request asks for what fits: it has a budget of its own
    with executed_statements(api) as seen:
        body = await api.query(CANDIDATE_PAGES, {"first": 1})
    assert "errors" not in body, body
    assert len(seen) == 3


@pytest.mark.parametrize("api", [{"max_store_statements": SMALL_BUDGET}], indirect=True)
async def test_a_query_over_websocket_has_the_same_budget(api: Api, sandbox: Sandbox) -> None:
    # given acme's orders
    await fill_index(api, sandbox)
    async with connect(api.session, api.url) as client:
        ack = await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        assert ack == {"type": "connection_ack"}, ack

        # when the page over the budget is asked for as a WebSocket operation
        with executed_statements(api) as seen:
            await client.subscribe("q", CANDIDATE_PAGES, {"first": 10})
            message = await client.message("q")

    # then it is refused where it goes over, as over HTTP, after at most the budget
    assert message["type"] == "next", message
    payload = message["payload"]
    assert {e["extensions"]["code"] for e in payload["errors"]} == {STORE_BUDGET_EXCEEDED}
    assert len(payload["data"]["orders"]["edges"]) == 10
    assert len(seen) == SMALL_BUDGET


async def test_legitimate_heavy_queries_fit_the_default_budget_with_margin(
    api: Api, sandbox: Sandbox
) -> None:
    # given both tenants indexed, acme with over 100 orders
    await fill_index(api, sandbox)
    budget = LimitSettings().max_store_statements
    no_cache = {"Cache-Control": "no-cache"}
    await api.query(DASHBOARD, {"first": 1})  # warm the connection pool and package lists

    statements: dict[str, int] = {}
    for name, document, first in [
        ("bench dashboard", BENCH_DASHBOARD, 50),
        ("dashboard", DASHBOARD, 100),
        ("full page", FULL_PAGE, 100),
    ]:
        # when each is asked for
        with executed_statements(api) as seen:
            body = await api.query(document, {"first": first}, headers=no_cache)
        # then it is answered whole
        assert "errors" not in body, (name, body["errors"][:2])
        assert len(body["data"]["orders"]["edges"]) == first
        statements[name] = len(seen)

    # and so is nodes(ids:) with 250 ids, 100 found and 150 that do not exist
    page = await api.query(DASHBOARD, {"first": 100})
    ids = [edge["node"]["id"] for edge in page["data"]["orders"]["edges"]]
    ids += [gid("Order", f"acme-kombo:missing-{n}") for n in range(150)]
    with executed_statements(api) as seen:
        body = await api.query(NODES, {"ids": ids})
    assert set(error_codes(body)) == {"NOT_FOUND"}
    assert sum(node is not None for node in body["data"]["nodes"]) == 100
    statements["nodes"] = len(seen)

    # and each costs what the README quotes, at most, the heaviest well under the budget
    assert statements["bench dashboard"] <= 2
    assert statements["dashboard"] <= 2
    assert statements["nodes"] <= 2
    assert statements["full page"] <= 407
    assert 2 * max(statements.values()) <= budget


async def _subscription_events(api: Api, count: int) -> list[dict[str, Any]]:
    """``count`` new acme orders, each one event, read from a live subscription."""
    async with connect(api.session, api.url) as client:
        ack = await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        assert ack == {"type": "connection_ack"}, ack
        await client.subscribe("s", EVENTS)
        for _ in range(200):
            if api.services.hubs.subscriber_count() >= 1:
                break
            await asyncio.sleep(0.01)
        for number in range(count):
            order = unified_order(f"B-{number}", created_at=T0 + timedelta(minutes=number))
            assert (await deliver_unified(api, "acme-unified", [order])).events
        payloads = []
        for _ in range(count):
            message = await client.message("s")
            assert message["type"] == "next", message
            payloads.append(message["payload"])
        await client.complete("s")
        return payloads


# One event: its order (1 statement) and the candidate's page of orders (rows, count).
@pytest.mark.parametrize("api", [{"max_store_statements": 3}], indirect=True)
async def test_each_subscription_event_has_a_budget_of_its_own(api: Api) -> None:
    # when four events, 3 statements each, reach a subscription with a budget of 3
    payloads = await _subscription_events(api, 4)

    # then every event is answered whole: 12 statements in all, 3 per event
    assert all("errors" not in payload for payload in payloads), payloads
    orders = [payload["data"]["orderEvents"]["order"] for payload in payloads]
    assert [o["id"] for o in orders] == [gid("Order", f"acme-unified:B-{n}") for n in range(4)]
    assert all(o["candidate"]["orders"]["totalCount"] == 1 for o in orders)


@pytest.mark.parametrize("api", [{"max_store_statements": 2}], indirect=True)
async def test_an_event_over_its_budget_keeps_its_order_and_the_next_event_its_budget(
    api: Api,
) -> None:
    # when two events that each need 3 statements reach a subscription with a budget of 2
    payloads = await _subscription_events(api, 2)

    # then each event's candidate page is refused, its own order still read: the
    # first event's refusal did not spend the second's budget
    for number, payload in enumerate(payloads):
        assert [e["extensions"]["code"] for e in payload["errors"]] == [STORE_BUDGET_EXCEEDED]
        order = payload["data"]["orderEvents"]["order"]
        assert order == {"id": gid("Order", f"acme-unified:B-{number}"), "candidate": None}


@pytest.mark.parametrize("api", [{"max_store_statements": 1}], indirect=True)
async def test_background_ingestion_and_writes_are_not_budgeted(api: Api, sandbox: Sandbox) -> None:
    # when every connection is indexed the real way (Kombo poller, Unified webhook
    # intake, StackOne creation), with a budget of one statement per operation
    counts = await fill_index(api, sandbox)

    # then nothing was refused: every order is in the index (fill_index checks the
    # count of each connection)
    assert sum(counts.values()) > 100


# createOrder reads its order back twice after the write: that fits a budget of 2; its
# write transaction (7 statements) is neither counted nor refused.
@pytest.mark.parametrize("api", [{"max_store_statements": 2}], indirect=True)
async def test_a_mutations_write_is_not_budgeted(api: Api) -> None:
    # given a StackOne connection with no order
    package_id = await offered_package(api, "acme-stackone")

    # when an order is created
    with executed_statements(api) as seen:
        body = await api.query(
            """mutation($input: CreateOrderInput!) {
                 createOrder(input: $input) { order { id remoteId } errors { code } } }""",
            {"input": new_order_input("acme-stackone", package_id)},
        )

    # then it is answered whole, though its statements were more than the budget
    assert "errors" not in body, body
    payload = body["data"]["createOrder"]
    assert payload["errors"] == []
    assert payload["order"]["id"] == gid("Order", f"acme-stackone:{payload['order']['remoteId']}")
    assert len(seen) > 2
    # and the order is indexed
    assert (
        await api.services.store.orders.count("acme", OrderFilter(connection_ids=["acme-stackone"]))
        == 1
    )
