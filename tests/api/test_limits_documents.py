"""``limits.max_document_bytes``: checked before any parse, over GET, POST and WebSocket
(with an ``operationName`` too), and no cache keeps what it refused; the caches that
keep documents stay bounded in memory however many distinct documents arrive."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
from pathlib import Path
from typing import Any

import pytest

from ordergraph.resolvers.context import Context
from ordergraph.schema import schema
from ordergraph.schema.document_cache import DocumentCache, document_weight
from ordergraph.schema.limits import LimitedParserCache, LimitedValidationCache, request_limits
from ordergraph.settings import LimitSettings
from tests.api.conftest import KEYS, Api
from tests.api.ws_client import connect

GRJ = "application/graphql-response+json"
JSON = "application/json"
SMALL = {"max_document_bytes": 1024}


def padded(size: int, salt: str = "") -> str:
    """A valid query of exactly ``size`` bytes, mostly one comment (a single token)."""
    head = "{ __typename }\n# " + salt
    return head + "x" * (size - len(head.encode()))


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


async def _graphql(
    api: Api, method: str, document: str, accept: str = GRJ, **extra: Any
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {KEYS['acme']}", "Accept": accept}
    if method == "GET":
        request = api.session.get(
            api.url + "/graphql", params={"query": document, **extra}, headers=headers
        )
    else:
        request = api.session.post(
            api.url + "/graphql", json={"query": document, **extra}, headers=headers
        )
    async with request as response:
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize("api", [SMALL], indirect=True)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_document_over_the_size_limit_is_refused_before_it_is_parsed(
    api: Api, method: str
) -> None:
    # One byte over: refused as a limit's request error (400 / 200 by media type).
    for accept, status in ((GRJ, 400), (JSON, 200)):
        answer, body = await _graphql(api, method, padded(1025), accept=accept)
        assert answer == status, body
        assert "data" not in body
        assert _codes(body) == ["DOCUMENT_TOO_LARGE"]
        assert body["errors"][0]["extensions"]["maxDocumentBytes"] == 1024
    # Multi-byte characters count as their UTF-8 bytes: 513 two-byte characters.
    _, body = await _graphql(api, method, padded(1024 - 513) + "é" * 513)
    assert _codes(body) == ["DOCUMENT_TOO_LARGE"]
    # At the limit, it runs.
    answer, body = await _graphql(api, method, padded(1024))
    assert answer == 200, body
    assert body == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("api", [SMALL], indirect=True)
@pytest.mark.parametrize("operation_name", [None, "Named"])
async def test_a_document_over_the_size_limit_is_refused_over_websocket(
    api: Api, operation_name: str | None
) -> None:
    # With an operationName the handler parsed the document to look the name up, with
    # no limit at all; now the size is checked first, and that parse has the limits.
    document = padded(100_000).replace("{ __typename }", "query Named { __typename }")
    async with connect(api.session, api.url) as client:
        await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        payload = {"query": document, "operationName": operation_name}
        await client.send({"id": "1", "type": "subscribe", "payload": payload})
        message = await client.message("1")
        assert message["type"] == "error", message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["DOCUMENT_TOO_LARGE"]
        # The socket stays up for the next operation.
        payload = {"query": "query Named { __typename }", "operationName": operation_name}
        await client.send({"id": "2", "type": "subscribe", "payload": payload})
        assert (await client.message("2"))["payload"] == {"data": {"__typename": "Query"}}


async def test_a_document_over_the_token_limit_with_an_operation_name_is_not_parsed_whole(
    api: Api,
) -> None:
    # Within the size limit but over the token limit: the name lookup stops at the
    # token limit, and execution closes the socket as for any document that does not
    # parse (4400), as without an operationName.
    document = "query Named { " + "__typename " * 5000 + "}"
    async with connect(api.session, api.url) as client:
        await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        payload = {"query": document, "operationName": "Named"}
        await client.send({"id": "1", "type": "subscribe", "payload": payload})
        message = await client.message("1")
    assert message["close"] == 4400, message
    assert "more than 2000 tokens" in str(message["reason"])


async def test_execution_refuses_a_document_over_the_size_limit_without_parsing_it(
    api: Api,
) -> None:
    # Schema.execute directly (as the WebSocket transport runs it): the parser cache
    # refuses it with the code, and keeps nothing.
    context = Context(services=api.services, tenant="acme")
    document = padded(70_000, salt="execute")
    result = await schema.execute(document, context_value=context)
    assert result.errors is not None
    [error] = result.errors
    assert error.extensions == {"code": "DOCUMENT_TOO_LARGE", "maxDocumentBytes": 65536}
    assert error.locations is None


def test_caches_keep_nothing_over_the_size_limit() -> None:
    limits = request_limits(LimitSettings())
    document = padded(70_000, salt="plans")
    [error] = limits.check(schema._schema, document, None, {}, providers={})
    assert error.extensions is not None
    assert error.extensions["code"] == "DOCUMENT_TOO_LARGE"
    assert not any(document in key for key in limits._plans._entries if isinstance(key, tuple))


def test_a_document_cache_evicts_by_weight_and_skips_heavy_entries() -> None:
    cache: DocumentCache[int] = DocumentCache(max_entries=100, max_bytes=1000, max_entry_bytes=400)
    for n in range(10):
        cache.get_or_compute((f"doc{n}",), lambda: 1, lambda _: 300)
    assert len(cache) == 3  # 900 bytes of 1,000
    assert cache.bytes == 900
    cache.get_or_compute(("heavy",), lambda: 1, lambda _: 401)
    assert len(cache) == 3
    assert ("heavy",) not in cache._entries
    # A parsed document weighs its tokens.
    from graphql import parse

    # <SOF> { a } <EOF>: five tokens
    assert document_weight("{ a }", parse("{ a }")) == len("{ a }") + 5 * 400 + len("a")


def _rss_bytes() -> int:
    """Resident memory, after handing glibc's free heap back to the OS: what is still
    held, not what the allocator keeps for reuse."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with Path(f"/proc/{os.getpid()}/statm").open() as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# The parse and validation path is the store's business nowhere: one backend is enough.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_memory_stays_flat_after_many_distinct_maximal_documents(api: Api) -> None:
    # Each document is 64 KiB (the limit) and distinct; every one goes through the
    # whole HTTP path (analyzer, limits, parser and validation caches, execution).
    # 400 of them are 25 MiB of text, three times what each weighed cache holds (8 MiB):
    # a cache that kept them all would keep their parsed trees too, far over the bound.
    size = LimitSettings().max_document_bytes

    async def send(n: int) -> None:
        status, body = await _graphql(api, "POST", padded(size, salt=f"{n}-"))
        assert status == 200, body
        assert body["data"] == {"__typename": "Query"}

    for n in range(50):  # warm up: imports, pools, first cache entries
        await send(n)
    gc.collect()
    before = _rss_bytes()
    for n in range(50, 450):
        await send(n)
    gc.collect()
    grown = _rss_bytes() - before
    assert grown < 60 * 1024 * 1024, f"RSS grew {grown / 2**20:.1f} MiB"
    # The caches are bounded by weight (8 MiB each), not by entries alone.
    assert LimitedParserCache._cache.bytes <= 8 * 2**20
    assert LimitedValidationCache._cache.bytes <= 8 * 2**20
