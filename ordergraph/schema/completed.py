"""Completed selection sets kept on the nodes they were completed from.

An ``Order`` node is built once per stored row and never changes (``schema/orders.py``,
``_BuiltNodes``), and most of what a page asks of it (ids, status, candidate, job,
package id) is plain attributes of it and of the values it holds. graphql-core still
executes each of those fields for every order of every page: an ``Info`` object, the
resolver, the completion of the value, ~13 fields per order, ~650 per 50-order page,
which was ~70% of a page's time after everything else was taken out of the path.

Here a node built that way carries a small memo (``keep_completed``), and the executor
of plain reads (``CompletedSelectionsExecutor``) completes a selection set on it once:
the completed mapping is kept on the node, keyed by the selection, and the next page
that asks the same selection of the same node gets that mapping without executing its
fields again. The answer is the same by construction:

- only a *pure* selection is kept: every field in it, at every depth, is a plain
  attribute read (``schema/getters.py``) or ``__typename``, with object values of
  object types (not interfaces or unions) and no ``@defer``; such a field's value is a
  function of the node alone, which never changes (a changed row is another node);
- the selection is told by its field nodes (from the parse cache, held alive by the
  key so an identity cannot be reused) and by the request's variables (``@include``
  and ``@skip`` may read them);
- a completion that raised or added an error is not kept;
- kept mappings are shared by later answers and never modified: the HTTP layer encodes
  them, nothing writes to them.

The caller is not part of the key: a field whose answer depends on who asks (the
``pii`` fields, null with a FORBIDDEN error without the scope) has a resolver that reads
the context, so a selection holding one is not pure and is executed for every caller.
Tenants cannot meet here: a node is built from one tenant's row with that tenant's id
codec.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLObjectType,
    TypeNameMetaFieldDef,
    get_named_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

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
    """One selection set of one object type under one set of variables; its identity
    is the memo key on the nodes. Holds its field nodes, so their ids (part of the
    decision's key) cannot be reused while the decision is kept."""

    __slots__ = ("field_nodes", "pure")

    def __init__(self, field_nodes: tuple[Any, ...], pure: bool) -> None:
        self.field_nodes = field_nodes
        self.pure = pure


_SELECTIONS: dict[tuple[object, ...], _Selection] = {}


class CompletedSelectionsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, completing pure selections of memo-carrying nodes once
    (module docstring). ``variables_key`` names the request's variables (canonical
    JSON; empty for none)."""

    def __init__(self, *args: Any, variables_key: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._variables_key = variables_key
        self._selections: dict[int, tuple[FieldDetailsList, _Selection]] = {}

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        memo: dict[_Selection, dict[str, Any]] | None = getattr(result, MEMO_ATTRIBUTE, None)
        if memo is None or position_context is not None:
            return super().collect_and_execute_subfields(
                return_type, field_details_list, path, result, position_context
            )
        selection = self._selection(return_type, field_details_list)
        if not selection.pure:
            return super().collect_and_execute_subfields(
                return_type, field_details_list, path, result, position_context
            )
        kept = memo.get(selection)
        if kept is not None:
            return kept
        errors = len(self.collected_errors.errors)
        completed = super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context
        )
        if isinstance(completed, dict) and len(self.collected_errors.errors) == errors:
            if len(memo) >= MAX_PER_NODE:
                del memo[next(iter(memo))]
            memo[selection] = completed
        return completed

    def _selection(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> _Selection:
        # graphql-core hands the same list for every item of a list field within one
        # execution (its own sub-field memo relies on that too).
        known = self._selections.get(id(field_details_list))
        if known is not None and known[0] is field_details_list:
            return known[1]
        nodes = tuple(details.node for details in field_details_list)
        key = (return_type, tuple(map(id, nodes)), self._variables_key)
        selection = _SELECTIONS.get(key)
        if selection is None:
            if len(_SELECTIONS) >= MAX_SELECTIONS:
                _SELECTIONS.clear()
            selection = _SELECTIONS[key] = _Selection(
                nodes, self._is_pure(return_type, field_details_list)
            )
        self._selections[id(field_details_list)] = (field_details_list, selection)
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
        for sub_details in grouped.values():
            node = sub_details[0].node
            field = self.schema.get_field(return_type, node.name.value)
            if field is None or any(d.fragment_variable_values is not None for d in sub_details):
                return False
            if field is not TypeNameMetaFieldDef and not is_plain_getter(field.resolve):
                return False
            named = get_named_type(field.type)
            if is_object_type(named):
                if not self._is_pure(named, sub_details):
                    return False
            elif not is_leaf_type(named):
                return False  # an interface or union: its runtime type is resolved
        return True
