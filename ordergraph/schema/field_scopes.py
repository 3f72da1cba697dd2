"""Which scopes an operation needs, from the root fields it selects.

A query or subscription needs ``read``. A mutation needs, for each root field it
selects, the scope the field declares in its Strawberry metadata
(``strawberry.mutation(metadata={REQUIRED_SCOPE: Scope.ADMIN})``), else ``write``: so
the admin mutations need ``admin`` and the others ``write``, and a document mixing
both needs both. The HTTP layer (403 before executing) and the schema's
``OperationScopes`` extension (every transport) ask this one function.

Only the root selection set is walked (fragments spread at the root included, each
once), so it is linear in the document.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Final

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from strawberry.types.base import StrawberryObjectDefinition

from ordergraph.keys import Scope

__all__ = ["REQUIRED_SCOPE", "RootFieldScopes", "root_field_scopes"]

REQUIRED_SCOPE: Final = "ordergraph_required_scope"
"""Field metadata key: the scope a root mutation field needs instead of ``write``."""

_DEFAULT: Final = {
    OperationType.QUERY: Scope.READ,
    OperationType.SUBSCRIPTION: Scope.READ,
    OperationType.MUTATION: Scope.WRITE,
}


class RootFieldScopes:
    """The scopes root fields declare, read once from a schema."""

    def __init__(self, declared: Mapping[tuple[str, str], Scope], mutation_type: str | None):
        self._declared = dict(declared)
        self._mutation_type = mutation_type

    def needed(
        self, document: DocumentNode, operation: OperationDefinitionNode
    ) -> frozenset[Scope]:
        """The scopes ``operation`` (of ``document``) needs."""
        default = _DEFAULT[operation.operation]
        if operation.operation is not OperationType.MUTATION or not self._declared:
            return frozenset({default})
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        needed: set[Scope] = set()
        for name in _root_field_names(operation.selection_set, fragments):
            if name == "__typename":
                continue
            needed.add(self._declared.get((self._mutation_type or "", name), default))
        return frozenset(needed or {default})


_READ: Final[weakref.WeakKeyDictionary[strawberry.Schema, RootFieldScopes]] = (
    weakref.WeakKeyDictionary()
)


def root_field_scopes(schema: strawberry.Schema) -> RootFieldScopes:
    """The root fields of ``schema`` that declare a scope, with it (read once per schema)."""
    found = _READ.get(schema)
    if found is None:
        found = _READ[schema] = _read(schema)
    return found


def _read(schema: strawberry.Schema) -> RootFieldScopes:
    declared: dict[tuple[str, str], Scope] = {}
    names = schema.config.name_converter
    mutation = schema._schema.mutation_type
    if mutation is not None:
        definition = schema.get_type_by_name(mutation.name)
        if isinstance(definition, StrawberryObjectDefinition):
            for field in definition.fields:
                scope = field.metadata.get(REQUIRED_SCOPE) if field.metadata else None
                if scope is not None:
                    declared[(mutation.name, names.get_graphql_name(field))] = Scope(scope)
    return RootFieldScopes(declared, mutation.name if mutation is not None else None)


def _root_field_names(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                # Each fragment once: a spread repeated (or a cycle, which validation
                # refuses later) adds nothing.
                if fragment is not None and name not in seen:
                    seen.add(name)
                    pending.append(fragment.selection_set)
    return names
