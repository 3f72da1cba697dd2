"""Every check before execution is linear in the document, whatever its fragments expand to.

Work is counted, not timed: ``WALK.visits`` counts the selections the limit rules,
the cost planner and the document analyzer visit, and it must stay within a constant
times the document's tokens across generated fragment shapes. The doubling bomb that
used to freeze the server (2^59 fields in a few hundred tokens) must be answered over
HTTP and WebSocket while ``/healthz`` keeps answering.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graphql import Lexer, Source, TokenKind, parse
from hypothesis import given
from hypothesis import strategies as st

from ordergraph.api.documents import DocumentAnalyzer
from ordergraph.schema import schema
from ordergraph.schema.cost import ConnectionCost, plan_cost
from ordergraph.schema.document_shape import measure_document
from ordergraph.schema.document_walk import WALK
from ordergraph.schema.limits import RequestLimits
from ordergraph.settings import LimitSettings
from tests.api.conftest import KEYS, Api
from tests.api.ws_client import connect
from tests.fuzz.fragment_shapes import bomb, fragment_documents
from tests.fuzz.profiles import fuzz_settings

GRJ = "application/graphql-response+json"
# Visits per token: a selection is at least one token, and each is visited by the
# shape rule, the planner and the analyzer, plus one visit per spread when combining.
VISITS_PER_TOKEN = 8


def tokens(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def checking_visits(document: str) -> int:
    """The visits of every pre-execution check of ``document``, from cold caches."""
    limits = RequestLimits(LimitSettings(max_tokens=100_000))
    analyzer = DocumentAnalyzer(schema, max_tokens=100_000)
    before = WALK.visits
    limits.check(schema._schema, document, None, {}, providers={"c": ConnectionCost("kombo")})
    # The planner too, though the rules above refuse most of these documents first.
    plan_cost(schema._schema, parse(document, max_tokens=100_000))
    analyzer.facts(document, None)
    return WALK.visits - before


def test_the_doubling_bomb_is_measured_without_being_expanded() -> None:
    document = bomb(59)
    shape = measure_document(parse(document))
    # 2^58 fields, saturated at 2^31: measured, not expanded.
    assert shape.fields >= 2**31
    assert checking_visits(document) <= VISITS_PER_TOKEN * tokens(document)
    errors = RequestLimits(LimitSettings()).check(schema._schema, document, None, {}, providers={})
    assert [e.extensions["code"] for e in errors if e.extensions] == ["TOO_MANY_FIELDS"]


def test_doubling_aliases_are_counted_as_they_expand() -> None:
    # 2^4 = 16 aliases and 16 fields once expanded; each fragment written once.
    document = bomb(5, leaf="a: id")
    limits = RequestLimits(LimitSettings(max_aliases=15, max_fields=19))
    errors = limits.check(schema._schema, document, None, {}, providers={})
    assert [e.extensions["code"] for e in errors if e.extensions] == ["TOO_MANY_ALIASES"]
    assert "16 aliases found" in errors[0].message
    # One more field (the operation's own path: orders, edges, node) is over max_fields.
    limits = RequestLimits(LimitSettings(max_aliases=16, max_fields=18))
    errors = limits.check(schema._schema, document, None, {}, providers={})
    assert [e.extensions["code"] for e in errors if e.extensions] == ["TOO_MANY_FIELDS"]
    limits = RequestLimits(LimitSettings(max_aliases=16, max_fields=19))
    assert limits.check(schema._schema, document, None, {}, providers={}) == []


def test_depth_follows_fragments_as_strawberry_counted_it() -> None:
    # orders > edges > node > candidate > name: depth 4 (the deepest selection's level).
    document = """
    query { orders { ...E } }
    fragment E on OrderConnection { edges { node { ...C } } }
    fragment C on Order { candidate { name } }
    """
    assert (
        RequestLimits(LimitSettings(max_depth=4)).check(
            schema._schema, document, None, {}, providers={}
        )
        == []
    )
    [error] = RequestLimits(LimitSettings(max_depth=3)).check(
        schema._schema, document, None, {}, providers={}
    )
    assert error.extensions == {"code": "QUERY_TOO_DEEP", "maxDepth": 3}
    assert error.locations  # where the deepest path leaves the operation


def test_fragment_cycles_and_long_chains_neither_loop_nor_recurse() -> None:
    cycle = """
    query { orders { edges { node { ...A } } } }
    fragment A on Order { id ...B }
    fragment B on Order { status ...A ...A }
    """
    # The cycle is validation's to report (NoFragmentCyclesRule); the limits just end.
    assert RequestLimits(LimitSettings()).check(schema._schema, cycle, None, {}, providers={}) == []
    chain = "query { orders { edges { node { ...F5000 } } } } fragment F0 on Order { id } "
    chain += " ".join(f"fragment F{n} on Order {{ ...F{n - 1} }}" for n in range(1, 5001))
    # Our walks are iterative: 5,000 fragments deep is just 5,000 fragments.
    before = WALK.visits
    assert measure_document(parse(chain, max_tokens=100_000)).fields == 4  # orders edges node id
    assert plan_cost(schema._schema, parse(chain, max_tokens=100_000)) is not None
    assert WALK.visits - before <= VISITS_PER_TOKEN * tokens(chain)
    # graphql-core's own fragment nesting check recurses, and gives up: a coded refusal.
    limits = RequestLimits(LimitSettings(max_tokens=100_000, max_document_bytes=1_000_000))
    [error] = limits.check(schema._schema, chain, None, {}, providers={})
    assert error.extensions == {"code": "QUERY_TOO_DEEP", "maxDepth": 10}
    assert "nested too deeply" in error.message


@fuzz_settings(examples=150)
@given(document=fragment_documents())
def test_checking_work_is_linear_in_the_document(document: str) -> None:
    assert checking_visits(document) <= VISITS_PER_TOKEN * tokens(document)


@fuzz_settings(examples=30)
@given(levels=st.integers(2, 60), extra=fragment_documents(max_fragments=6))
def test_checking_work_is_linear_for_bombs_beside_other_shapes(levels: int, extra: str) -> None:
    # A bomb's fragments renamed beside a generated document's.
    document = extra + "\n" + bomb(levels).replace("F", "B").replace("query Bomb", "query Bomb2")
    assert checking_visits(document) <= VISITS_PER_TOKEN * tokens(document)


# --- over the wire -------------------------------------------------------------------------


async def _healthz_meanwhile(api: Api, request: Any) -> Any:
    """``request``'s result, with /healthz asked while it is in flight."""

    async def healthz() -> int:
        async with api.session.get(api.url + "/healthz") as response:
            return response.status

    answer, health = await asyncio.wait_for(asyncio.gather(request, healthz()), timeout=10)
    assert health == 200
    return answer


