"""A finished execution leaves no reference cycle (``ordergraph.schema.acyclic``): its
context and everything it loaded are freed by reference counting when the request
ends, not by a later pause of the cyclic collector."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import strawberry
from graphql import build_schema, parse

from ordergraph.keys import Scope
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema
from ordergraph.schema.acyclic import AcyclicExecutor
from tests.api.conftest import Api
from tests.api.helpers import fill_index
from tests.conftest import Sandbox

PAGE = """{ orders(first: 50) { edges { node { id remoteId status package { id }
  candidate { emails firstName lastName } job { title hiringTeam { email } } } } } }"""


@contextmanager
def _cyclic_garbage() -> Iterator[list[Any]]:
    """What the cyclic collector would have had to free of the work inside the block."""
    found: list[Any] = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _kinds(objects: list[Any]) -> set[str]:
    return {type(o).__name__ for o in objects}


async def _twice(run: Callable[[], Awaitable[Any]]) -> None:
    for _ in range(2):
        result = await run()
        assert result.errors is None, result.errors
        assert len(result.data["orders"]["edges"]) == 50


async def test_a_plain_read_frees_its_context_without_the_collector(
    api: Api, sandbox: Sandbox
) -> None:
    await fill_index(api, sandbox)

    def run() -> Awaitable[Any]:
        context = Context(services=api.services, tenant="acme", scopes=frozenset({Scope.READ}))
        return schema.execute(PAGE, context_value=context)

    await run()  # warm: parse and validation caches, built nodes
    with _cyclic_garbage() as garbage:
        await _twice(run)
    kinds = _kinds(garbage)
    assert "Context" not in kinds
    assert not any(isinstance(o, AcyclicExecutor) for o in garbage)


async def test_strawberrys_own_path_frees_its_context_too(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)

    def run() -> Awaitable[Any]:
        context = Context(services=api.services, tenant="acme", scopes=frozenset({Scope.READ}))
        return strawberry.Schema.execute(schema, PAGE, context_value=context)

    await run()
    with _cyclic_garbage() as garbage:
        await _twice(run)
    assert "Context" not in _kinds(garbage)
    assert not any(isinstance(o, AcyclicExecutor) for o in garbage)


def test_the_schema_executes_with_the_acyclic_executor() -> None:
    assert schema.execution_context_class is AcyclicExecutor


def test_an_executor_is_freed_by_reference_counting_alone() -> None:
    core = build_schema("type Query { greeting: String }")
    executor = AcyclicExecutor.build(core, parse("{ greeting }"), {"greeting": "hello"})
    assert isinstance(executor, AcyclicExecutor)
    gone = weakref.ref(executor)
    gc.disable()
    try:
        result = executor.execute_operation()
        assert result.data == {"greeting": "hello"}  # type: ignore[union-attr]
        del executor
        assert gone() is None
    finally:
        gc.enable()


def test_a_per_event_executor_has_helpers_of_its_own() -> None:
    core = build_schema("type Query { a: String } type Subscription { greeting: String }")
    executor = AcyclicExecutor.build(core, parse("subscription { greeting }"))
    assert isinstance(executor, AcyclicExecutor)
    event = executor.build_per_event_executor({"greeting": "hello"})
    del executor
    gc.collect()
    # The original is gone; the copy's helpers still work, bound to the copy.
    event.async_helpers.track([])
    assert event.execute_operation(False).data == {"greeting": "hello"}  # type: ignore[union-attr]
