"""What the HTTP layer must know about a document before executing it.

Two facts: the operation's type (a mutation over GET is refused with 405, a
subscription over HTTP with 400, and only queries may be answered from the response
cache), and whether the operation selects a field whose value the tenant's data
version does not cover (such a response must not be cached).

Facts are computed once per (document, operation name) and kept in an LRU bounded by
memory (``ordergraph.schema.document_cache``), so a polling client pays for the parse
only once; execution keeps its own parse. A document over ``limits.max_document_bytes``
is not parsed, and nothing about it is kept.

The walk is graphql-core's ``visit`` with ``TypeInfo``: it is iterative and visits each
definition once, never following a fragment spread into its fragment, so it is linear
in the document however its fragments would expand (``tests/api/test_limits_linear.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_operation_ast,
    parse,
    visit,
)
from strawberry.types.base import StrawberryObjectDefinition

from ordergraph.keys import Scope
from ordergraph.schema.document_cache import DocumentCache
from ordergraph.schema.document_walk import WALK
from ordergraph.schema.field_scopes import root_field_scopes
from ordergraph.schema.limits import document_size_error

__all__ = [
    "NO_RESPONSE_CACHE",
    "UNCACHEABLE_FIELDS",
    "DocumentAnalyzer",
    "DocumentFacts",
]

NO_RESPONSE_CACHE: Final = "no_response_cache"
"""Field metadata key: ``strawberry.field(metadata={NO_RESPONSE_CACHE: True})`` marks a
field whose value can change without the tenant's data version changing."""

UNCACHEABLE_FIELDS: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        # Read from sync_state (poll times, last error, webhook registration), which
        # changes without an ingestion; a cached copy would show an old error.
        ("ProviderConnection", "syncStatus"),
        # A result delivery's state changes on every attempt, and also with no write
        # at all (a lease or a backoff running out turns IN_FLIGHT into a due
        # PENDING), so no data version can cover it.
        ("Order", "resultDelivery"),
    }
)
"""(type, field) pairs whose responses are never cached, besides marked fields."""


@dataclass(frozen=True)
class DocumentFacts:
    """``operation`` is None when it cannot be told (syntax error, unknown operation
    name); execution then reports the problem as a GraphQL error."""

    operation: OperationType | None
    uncacheable: bool = False
    # The scopes the operation needs (``ordergraph.schema.field_scopes``); empty when
    # the operation cannot be told.
    scopes: frozenset[Scope] = frozenset()


class _FieldCollector(Visitor):
    """Records the (parent type, field name) of every field selected."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.fields: set[tuple[str, str]] = set()

    def enter_field(self, node: FieldNode, *_: object) -> None:
        WALK.visits += 1
        parent = self.type_info.get_parent_type()
        if parent is not None:
            self.fields.add((parent.name, node.name.value))


def _selected_fields(schema: GraphQLSchema, document: DocumentNode) -> set[tuple[str, str]]:
    """Every field the document selects, with its parent type, fragments included."""
    type_info = TypeInfo(schema)
    collector = _FieldCollector(type_info)
    visit(document, TypeInfoVisitor(type_info, collector))
    return collector.fields


def _marked_fields(schema: strawberry.Schema) -> frozenset[tuple[str, str]]:
    """Fields whose Strawberry metadata says ``NO_RESPONSE_CACHE``."""
    marked: set[tuple[str, str]] = set()
    names = schema.config.name_converter
    for name, graphql_type in schema._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            continue
        definition = schema.get_type_by_name(name)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        marked.update(
            (name, names.get_graphql_name(field))
            for field in definition.fields
            if field.metadata.get(NO_RESPONSE_CACHE)
        )
    return frozenset(marked)


class DocumentAnalyzer:
    """Facts about documents of one schema, memoised."""

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        uncacheable: Iterable[tuple[str, str]] = UNCACHEABLE_FIELDS,
        maxsize: int = 1024,
        max_tokens: int | None = None,
        max_document_bytes: int | None = None,
    ) -> None:
        self._graphql_schema = schema._schema
        self._root_scopes = root_field_scopes(schema)
        # The same size and token limits as execution's, so a huge document is not
        # parsed here.
        self.max_tokens = max_tokens
        self.max_document_bytes = max_document_bytes
        self.uncacheable = frozenset(uncacheable) | _marked_fields(schema)
        # Facts are small; the key's text is what an entry weighs.
        self._facts: DocumentCache[DocumentFacts] = DocumentCache(max_entries=maxsize)

    def facts(self, query: str, operation_name: str | None) -> DocumentFacts:
        limit = self.max_document_bytes
        if limit is not None and document_size_error(query, limit) is not None:
            return DocumentFacts(operation=None)
        return self._facts.get_or_compute(
            (query, operation_name),
            lambda: self._compute(query, operation_name),
            lambda _: len(query),
        )

    def _compute(self, query: str, operation_name: str | None) -> DocumentFacts:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except (GraphQLError, RecursionError):
            return DocumentFacts(operation=None)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return DocumentFacts(operation=None)
        selected = _selected_fields(self._graphql_schema, document)
        return DocumentFacts(
            operation=operation.operation,
            uncacheable=bool(selected & self.uncacheable),
            scopes=self._root_scopes.needed(document, operation),
        )