async def test_the_59_level_bomb_is_refused_over_http_and_healthz_answers(api: Api) -> None:
    async def post() -> tuple[int, dict[str, Any]]:
        async with api.session.post(
            api.url + "/graphql",
            json={"query": bomb(59), "operationName": "Bomb"},
            headers={"Authorization": f"Bearer {KEYS['acme']}", "Accept": GRJ},
        ) as response:
            return response.status, await response.json(content_type=None)

    status, body = await _healthz_meanwhile(api, post())
    assert status == 400, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TOO_MANY_FIELDS"]

    # Over GET as well.
    async def get() -> tuple[int, dict[str, Any]]:
        async with api.session.get(
            api.url + "/graphql",
            params={"query": bomb(59)},
            headers={"Authorization": f"Bearer {KEYS['acme']}", "Accept": GRJ},
        ) as response:
            return response.status, await response.json(content_type=None)

    status, body = await _healthz_meanwhile(api, get())
    assert status == 400, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TOO_MANY_FIELDS"]


@pytest.mark.parametrize("operation_name", [None, "Bomb"])
async def test_the_59_level_bomb_is_refused_over_websocket_and_healthz_answers(
    api: Api, operation_name: str | None
) -> None:
    async with connect(api.session, api.url) as client:
        await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        payload = {"query": bomb(59), "operationName": operation_name}
        await client.send({"id": "1", "type": "subscribe", "payload": payload})
        message = await _healthz_meanwhile(api, client.message("1", within=10))
        assert message["type"] == "error", message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["TOO_MANY_FIELDS"]
        # The socket serves the client's next operation.
        await client.subscribe("2", "{ __typename }")
        assert (await client.message("2"))["payload"] == {"data": {"__typename": "Query"}}
