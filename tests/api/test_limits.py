"""Abuse limits: each one refuses over HTTP and over WebSocket before any store read or
provider call, with a code; each one lets a request at exactly its limit through.

Store reads are counted on the real engine (SQLAlchemy ``before_cursor_execute``),
provider calls by the sandbox (``/_sandbox/stats``), so "nothing ran" is measured,
not assumed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import strawberry
from aiohttp.test_utils import TestServer
from graphql import GraphQLSyntaxError, OperationDefinitionNode, get_introspection_query, parse
from sqlalchemy import event
from strawberry.extensions import ParserCache, QueryDepthLimiter, SchemaExtension, ValidationCache
from strawberry.extensions.validation_cache import _get_validate_cache
from strawberry.types.execution import PreExecutionError

from ordergraph.api import add_graphql_routes
from ordergraph.broker import MemoryBroker
from ordergraph.keys import Scope
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema
from ordergraph.schema.cost import ConnectionCost, plan_cost, refresh_cost
from ordergraph.schema.limits import LimitedParserCache, LimitedValidationCache, request_limits
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import LimitSettings, load_settings
from ordergraph.store import Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry
from tests.api.conftest import CURSOR_SECRET, KEYS, Api, two_tenant_connections
from tests.api.helpers import deliver_unified, gid, unified_order
from tests.api.test_subscriptions import until_subscribed
from tests.api.ws_client import connect
from tests.conftest import Sandbox
from tests.tenants import tenant_entries

GRJ = "application/graphql-response+json"
JSON = "application/json"
ROOT = Path(__file__).parent.parent.parent

# Small limits, so documents at and over each one stay readable.
LIMITS: dict[str, Any] = {
    "max_depth": 4,
    "max_tokens": 200,
    "max_aliases": 3,
    "max_cost": 5,
    "max_node_ids": 3,
    "introspection": False,
}
# acme's StackOne connection as the estimate sees one on the legacy API version, which
# reads orders back (the sandbox's connections are on the current one, which does not).
ACME_PROVIDERS = {
    "acme-unified": ConnectionCost("unified"),
    "acme-stackone": ConnectionCost("stackone"),
    "acme-kombo": ConnectionCost("kombo"),
}


def order_ids(connection: str, count: int) -> list[str]:
    return [gid("Order", f"{connection}:order-{n}") for n in range(count)]


def typenames(tokens: int) -> str:
    """A query of exactly ``tokens`` lexical tokens: ``{``, names, ``}``."""
    return "{ " + "__typename " * (tokens - 2) + "}"


REFRESH = "mutation R($ids: [ID!]!) { refreshOrders(ids: $ids) { errors { code } } }"
REFRESH_PACKAGES = """
mutation R($ids: [ID!]!) { refreshOrders(ids: $ids) { orders { package { name } } } }
"""
NODES = "query N($ids: [ID!]!) { nodes(ids: $ids) { id } }"

OVER: dict[str, tuple[str, dict[str, Any], str]] = {
    "depth": (
        "{ orders { edges { node { candidate { orders { totalCount } } } } } }",
        {},
        "QUERY_TOO_DEEP",
    ),
    "tokens": (typenames(201), {}, "TOO_MANY_TOKENS"),
    "aliases": (
        "{ a: __typename b: __typename c: __typename d: __typename }",
        {},
        "TOO_MANY_ALIASES",
    ),
    "cost": (REFRESH, {"ids": order_ids("acme-unified", 6)}, "QUERY_TOO_COSTLY"),
    # 3 reads + the payload's package names (one list per connection, 3): 6
    "cost of payload reads": (
        REFRESH_PACKAGES,
        {"ids": order_ids("acme-unified", 3)},
        "QUERY_TOO_COSTLY",
    ),
    "node ids": (NODES, {"ids": order_ids("acme-unified", 4)}, "TOO_MANY_IDS"),
    "introspection": ("{ __schema { queryType { name } } }", {}, "INTROSPECTION_DISABLED"),
}

# refreshOrders' ids count towards max_node_ids too (ids per request): the cases that
# price refreshes let them through that limit.
CASE_LIMITS: dict[str, dict[str, Any]] = {
    "cost": {"max_node_ids": 250},
    "cost of payload reads": {"max_node_ids": 250},
    "cost by provider": {"max_node_ids": 250},
}

AT: dict[str, tuple[str, dict[str, Any]]] = {
    "depth": ("{ orders { edges { node { candidate { name } } } } }", {}),
    "tokens": (typenames(200), {}),
    "aliases": ("{ a: __typename b: __typename c: __typename }", {}),
    "cost": (REFRESH, {"ids": order_ids("acme-unified", 5)}),
    # Kombo reads up to 250 ids in one call: 250 ids cost 1.
    "cost by provider": (REFRESH, {"ids": order_ids("acme-kombo", 250)}),
    "node ids": (NODES, {"ids": order_ids("acme-unified", 3)}),
    "introspection off keeps __typename": ("{ __typename }", {}),
}


@dataclass
class Gateway:
    """A running gateway with the store's statements and the sandbox's calls counted."""

    api: Api
    sandbox: Sandbox
    statements: list[str] = field(default_factory=list)

    async def post(
        self, document: str, variables: dict[str, Any] | None = None, *, accept: str = GRJ
    ) -> tuple[int, dict[str, Any]]:
        async with self.api.session.post(
            self.api.url + "/graphql",
            json={"query": document, "variables": variables or {}},
            headers={"Authorization": f"Bearer {KEYS['acme']}", "Accept": accept},
        ) as response:
            body: dict[str, Any] = await response.json(content_type=None)
            assert response.content_type == accept
            return response.status, body

    @asynccontextmanager
    async def untouched(self) -> AsyncIterator[None]:
        """Asserts that neither the store nor a provider was called inside."""
        statements = len(self.statements)
        calls = (await self.sandbox.stats())["total"]
        yield
        assert self.statements[statements:] == []
        assert (await self.sandbox.stats())["total"] == calls


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def make_gateway(sandbox: Sandbox, fresh_store_url: str) -> AsyncIterator[GatewayFactory]:
    cleanup: list[Callable[[], Awaitable[None]]] = []

    async def make(*, stackone_api_version: str | None = None, **limits: Any) -> Gateway:
        connections = await two_tenant_connections(sandbox)
        for connection in connections:
            if connection["provider"] == "stackone" and stackone_api_version is not None:
                connection["api_version"] = stackone_api_version
        settings = load_settings(
            environ={},
            overrides={
                "store": {"url": fresh_store_url, "cursor_secret": CURSOR_SECRET},
                "subscriptions": {"poll_interval": 0.5},
                "limits": {**LIMITS, **limits},
                "tenants": tenant_entries(KEYS),
                "connections": connections,
            },
        )
        store = Store.from_engine(create_engine(fresh_store_url), cursor_secret=CURSOR_SECRET)
        gateway_statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            gateway_statements.append(statement)

        event.listen(store.engine.sync_engine, "before_cursor_execute", count)
        services = Services(
            settings=settings,
            store=store,
            broker=MemoryBroker(),
            connections=ConnectionRegistry.from_settings(settings.connections),
        )
        app = create_app(services, background=False)
        add_graphql_routes(app)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        session = aiohttp.ClientSession()
        cleanup.extend([services.close, server.close, session.close])
        api = Api(str(server.make_url("")).rstrip("/"), services, session, app)
        return Gateway(api, sandbox, gateway_statements)

    yield make
    for close in reversed(cleanup):
        await close()


# --- HTTP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(OVER))
async def test_each_limit_refuses_over_http_before_the_store_and_providers(
    make_gateway: GatewayFactory, case: str
) -> None:
    gateway = await make_gateway(**CASE_LIMITS.get(case, {}))
    document, variables, code = OVER[case]
    for accept, status in ((GRJ, 400), (JSON, 200)):
        async with gateway.untouched():
            answer_status, body = await gateway.post(document, variables, accept=accept)
        assert answer_status == status, body
        assert "data" not in body, body
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], body


async def test_rejections_say_what_was_over_and_by_how_much(make_gateway: GatewayFactory) -> None:
    # StackOne on the legacy API version reads an order and its result: 2 calls per id.
    gateway = await make_gateway(stackone_api_version="2025-02-24")
    _, body = await gateway.post(REFRESH, {"ids": order_ids("acme-stackone", 3)})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 6, "maxCost": 5}
    assert "6 upstream provider calls" in error["message"]
    assert "limit is 5" in error["message"]

    _, body = await gateway.post(*OVER["depth"][:2])
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_DEEP", "maxDepth": 4}
    assert "depth of 4" in body["errors"][0]["message"]
    assert body["errors"][0]["locations"]

    _, body = await gateway.post(*OVER["node ids"][:2])
    assert body["errors"][0]["extensions"] == {
        "code": "TOO_MANY_IDS",
        "maxIds": 3,
        "count": 4,
    }


@pytest.mark.parametrize("case", list(AT))
async def test_each_limit_lets_a_request_at_the_limit_through(
    make_gateway: GatewayFactory, case: str
) -> None:
    gateway = await make_gateway(**CASE_LIMITS.get(case, {}))
    document, variables = AT[case]
    status, body = await gateway.post(document, variables)
    assert status == 200, body
    assert body.get("data") is not None, body
    # Only "node ids" may answer with errors: its made-up ids are each NOT_FOUND.
    assert {e["extensions"]["code"] for e in body.get("errors", [])} <= {"NOT_FOUND"}, body


async def test_an_unknown_fragment_is_a_validation_error_not_a_crash(
    make_gateway: GatewayFactory,
) -> None:
    # Strawberry's depth rule looks fragments up without a default.
    gateway = await make_gateway()
    status, body = await gateway.post("{ orders { ...Missing } }")
    assert status == 400
    assert body["errors"][0]["message"] == "Unknown fragment 'Missing'."


async def test_introspection_can_be_turned_on(make_gateway: GatewayFactory) -> None:
    # GraphiQL's query (graphql-js's getIntrospectionQuery with every option) passes
    # the default token, depth and alias limits too.
    defaults = LimitSettings().model_dump()
    full = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    gateway = await make_gateway(**{**defaults, "introspection": True})
    status, body = await gateway.post(full)
    assert status == 200, body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert "errors" not in body


# --- WebSocket -----------------------------------------------------------------------------

WS_OVER: dict[str, tuple[str, dict[str, Any], str]] = {
    "depth": (
        "subscription { orderEvents { order { candidate { orders { edges { node { id } } } } } } }",
        {},
        "QUERY_TOO_DEEP",
    ),
    "aliases": (
        "subscription { orderEvents { a: cursor b: cursor c: cursor d: cursor } }",
        {},
        "TOO_MANY_ALIASES",
    ),
    # A package name per event: one package list per connection (3) per event.
    "cost": (
        "subscription { orderEvents { order { package { name } } } }",
        {},
        "QUERY_TOO_COSTLY",
    ),
    # graphql-transport-ws carries queries too; introspection and nodes are queries.
    "node ids": (NODES, {"ids": order_ids("acme-unified", 4)}, "TOO_MANY_IDS"),
    "introspection": ("{ __schema { queryType { name } } }", {}, "INTROSPECTION_DISABLED"),
}


@pytest.mark.parametrize("case", list(WS_OVER))
async def test_each_limit_refuses_over_websocket_before_the_store_and_providers(
    make_gateway: GatewayFactory, case: str
) -> None:
    # The subscription's cost is 3; the other cases stay under 5.
    gateway = await make_gateway(max_cost=2 if case == "cost" else 5)
    document, variables, code = WS_OVER[case]
    async with connect(gateway.api.session, gateway.api.url) as client:
        ack = await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        assert ack == {"type": "connection_ack"}
        async with gateway.untouched():
            await client.subscribe("1", document, variables)
            message = await client.message("1")
        assert message["type"] == "error", message
        assert [e["extensions"]["code"] for e in message["payload"]] == [code], message
        # The socket stays up for the client's other operations.
        await client.subscribe("2", "{ __typename }")
        assert (await client.message("2"))["payload"] == {"data": {"__typename": "Query"}}


async def test_too_many_tokens_over_websocket_closes_like_a_syntax_error(
    make_gateway: GatewayFactory,
) -> None:
    # Strawberry answers a document it cannot parse by closing the socket (4400) with
    # the parse error as the reason; the token limit is one.
    gateway = await make_gateway()
    document = "subscription { orderEvents { " + "cursor " * 200 + "} }"
    async with connect(gateway.api.session, gateway.api.url) as client:
        await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        async with gateway.untouched():
            await client.subscribe("1", document)
            message = await client.message("1")
    assert message["close"] == 4400, message
    assert "more than 200 tokens" in str(message["reason"])


async def test_a_subscription_at_the_limits_gets_its_events(make_gateway: GatewayFactory) -> None:
    # depth 4, three aliases, cost 3 (package names: one list per connection)
    gateway = await make_gateway(max_cost=3)
    document = """
    subscription { orderEvents {
      a: cursor b: cursor c: newStatus
      order { candidate { orders { totalCount } } package { name } }
    } }
    """
    async with connect(gateway.api.session, gateway.api.url) as client:
        await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        await client.subscribe("1", document)
        await until_subscribed(gateway.api, 1)
        t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        order = unified_order("limits-1", created_at=t0, status="OPEN", updated_at=t0)
        await deliver_unified(gateway.api, "acme-unified", [order])
        [event_] = await client.events("1", 1)
    assert event_["c"] == "OPEN"
    assert event_["order"]["candidate"]["orders"]["totalCount"] == 1


# --- the cost model ------------------------------------------------------------------------


def _cost(document: str, variables: dict[str, Any] | None = None) -> int:
    plan = plan_cost(schema._schema, parse(document))
    assert plan is not None
    return plan.cost(variables, ACME_PROVIDERS)


def test_reads_cost_one_package_list_per_connection_however_many_ask() -> None:
    assert _cost("{ orders { edges { node { id status } } } }") == 0
    # Aliases, lists and fragments share the request's loader: one list per connection.
    assert (
        _cost(
            """
            query { a: orders(first: 100) { edges { node { ...P } } }
                    b: packages(connectionId: "x") { name }
                    c: node(id: "x") { id } }
            fragment P on Order { package { name description } }
            """
        )
        == 3
    )


def test_writes_cost_what_their_adapters_send() -> None:
    submit = 'submitResult(input: {orderId: "x", status: COMPLETED}) { errors { code } }'
    assert _cost(f"mutation {{ a: {submit} b: {submit} }}") == 4
    publish = """
    mutation P($input: PublishPackagesInput!) { publishPackages(input: $input) {
      packages { name } } }
    """
    packages = [{"remoteId": str(n), "name": "n"} for n in range(4)]
    # 1 + 4 packages; the payload's names come from the input, not the provider
    assert _cost(publish, {"input": {"connectionId": "c", "packages": packages}}) == 5
    literal = 'mutation { publishPackages(input: {connectionId: "c", packages: [{remoteId: "1", name: "n"}]}) { errors { code } } }'  # noqa: E501
    assert _cost(literal) == 2
    # Each root field pays for its own package reads: a publish drops the cached list.
    with_package = (
        'submitResult(input: {orderId: "x", status: COMPLETED}) { order { package { name } } }'
    )
    assert _cost(f"mutation {{ a: {with_package} b: {with_package} }}") == (2 + 3) * 2


def test_refresh_costs_follow_the_providers_of_its_ids() -> None:
    kombo, unified = order_ids("acme-kombo", 251), order_ids("acme-unified", 2)
    ids = [*kombo, *unified, *order_ids("acme-stackone", 2)]
    assert refresh_cost(ids, ACME_PROVIDERS) == 2 + 2 + 4
    # Ids of another tenant, other types or no id at all: the resolver calls no one.
    foreign = [*order_ids("globex-unified", 3), gid("Package", "acme-unified:p"), "junk"]
    assert refresh_cost(foreign, ACME_PROVIDERS) == 0
    # Duplicates are read once.
    assert refresh_cost(order_ids("acme-unified", 1) * 5, ACME_PROVIDERS) == 1


def test_refresh_costs_nothing_on_a_connection_that_cannot_read_orders() -> None:
    ids = [*order_ids("acme-stackone", 3), *order_ids("acme-unified", 1)]
    reading = {**ACME_PROVIDERS, "acme-stackone": ConnectionCost("stackone", reads_orders=True)}
    not_reading = {**ACME_PROVIDERS, "acme-stackone": ConnectionCost("stackone", False)}
    assert refresh_cost(ids, reading) == 2 * 3 + 1
    assert refresh_cost(ids, not_reading) == 1


async def test_refresh_of_stackone_orders_is_priced_by_the_connections_api_version(
    make_gateway: GatewayFactory,
) -> None:
    # 3 StackOne ids: 6 calls on the legacy version (over max_cost 5), none on the
    # current one, where the resolver answers UNSUPPORTED_BY_PROVIDER without a call.
    ids = {"ids": order_ids("acme-stackone", 3)}
    legacy = await make_gateway(stackone_api_version="2025-02-24")
    _, body = await legacy.post(REFRESH, ids)
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "QUERY_TOO_COSTLY", "cost": 6, "maxCost": 5}
    ]

    current = await make_gateway(stackone_api_version="2025-12-03")
    calls = (await current.sandbox.stats())["total"]
    _, body = await current.post(REFRESH, ids)
    assert "errors" not in body, body
    # None of these orders is stored (each is NOT_FOUND): what this shows is that the
    # cost check let the request through and no provider was called.
    assert [e["code"] for e in body["data"]["refreshOrders"]["errors"]] == ["NOT_FOUND"] * 3
    assert (await current.sandbox.stats())["total"] == calls


def test_list_lengths_come_from_variables_defaults_and_literals() -> None:
    document = (
        "mutation R($ids: [ID!]! = $DEFAULT) { refreshOrders(ids: $ids) { errors { code } } }"
    )
    ids = order_ids("acme-unified", 3)
    with_default = document.replace("$DEFAULT", "[" + ", ".join(f'"{i}"' for i in ids) + "]")
    assert _cost(with_default) == 3
    assert _cost(with_default, {"ids": ids[:1]}) == 1
    # A single id for a list is a list of one.
    assert _cost(REFRESH, {"ids": ids[0]}) == 1
    # Literal lists holding variables.
    assert (
        _cost(
            "mutation R($a: ID!, $b: ID!) { refreshOrders(ids: [$a, $b]) { errors { code } } }",
            {"a": ids[0], "b": ids[1]},
        )
        == 2
    )


# --- caches and defaults -------------------------------------------------------------------


async def test_validation_cache_hits_with_the_limit_rules(api: Api) -> None:
    # ValidationCache keys on the rule classes. A QueryDepthLimiter made per request
    # makes new classes each time, so it never hits (a cache of its own size here):
    @strawberry.type
    class Query:
        @strawberry.field
        def hello(self) -> str:
            return "world"

    naive = strawberry.Schema(
        query=Query,
        extensions=[lambda: QueryDepthLimiter(max_depth=5), lambda: ValidationCache(maxsize=7)],
    )
    for _ in range(3):
        assert (await naive.execute("{ hello }")).errors is None
    naive_cache: Any = _get_validate_cache(7)
    assert naive_cache.cache_info().hits == 0

    # Our rules are made once per settings value, so the second run hits.
    cache = LimitedValidationCache._cache
    # A document of its own per run: the cache lives as long as the process.
    document = f"{{ __typename probe{uuid.uuid4().hex}: __typename }}"
    before = cache.hits
    context = Context(services=api.services, tenant="acme", scopes=frozenset(Scope))
    for _ in range(2):
        assert (await schema.execute(document, context_value=context)).errors is None
    assert cache.hits == before + 1


def _operations(block: str) -> list[str | None]:
    names = [
        d.name.value if d.name else None
        for d in parse(block).definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    return names if len(names) > 1 else [None]


def test_readme_and_bench_queries_pass_the_default_limits() -> None:
    limits = request_limits(LimitSettings())
    blocks = re.findall(r"```graphql\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    bench = (ROOT / "bench" / "dashboard_bench.py").read_text()
    blocks.append(bench.split('DASHBOARD = """', 1)[1].split('"""', 1)[0])
    assert len(blocks) >= 5
    for block in blocks:
        for name in _operations(block):
            errors = limits.check(schema._schema, block, name, {}, providers=ACME_PROVIDERS)
            assert errors == [], (block, name, errors)


def test_serve_keeps_introspection_off_and_the_demo_turns_it_on() -> None:
    from ordergraph.demo.config import DemoSecrets, demo_settings

    assert LimitSettings().introspection is False
    demo = demo_settings(
        host="127.0.0.1",
        port=8000,
        store_url="sqlite:///demo.db",
        demo_secrets=DemoSecrets(cursor_secret="s", api_keys={"acme": "a", "globex": "g"}),
        connections=[],
    )
    assert demo.limits.introspection is True


async def test_a_document_that_does_not_parse_is_an_error_result_in_a_stream_too() -> None:
    # Strawberry's ParserCache parses in its hook, where a syntax error escapes
    # Schema.subscribe; LimitedParserCache leaves the failure to Strawberry's own
    # parse, which reports it as a result.
    @strawberry.type
    class Query:
        @strawberry.field
        def a(self) -> int:
            return 1

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def s(self) -> AsyncIterator[int]:
            yield 1

    def results(extension: Callable[[], SchemaExtension]) -> strawberry.Schema:
        return strawberry.Schema(query=Query, subscription=Subscription, extensions=[extension])

    with pytest.raises(GraphQLSyntaxError):
        async for _ in await results(lambda: ParserCache(maxsize=3)).subscribe("subscription { s "):
            pass
    answers = [r async for r in await results(LimitedParserCache).subscribe("subscription { s ")]
    assert [type(r) for r in answers] == [PreExecutionError]
    assert answers[0].errors is not None
    assert answers[0].errors[0].message == "Syntax Error: Expected Name, found <EOF>."
