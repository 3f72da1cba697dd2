"""The frontend clients a web app uses, against a live gateway or the committed schema.

* Apollo Client 3 (tests/js/apollo.mjs): ``relayStylePagination()`` crawls every order
  with fetchMore; an order event through GraphQLWsLink updates the normalized Order.
* urql + graphcache ``relayPagination()`` (tests/js/urql.mjs): the same crawl.
* relay-compiler (tests/js/relay-fixture): a small Relay app compiles against
  schema.graphql, and a schema that breaks Relay's rules does not.
* GraphQL Code Generator with ``strictScalars`` (tests/js/codegen.mjs): every custom
  scalar of schema.graphql is mapped, and an unmapped one fails generation.

Orders reach the gateway the real way (tests.api.helpers.fill_index: Unified orders
through the webhook intake, StackOne creates through the adapter, a Kombo poll); the
status change the subscription sees is made in the Unified simulator (control API) and
read back with the refreshOrders mutation.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import KEYS, Api
from tests.api.helpers import connection, fill_index, node_key
from tests.conftest import Sandbox

JS = Path(__file__).parent.parent / "js"
SCHEMA = Path(__file__).parent.parent.parent / "schema.graphql"
# Small pages so the crawl takes several of them (fill_index gives acme about a dozen).
PAGE_SIZE = 3

ALL_ORDER_IDS = """
query AllIds($after: String) {
  orders(first: 100, after: $after) {
    edges { node { id status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

REFRESH = """
mutation Refresh($ids: [ID!]!) {
  refreshOrders(ids: $ids) { orders { id status } errors { code message } }
}
"""


def _node(package: str) -> str:
    """The node binary, or skip (fail under CI) when node or ``package`` is missing."""
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else "tests/js/node_modules is missing (run `make install`)"
        if not (JS / "node_modules" / package).is_dir()
        else None
    )
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"frontend client test cannot run in CI: {missing}")
        pytest.skip(missing)
    assert node is not None
    return node


async def _gateway_orders(api: Api) -> dict[str, str]:
    """Every order of acme (id: status), in the gateway's default order, asked by the
    test itself."""
    orders: dict[str, str] = {}
    after: str | None = None
    while True:
        body = await api.query(ALL_ORDER_IDS, {"after": after})
        assert "errors" not in body, body
        page = body["data"]["orders"]
        orders |= {edge["node"]["id"]: edge["node"]["status"] for edge in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return orders
        after = page["pageInfo"]["endCursor"]


class Script:
    """A running Node script: its JSON lines as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, package: str, script: str, *args: str) -> Script:
        process = await asyncio.create_subprocess_exec(
            _node(package),
            str(JS / script),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def line(self, within: float = 20.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), within)
        if not raw:
            stderr = await self.process.stderr.read() if self.process.stderr else b""
            raise AssertionError(f"script ended early: {stderr.decode()}")
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    async def finish(self, within: float = 20.0) -> None:
        code = await asyncio.wait_for(self.process.wait(), within)
        stderr = await self.process.stderr.read() if self.process.stderr else b""
        assert code == 0, stderr.decode()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


def _assert_complete_crawl(crawled: dict[str, Any], truth: list[str]) -> None:
    ids: list[str] = crawled["ids"]
    assert len(ids) == len(set(ids)), "the merged list holds an order twice"
    assert ids == truth  # no gaps, no extras, in the gateway's order
    assert crawled["pages"] == -(-len(truth) // PAGE_SIZE)


async def _subscribed(api: Api) -> None:
    """The server tails the event log for the one subscriber."""
    for _ in range(500):
        if api.services.hubs.subscriber_count() == 1:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never started")


async def test_apollo_crawls_every_order_and_a_subscription_updates_the_cache(
    api: Api, sandbox: Sandbox
) -> None:
    _node("@apollo/client")
    await fill_index(api, sandbox)
    statuses = await _gateway_orders(api)
    truth = list(statuses)
    assert len(truth) > 2 * PAGE_SIZE

    ws_url = api.url.replace("http://", "ws://", 1) + "/graphql"
    apollo = await Script.start(
        "@apollo/client", "apollo.mjs", api.url + "/graphql", ws_url, KEYS["acme"], str(PAGE_SIZE)
    )
    try:
        _assert_complete_crawl((await apollo.line())["crawled"], truth)
        assert await apollo.line() == {"subscribed": True}
        await _subscribed(api)

        # A Unified order the crawl cached as not completed completes at the provider
        # (the sandbox's control API); refreshOrders reads it back and records the change.
        unified_id = next(
            i
            for i, status in statuses.items()
            if node_key(i).startswith("acme-unified:") and status != "COMPLETED"
        )
        await sandbox.control(
            "PATCH",
            "orders",
            {
                "provider": "unified",
                "account": connection(api, "acme-unified").settings.account,
                "id": node_key(unified_id).split(":", 1)[1],
                "status": "COMPLETED",
            },
        )
        refreshed = await api.query(REFRESH, {"ids": [unified_id]})
        assert refreshed["data"]["refreshOrders"] == {
            "orders": [{"id": unified_id, "status": "COMPLETED"}],
            "errors": [],
        }, refreshed
        seen = await apollo.line()
        await apollo.finish()
    finally:
        apollo.kill()
    assert seen["event"]["order"]["id"] == unified_id
    assert seen["event"]["newStatus"] == "COMPLETED"
    assert seen["before"] is not None
    assert seen["before"]["status"] != "COMPLETED"
    assert seen["after"] == {"__typename": "Order", "id": unified_id, "status": "COMPLETED"}


async def test_urql_graphcache_crawls_every_order(api: Api, sandbox: Sandbox) -> None:
    _node("@urql/exchange-graphcache")
    await fill_index(api, sandbox)
    truth = list(await _gateway_orders(api))
    assert len(truth) > 2 * PAGE_SIZE

    urql = await Script.start(
        "@urql/exchange-graphcache", "urql.mjs", api.url + "/graphql", KEYS["acme"], str(PAGE_SIZE)
    )
    try:
        _assert_complete_crawl((await urql.line())["crawled"], truth)
        await urql.finish()
    finally:
        urql.kill()


RELAY_FIXTURE = JS / "relay-fixture"
RELAY_COMPILER = JS / "node_modules" / "relay-compiler" / "cli.js"


def _compile_relay_app(schema_text: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """relay-compiler over a copy of the fixture app (it writes __generated__ beside the
    sources) with its committed config, pointed at ``schema_text``."""
    node = _node("relay-compiler")
    shutil.copytree(RELAY_FIXTURE / "src", workdir / "src")
    schema = workdir / "schema.graphql"
    schema.write_text(schema_text)
    config = json.loads((RELAY_FIXTURE / "relay.config.json").read_text())
    config["schema"] = str(schema)
    (workdir / "relay.config.json").write_text(json.dumps(config))
    # The npm package carries the compiler's native binary: nothing downloads here.
    return subprocess.run(  # noqa: S603 - node with our own scripts and paths
        [node, str(RELAY_COMPILER)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_relay_compiler_accepts_the_schema(tmp_path: Path) -> None:
    done = _compile_relay_app(SCHEMA.read_text(), tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "ERROR" not in output
    assert "WARN" not in output
    generated = {p.name for p in (tmp_path / "src" / "__generated__").iterdir()}
    # The refetch queries Relay derives need Query.node and Node on Order and Candidate.
    assert {
        "OrderListQuery.graphql.ts",
        "OrderListPaginationQuery.graphql.ts",
        "OrderRowRefetchQuery.graphql.ts",
        "CandidateOrdersPaginationQuery.graphql.ts",
        "CandidateOrdersStatusSubscription.graphql.ts",
    } <= generated


def test_relay_compiler_rejects_a_schema_that_breaks_relays_rules(tmp_path: Path) -> None:
    # Valid GraphQL, but an Order that is no Node cannot be @refetchable in Relay.
    schema = SCHEMA.read_text()
    assert "type Order implements Node {" in schema
    broken = schema.replace("type Order implements Node {", "type Order {")
    done = _compile_relay_app(broken, tmp_path)
    assert done.returncode != 0
    assert "OrderRow_order" in done.stdout + done.stderr


def _codegen(schema: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - node with our own scripts and paths
        [_node("@graphql-codegen/cli"), str(JS / "codegen.mjs"), str(schema), str(output)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_graphql_codegen_with_strict_scalars_knows_every_scalar(tmp_path: Path) -> None:
    output = tmp_path / "types.ts"
    done = _codegen(SCHEMA, output)
    assert done.returncode == 0, done.stderr
    generated = output.read_text()
    assert "DateTime: { input: string; output: string; }" in generated
    assert "export type OrderPageQuery = " in generated
    assert "export type OrderEventsSubscription = " in generated


def test_graphql_codegen_fails_on_an_unmapped_scalar(tmp_path: Path) -> None:
    # What strictScalars guards: a new scalar in the schema that the frontend (and the
    # scalar list in codegen.mjs and README) does not know yet.
    schema = tmp_path / "schema.graphql"
    schema.write_text(SCHEMA.read_text() + "\nscalar Money\n")
    done = _codegen(schema, tmp_path / "types.ts")
    assert done.returncode != 0
    assert "Unknown scalar type Money" in done.stderr
