"""Walking a GraphQL document in time linear in its size: each fragment once.

A fragment spread twice at each level of a chain (``fragment F2 on Order { ...F1
...F1 }``, ``fragment F3 on Order { ...F2 ...F2 }``, ...) describes 2^n fields in O(n)
tokens, so a walk that follows every spread does 2^n work. Every check made before
execution (``ordergraph.schema.limit_rules``, ``ordergraph.schema.cost``) therefore
walks each definition's *own* selections once, notes the fragments it spreads, and
combines per-fragment summaries in dependency order (``dependency_order``): by
addition and maximum, never by expansion.

Fragment cycles are invalid GraphQL (graphql-core's ``NoFragmentCyclesRule``), but
these walks run beside or before that rule: a spread that closes a cycle is left out
of the order and contributes nothing, so no walk loops. Everything here is iterative,
so a chain of thousands of fragments cannot reach Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from graphql import DocumentNode, FragmentDefinitionNode

__all__ = ["WALK", "WalkCounter", "dependency_order", "fragment_definitions", "saturate"]

SATURATION: Final = 2**31
"""Counts (fields, aliases) stop growing here: a doubling bomb's 2^59 is only "too many",
and bounded integers keep every addition constant-time."""


class WalkCounter:
    """Selections visited by the pre-execution walks, process-wide.

    Instrumentation for tests (``tests/api/test_limits_linear.py`` asserts the work
    grows linearly with the document); an integer increment per visit costs nothing
    next to the visit itself.
    """

    def __init__(self) -> None:
        self.visits = 0


WALK: Final = WalkCounter()


def saturate(count: int) -> int:
    return min(count, SATURATION)


def fragment_definitions(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragments by name (the first of duplicates, which validation
    refuses anyway)."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
    return fragments


def dependency_order(spreads: Mapping[str, Sequence[str]]) -> list[str]:
    """The fragment names of ``spreads`` (name -> names it spreads), each after every
    fragment it depends on. Unknown names are skipped; a spread that closes a cycle is
    ignored (the fragment it names is still in progress), so its summary is absent when
    the spreading fragment is combined and it counts as nothing."""
    order: list[str] = []
    started: set[str] = set()
    for start in spreads:
        if start in started:
            continue
        started.add(start)
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(spreads[start]))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(name)
                continue
            WALK.visits += 1
            if child in spreads and child not in started:
                started.add(child)
                stack.append((child, iter(spreads[child])))
    return order
