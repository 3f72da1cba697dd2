"""Persisted documents against a real gateway on loopback: Apollo's automatic persisted
queries (APQ) over POST, GET and WebSocket, shared through Redis, and the
trusted-documents mode with its manifest."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from ordergraph.api import add_graphql_routes
from ordergraph.api.http import CACHE_HEADER
from ordergraph.api.persisted import document_hash
from ordergraph.broker import MemoryBroker
from ordergraph.cache import create_cache
from ordergraph.errors import ConfigError
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry
from tests.api.conftest import CURSOR_SECRET, KEYS, two_tenant_connections
from tests.api.ws_client import connect
from tests.conftest import Sandbox
from tests.tenants import tenant_entries

JSON = "application/json"
GRJ = "application/graphql-response+json"
REDIS = os.environ.get("ORDERGRAPH_TEST_REDIS", "redis://127.0.0.1:6379/0")

TYPENAME = "query Typename { __typename }"
ORDERS = "query Orders { orders(first: 2) { totalCount edges { node { remoteId } } } }"
DEEP = "query Deep { orders(first: 1) { edges { node { candidate { firstName } } } } }"
MUTATION = 'mutation Refresh { refreshOrders(ids: ["x"]) { errors { code } } }'


def apq(document: str, *, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": document_hash(document)}}


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    cache: str | None

    @property
    def codes(self) -> list[str]:
        return [e["extensions"]["code"] for e in self.body.get("errors", [])]


@dataclass
class Gateway:
    url: str
    services: Services
    session: aiohttp.ClientSession

    async def post(
        self, params: dict[str, Any], *, tenant: str = "acme", accept: str = JSON
    ) -> Reply:
        async with self.session.post(
            self.url + "/graphql",
            json=params,
            headers={"Authorization": f"Bearer {KEYS[tenant]}", "Accept": accept},
        ) as response:
            body: dict[str, Any] = await response.json(content_type=None)
            return Reply(response.status, body, response.headers.get(CACHE_HEADER))

    async def get(self, params: dict[str, Any], *, accept: str = JSON) -> Reply:
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        async with self.session.get(
            self.url + "/graphql",
            params=query,
            headers={"Authorization": f"Bearer {KEYS['acme']}", "Accept": accept},
        ) as response:
            body: dict[str, Any] = await response.json(content_type=None)
            return Reply(response.status, body, response.headers.get(CACHE_HEADER))


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def make_gateway(sandbox: Sandbox, fresh_store_url: str) -> AsyncIterator[GatewayFactory]:
    """Gateways over one store, with ``persisted`` and ``limits`` settings to taste and
    (``cache_url``/``namespace``) a cache that several of them may share."""
    cleanup: list[Callable[[], Awaitable[None]]] = []
    session = aiohttp.ClientSession()

    async def make(
        *,
        persisted: dict[str, Any] | None = None,
        limits: dict[str, Any] | None = None,
        cache_url: str = "memory://",
        namespace: str = "og",
    ) -> Gateway:
        settings = load_settings(
            environ={},
            overrides={
                "store": {"url": fresh_store_url, "cursor_secret": CURSOR_SECRET},
                "limits": limits or {},
                "persisted": persisted or {},
                "tenants": tenant_entries(KEYS),
                "connections": await two_tenant_connections(sandbox),
            },
        )
        store = Store.from_engine(create_engine(fresh_store_url), cursor_secret=CURSOR_SECRET)
        services = Services(
            settings=settings,
            store=store,
            broker=MemoryBroker(),
            connections=ConnectionRegistry.from_settings(settings.connections),
            cache=create_cache(cache_url, namespace=namespace),
        )
        cleanup.append(services.close)
        app = create_app(services, background=False)
        add_graphql_routes(app)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        cleanup.append(server.close)
        return Gateway(str(server.make_url("")).rstrip("/"), services, session)

    yield make
    for close in reversed(cleanup):
        await close()
    await session.close()


@pytest.fixture
async def redis_namespace() -> AsyncIterator[str]:
    """A key namespace of this test's own in the shared Redis, deleted afterwards."""
    client = Redis.from_url(REDIS)
    try:
        await client.ping()
    except OSError:
        await client.aclose()
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS} unreachable")
        pytest.skip(f"Redis at {REDIS} unreachable")
    name = f"ogtest-apq-{uuid.uuid4().hex[:10]}"
    yield name
    keys = [key async for key in client.scan_iter(match=f"{name}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def write_manifest(folder: Path, entries: Any) -> Path:
    path = folder / "persisted-documents.json"
    path.write_text(json.dumps(entries))
    return path


# --- automatic persisted queries -------------------------------------------------


async def test_apq_miss_then_register_then_hit_over_post(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    miss = await gateway.post({"extensions": apq(TYPENAME)})
    # What Apollo's and urql's links look for before they send the document.
    assert miss.status == 200
    assert miss.body == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    registered = await gateway.post({"query": TYPENAME, "extensions": apq(TYPENAME)})
    assert registered.body == {"data": {"__typename": "Query"}}
    hit = await gateway.post({"extensions": apq(TYPENAME)})
    assert (hit.status, hit.body) == (200, {"data": {"__typename": "Query"}})


async def test_apq_miss_with_graphql_response_json_is_404_not_400(
    make_gateway: GatewayFactory,
) -> None:
    # No data: a 4xx for this media type; not 400, after which Apollo Client's link
    # stops sending hashes for good.
    gateway = await make_gateway()
    miss = await gateway.post({"extensions": apq(TYPENAME)}, accept=GRJ)
    assert (miss.status, miss.codes) == (404, ["PERSISTED_QUERY_NOT_FOUND"])
    assert "data" not in miss.body


async def test_apq_over_get_and_mutations_still_refused_over_get(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = await make_gateway()
    miss = await gateway.get({"extensions": apq(TYPENAME)})
    assert miss.codes == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = await gateway.get({"query": TYPENAME, "extensions": apq(TYPENAME)})
    assert registered.body == {"data": {"__typename": "Query"}}
    hit = await gateway.get({"extensions": apq(TYPENAME), "operationName": "Typename"})
    assert hit.body == {"data": {"__typename": "Query"}}

    # A mutation known by hash (here from a manifest, so nothing runs) is still
    # refused over GET.
    manifest = write_manifest(tmp_path, {document_hash(MUTATION): MUTATION})
    trusted = await make_gateway(persisted={"manifest": str(manifest)})
    refused = await trusted.get({"extensions": apq(MUTATION)})
    assert (refused.status, refused.codes) == (405, ["BAD_METHOD"])


async def test_hash_mismatch_is_refused_and_nothing_is_registered(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    claimed = apq(ORDERS)  # the hash of another document
    refused = await gateway.post({"query": TYPENAME, "extensions": claimed})
    assert (refused.status, refused.codes) == (400, ["PERSISTED_QUERY_HASH_MISMATCH"])
    assert (await gateway.post({"extensions": claimed})).codes == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    ("extensions", "code"),
    [
        (apq(TYPENAME, version=2), "PERSISTED_QUERY_NOT_SUPPORTED"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "BAD_REQUEST"),
        ({"persistedQuery": "yes"}, "BAD_REQUEST"),
    ],
)
async def test_bad_persisted_query_extensions_get_a_code(
    make_gateway: GatewayFactory, extensions: dict[str, Any], code: str
) -> None:
    gateway = await make_gateway()
    reply = await gateway.post({"extensions": extensions})
    assert reply.codes == [code]
    assert "data" not in reply.body


async def test_apq_off_says_not_supported(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(persisted={"automatic": False})
    reply = await gateway.post({"extensions": apq(TYPENAME)})
    assert reply.status == 200
    assert reply.body["errors"][0]["message"] == "PersistedQueryNotSupported"
    assert reply.codes == ["PERSISTED_QUERY_NOT_SUPPORTED"]
    # The document sent with its hash still runs (and is not kept).
    sent = await gateway.post({"query": TYPENAME, "extensions": apq(TYPENAME)})
    assert sent.body == {"data": {"__typename": "Query"}}
    assert (await gateway.post({"extensions": apq(TYPENAME)})).codes == [
        "PERSISTED_QUERY_NOT_SUPPORTED"
    ]


async def test_registrations_are_per_tenant(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    await gateway.post({"query": TYPENAME, "extensions": apq(TYPENAME)}, tenant="acme")
    assert (await gateway.post({"extensions": apq(TYPENAME)}, tenant="acme")).body == {
        "data": {"__typename": "Query"}
    }
    other = await gateway.post({"extensions": apq(TYPENAME)}, tenant="globex")
    assert other.codes == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_limits_apply_to_persisted_documents_and_refused_ones_are_not_kept(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(limits={"max_depth": 3, "max_document_bytes": 1024})
    deep = await gateway.post({"query": DEEP, "extensions": apq(DEEP)})
    assert deep.codes == ["QUERY_TOO_DEEP"]
    assert (await gateway.post({"extensions": apq(DEEP)})).codes == ["PERSISTED_QUERY_NOT_FOUND"]

    large = "query Large { __typename }" + " " * 1024
    too_large = await gateway.post({"query": large, "extensions": apq(large)})
    assert too_large.codes == ["DOCUMENT_TOO_LARGE"]
    assert (await gateway.post({"extensions": apq(large)})).codes == ["PERSISTED_QUERY_NOT_FOUND"]

    broken = "query Broken { __typename"
    assert "data" not in (await gateway.post({"query": broken, "extensions": apq(broken)})).body
    assert (await gateway.post({"extensions": apq(broken)})).codes == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_persisted_document_is_checked_on_every_run(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    # A trusted document is not exempt from the limits: it is checked like a sent one.
    manifest = write_manifest(tmp_path, {document_hash(DEEP): DEEP})
    gateway = await make_gateway(persisted={"manifest": str(manifest)}, limits={"max_depth": 3})
    reply = await gateway.post({"extensions": apq(DEEP)}, accept=GRJ)
    assert (reply.status, reply.codes) == (400, ["QUERY_TOO_DEEP"])


async def test_a_persisted_query_shares_the_response_cache_with_the_sent_one(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    sent = await gateway.post({"query": ORDERS})
    assert sent.cache == "miss"
    assert "errors" not in sent.body, sent.body
    registered = await gateway.post({"query": ORDERS, "extensions": apq(ORDERS)})
    persisted = await gateway.post({"extensions": apq(ORDERS)})
    assert (registered.cache, persisted.cache) == ("hit", "hit")
    assert persisted.body == sent.body


async def test_registrations_are_shared_through_redis_and_bounded(
    make_gateway: GatewayFactory, redis_namespace: str
) -> None:
    # Two processes' worth of gateways on one Redis, one slot per tenant.
    persisted = {"max_entries": 1}
    first = await make_gateway(persisted=persisted, cache_url=REDIS, namespace=redis_namespace)
    second = await make_gateway(persisted=persisted, cache_url=REDIS, namespace=redis_namespace)
    await first.post({"query": TYPENAME, "extensions": apq(TYPENAME)})
    assert (await second.post({"extensions": apq(TYPENAME)})).body == {
        "data": {"__typename": "Query"}
    }
    # The next document takes the only slot: the first one must be registered again.
    await first.post({"query": ORDERS, "extensions": apq(ORDERS)})
    third = await make_gateway(persisted=persisted, cache_url=REDIS, namespace=redis_namespace)
    assert (await third.post({"extensions": apq(TYPENAME)})).codes == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "errors" not in (await third.post({"extensions": apq(ORDERS)})).body
    client = Redis.from_url(REDIS)
    try:
        keys = [key async for key in client.scan_iter(match=f"{redis_namespace}:acme:apq:*")]
    finally:
        await client.aclose()
    assert len(keys) == 1


async def test_apq_over_websocket(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    async with connect(gateway.session, gateway.url) as client:
        assert await client.init({"authorization": f"Bearer {KEYS['acme']}"}) == {
            "type": "connection_ack"
        }
        await client.send(
            {"id": "1", "type": "subscribe", "payload": {"extensions": apq(TYPENAME)}}
        )
        miss = await client.message("1")
        assert miss["type"] == "error", miss
        assert miss["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registering = {"query": TYPENAME, "extensions": apq(TYPENAME)}
        await client.send({"id": "2", "type": "subscribe", "payload": registering})
        assert (await client.message("2"))["payload"] == {"data": {"__typename": "Query"}}
        await client.send(
            {"id": "3", "type": "subscribe", "payload": {"extensions": apq(TYPENAME)}}
        )
        assert (await client.message("3"))["payload"] == {"data": {"__typename": "Query"}}
    # Registered over the socket, known over HTTP too.
    assert (await gateway.post({"extensions": apq(TYPENAME)})).body == {
        "data": {"__typename": "Query"}
    }


# --- trusted documents -----------------------------------------------------------


async def test_trusted_mode_answers_manifest_documents_and_refuses_others(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    # GraphQL Code Generator's sha256 keys and a Relay-style id in one manifest.
    manifest = write_manifest(tmp_path, {document_hash(TYPENAME): TYPENAME, "relay-orders": ORDERS})
    gateway = await make_gateway(persisted={"manifest": str(manifest), "only": True})
    typename = {"data": {"__typename": "Query"}}

    assert (await gateway.post({"extensions": apq(TYPENAME)})).body == typename
    assert (await gateway.get({"extensions": apq(TYPENAME)})).body == typename
    assert (await gateway.post({"documentId": f"sha256:{document_hash(TYPENAME)}"})).body == (
        typename
    )
    for parameter in ("documentId", "doc_id"):
        by_id = await gateway.post({parameter: "relay-orders"})
        assert "errors" not in by_id.body, by_id.body
        assert by_id.body["data"]["orders"]["totalCount"] >= 0
    # The text of a trusted document is trusted; with its hash too.
    assert (await gateway.post({"query": TYPENAME})).body == typename
    assert (await gateway.post({"query": TYPENAME, "extensions": apq(TYPENAME)})).body == typename

    other = "query Other { __typename }"
    sent = await gateway.post({"query": other})
    assert (sent.status, sent.codes) == (400, ["PERSISTED_QUERY_ONLY"])
    registering = await gateway.post({"query": other, "extensions": apq(other)})
    assert registering.codes == ["PERSISTED_QUERY_ONLY"]
    assert (await gateway.post({"extensions": apq(other)})).codes == ["PERSISTED_QUERY_NOT_FOUND"]
    unknown = await gateway.post({"documentId": "no-such-document"})
    assert unknown.codes == ["PERSISTED_QUERY_NOT_FOUND"]
    assert (await gateway.post({"documentId": "x", "query": TYPENAME})).codes == ["BAD_REQUEST"]


async def test_trusted_mode_over_websocket(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, {"typename": TYPENAME})
    gateway = await make_gateway(persisted={"manifest": str(manifest), "only": True})
    async with connect(gateway.session, gateway.url) as client:
        await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        await client.send({"id": "1", "type": "subscribe", "payload": {"documentId": "typename"}})
        assert (await client.message("1"))["payload"] == {"data": {"__typename": "Query"}}
        await client.subscribe("2", "query Other { __typename }")
        refused = await client.message("2")
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_ONLY"


async def test_apollo_manifest_format_is_read(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path,
        {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                {
                    "id": document_hash(TYPENAME),
                    "name": "Typename",
                    "type": "query",
                    "body": TYPENAME,
                }
            ],
        },
    )
    gateway = await make_gateway(persisted={"manifest": str(manifest), "only": True})
    assert (await gateway.post({"extensions": apq(TYPENAME)})).body == {
        "data": {"__typename": "Query"}
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps({"0" * 64: TYPENAME}), "does not match its documents"),
        ("{not json", "is not UTF-8 JSON"),
        (json.dumps(["query { __typename }"]), "must be a JSON object"),
        (json.dumps({"a": 1}), "is not a non-empty string"),
        (json.dumps({"a": "query Big { __typename }" + " " * 2000}), "max_document_bytes"),
    ],
)
async def test_a_bad_manifest_refuses_to_start(
    make_gateway: GatewayFactory, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "persisted-documents.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        await make_gateway(
            persisted={"manifest": str(path), "only": True}, limits={"max_document_bytes": 1024}
        )


async def test_a_missing_manifest_or_only_without_one_refuses_to_start(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        await make_gateway(persisted={"manifest": str(tmp_path / "absent.json")})
    with pytest.raises(ConfigError, match=r"persisted\.only needs persisted\.manifest"):
        await make_gateway(persisted={"only": True})


# --- a real client ---------------------------------------------------------------

JS = Path(__file__).parent.parent / "js"


def _node_with_apollo() -> str:
    """The node binary, or skip (fail under CI) when node or Apollo Client is missing."""
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else "tests/js/node_modules is missing (run `make install`)"
        if not (JS / "node_modules" / "@apollo" / "client").is_dir()
        else None
    )
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"Apollo Client APQ test cannot run in CI: {missing}")
        pytest.skip(missing)
    assert node is not None
    return node


async def test_apollo_clients_persisted_query_link_falls_back_then_sends_hashes(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    process = await asyncio.create_subprocess_exec(
        _node_with_apollo(),
        str(JS / "apq.mjs"),
        gateway.url + "/graphql",
        KEYS["acme"],
        TYPENAME,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    requests = [line["request"] for line in lines if "request" in line]
    results = [line["result"] for line in lines if "result" in line]
    # The link hashes the document as Apollo prints it (with __typename added).
    digest = requests[1]["queryHash"]
    assert requests == [
        {"query": False, "hash": digest, "queryHash": None, "status": 200},  # not found yet
        {"query": True, "hash": digest, "queryHash": digest, "status": 200},  # registered
        {"query": False, "hash": digest, "queryHash": None, "status": 200},  # the hash alone
    ]
    assert results == [{"data": {"__typename": "Query"}, "errors": None}] * 2


async def test_a_document_over_a_limit_is_not_registered_over_websocket(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(limits={"max_depth": 3})
    async with connect(gateway.session, gateway.url) as client:
        await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        registering = {"query": DEEP, "extensions": apq(DEEP)}
        await client.send({"id": "1", "type": "subscribe", "payload": registering})
        refused = await client.message("1")
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert (await gateway.post({"extensions": apq(DEEP)})).codes == ["PERSISTED_QUERY_NOT_FOUND"]
