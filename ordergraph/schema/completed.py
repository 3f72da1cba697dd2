"""Completed selection sets kept on the nodes they were completed from.

An ``Order`` node is built once per stored row and never changes (``schema/orders.py``,
``_BuiltNodes``), and most of what a page asks of it (ids, status, candidate, job,
package id) is plain attributes of it and of the values it holds. graphql-core still
executes each of those fields for every order of every page: an ``Info`` object, the
resolver, the completion of the value, ~13 fields per order, ~650 per 50-order page,
which was ~70% of a page's time after everything else was taken out of the path.

Here a node built that way carries a small memo (``keep_completed``), and the executor
of plain reads (``CompletedSelectionsExecutor``) completes the *pure* fields of a
selection on it once: the completed mapping is kept on the node, keyed by the
selection, and the next page that asks the same selection of the same node reuses it.
Fields that are not pure (``connection``, ``events``, a package's name from the
provider's list) are executed every time and merged in, in the selection's order; a
selection with no other field is answered by the kept mapping itself. The answer is
the same by construction:

- a field is *pure* when it, and every field below it at every depth, is a plain
  attribute read (``schema/getters.py``) or ``__typename``, with object values of
  object types (not interfaces or unions) and no ``@defer``; such a field's value is a
  function of the node alone, which never changes (a changed row is another node);
- the selection is told by its field nodes (from the parse cache, held alive by the
  key so an identity cannot be reused) and by the request's variables (``@include``
  and ``@skip`` may read them);
- a completion that added an error is not kept;
- kept mappings are shared by later answers and never modified: the HTTP layer encodes
  them, nothing writes to them.

The caller is not part of the key: a field whose answer depends on who asks (the
``pii`` fields, null with a FORBIDDEN error without the scope) has a resolver that reads
the context, so a selection holding one is not pure and is executed for every caller.
Tenants cannot meet here: a node is built from one tenant's row with that tenant's id
codec.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from graphql import (
    GraphQLObjectType,
    TypeNameMetaFieldDef,
    get_named_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path

from ordergraph.schema.acyclic import AcyclicExecutor
from ordergraph.schema.getters import is_plain_getter

__all__ = ["MEMO_ATTRIBUTE", "CompletedSelectionsExecutor", "keep_completed"]

MEMO_ATTRIBUTE = "_og_completed"
"""The attribute of a node that holds its completed selections (absent: none kept)."""

MAX_PER_NODE = 4
"""Selections kept per node: a client asks a handful of shapes of a node, not more."""

MAX_SELECTIONS = 4096
"""Pure-or-not decisions kept per process (each holds its field nodes alive)."""


def keep_completed(node: Any) -> Any:
    """Let ``node`` keep its completed selections: only for a node that never changes
    once built and is shared by every read of its row."""
    object.__setattr__(node, MEMO_ATTRIBUTE, {})
    return node


class _Selection:
    """One selection set of one object type under one set of variables, and which of
    its response names are pure; its identity is the memo key on the nodes. Holds its
    field nodes, so their ids (part of the decision's key) cannot be reused while the
    decision is kept."""

    __slots__ = ("field_nodes", "pure_names")

    def __init__(self, field_nodes: tuple[Any, ...], pure_names: frozenset[str]) -> None:
        self.field_nodes = field_nodes
        self.pure_names = pure_names


class _Plan(NamedTuple):
    """A selection as one execution splits it: the pure fields (completed once per
    node), the others (executed every time), and the response names in order."""

    selection: _Selection
    pure: GroupedFieldSet
    rest: GroupedFieldSet
    names: tuple[str, ...]


_SELECTIONS: dict[tuple[object, ...], _Selection] = {}


class CompletedSelectionsExecutor(AcyclicExecutor):
    """The schema's executor (``AcyclicExecutor``), completing the pure fields of a
    memo-carrying node once (module docstring). ``variables_key`` names the request's
    variables (canonical JSON; empty for none)."""

    def __init__(self, *args: Any, variables_key: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._variables_key = variables_key
        self._plans: dict[int, tuple[FieldDetailsList, _Plan | None]] = {}

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        memo: dict[_Selection, dict[str, Any]] | None = getattr(result, MEMO_ATTRIBUTE, None)
        plan = None
        if memo is not None and position_context is None:
            plan = self._plan(return_type, field_details_list)
        if plan is None:
            return super().collect_and_execute_subfields(
                return_type, field_details_list, path, result, position_context
            )
        assert memo is not None
        kept = memo.get(plan.selection)
        if kept is None:
            errors = len(self.collected_errors.errors)
            completed = self.execute_fields(return_type, result, path, plan.pure, None)
            if not isinstance(completed, dict):  # not pure after all: never kept
                return self._merged_later(completed, plan, return_type, result, path)
            kept = completed
            if len(self.collected_errors.errors) == errors:
                if len(memo) >= MAX_PER_NODE:
                    del memo[next(iter(memo))]
                memo[plan.selection] = kept
        if not plan.rest:
            return kept
        rest = self.execute_fields(return_type, result, path, plan.rest, None)
        if isinstance(rest, dict):
            return _merged(plan.names, kept, rest)

        async def merge_later() -> dict[str, Any]:
            return _merged(plan.names, kept, await rest)

        return merge_later()

    def _merged_later(
        self,
        pure: Any,
        plan: _Plan,
        return_type: GraphQLObjectType,
        result: Any,
        path: Path,
    ) -> Any:
        rest = self.execute_fields(return_type, result, path, plan.rest, None) if plan.rest else {}

        async def merge() -> dict[str, Any]:
            done = await pure
            others = rest if isinstance(rest, dict) else await rest
            return _merged(plan.names, done, others)

        return merge()

    def _plan(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> _Plan | None:
        # graphql-core hands the same list for every item of a list field within one
        # execution (its own sub-field memo relies on that too).
        known = self._plans.get(id(field_details_list))
        if known is not None and known[0] is field_details_list:
            return known[1]
        grouped, defer_usages, _ = self.collect_subfields(return_type, field_details_list)
        plan: _Plan | None = None
        if not defer_usages and not any(
            details.fragment_variable_values is not None for details in field_details_list
        ):
            selection = self._selection(return_type, field_details_list, grouped)
            if selection.pure_names:
                pure = {n: d for n, d in grouped.items() if n in selection.pure_names}
                rest = {n: d for n, d in grouped.items() if n not in selection.pure_names}
                plan = _Plan(selection, pure, rest, tuple(grouped))
        self._plans[id(field_details_list)] = (field_details_list, plan)
        return plan

    def _selection(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        grouped: GroupedFieldSet,
    ) -> _Selection:
        nodes = tuple(details.node for details in field_details_list)
        key = (return_type, tuple(map(id, nodes)), self._variables_key)
        selection = _SELECTIONS.get(key)
        if selection is None:
            if len(_SELECTIONS) >= MAX_SELECTIONS:
                _SELECTIONS.clear()
            pure_names = frozenset(
                name
                for name, sub_details in grouped.items()
                if self._field_is_pure(return_type, sub_details)
            )
            selection = _SELECTIONS[key] = _Selection(nodes, pure_names)
        return selection

    def _is_pure(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> bool:
        """Whether every field selected here, at every depth, reads a plain attribute."""
        if any(details.fragment_variable_values is not None for details in field_details_list):
            return False
        grouped, defer_usages, _ = self.collect_subfields(return_type, field_details_list)
        if defer_usages:
            return False
        return all(self._field_is_pure(return_type, details) for details in grouped.values())

    def _field_is_pure(self, parent_type: GraphQLObjectType, details: FieldDetailsList) -> bool:
        """Whether one selected field reads a plain attribute, and so does every field
        below it."""
        field = self.schema.get_field(parent_type, details[0].node.name.value)
        if field is None or any(d.fragment_variable_values is not None for d in details):
            return False
        if field is not TypeNameMetaFieldDef and not is_plain_getter(field.resolve):
            return False
        named = get_named_type(field.type)
        if is_object_type(named):
            return self._is_pure(named, details)
        return is_leaf_type(named)  # not an interface or union: their type is resolved


def _merged(names: tuple[str, ...], kept: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """One object's answer in the selection's order, from the kept part and the rest."""
    merged: dict[str, Any] = {}
    for name in names:
        if name in kept:
            merged[name] = kept[name]
        elif name in rest:
            merged[name] = rest[name]
    return merged
