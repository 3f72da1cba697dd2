"""How many upstream provider calls one GraphQL operation could cause.

``plan_cost`` reads an operation once (the plan is kept per document) and
``CostPlan.cost`` prices it per request, with that request's variables and its
tenant's connections. The gateway refuses an operation whose cost is over
``limits.max_cost`` before it runs (``ordergraph.schema.limits``).

The model follows what the resolvers do, and counts the worst case over the three
adapters, first attempts only (a retry is the provider asking us to slow down, and
the HTTP client bounds it with ``max_attempts``):

- Reads. Every provider read behind a query field goes through a per-request
  dataloader (``ordergraph.resolvers.dataloaders``), which asks each connection at most
  once per request however many orders, aliases or list items ask; so list sizes do
  not multiply upstream calls (they multiply store reads, which ``limits.max_depth`` and
  the page size cap bound). The one provider read is a connection's package list. An
  operation that reads package data anywhere (``Package.name``, ``description``,
  ``type``; ``packages(connectionId)``; ``node``/``nodes``, since a Package id is looked
  up in its connection's list) costs one call per connection of the tenant; Packages
  that arrive with their details (``packages``, ``publishPackages``'s payload) read
  nothing more. The gateway cache usually makes that zero; the estimate does not
  count on it. A subscription pays it per event (each event gets fresh loaders), so
  its cost is the cost of one event. Everything else is read from the store: cost 0.
- Writes (mutations run one root field after another):
  ``submitResult`` 2 (Unified reads the order first to learn its workspace),
  ``createOrder`` 2 (Unified looks the package up first), ``publishPackages``
  1 + 1 per package (Unified lists the packages, then writes each one; Kombo one PUT).
  ``refreshOrders`` is priced by the connections its ids name (an Order id carries its
  connection): per Kombo connection 1 per 250 ids, per Unified id 1, per StackOne id 2
  (an order and its result are two reads); an id that is not one of the tenant's
  orders costs 0 (the resolver finds nothing to read). ``publishPackages`` drops the
  cached list it changed, so in a mutation each root field pays for its own package
  reads.
- A package list longer than one provider page costs one call per page; the estimate
  counts one. That is the one place where it can be low.

List lengths come from the document or, for a variable, from the request's variables
(the variable's default when it is not sent); a single value given for a list counts
as one item, as GraphQL's input coercion makes it a list of one. ``CostPlan.id_lists``
also names every ``nodes(ids)`` list, so ``limits.max_node_ids`` bounds it the same way
(``refreshOrders`` takes at most 250 ids, Kombo's batch, checked by its resolver).

Pure graphql-core: no Strawberry, no I/O.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    ValueNode,
    get_named_type,
    get_operation_ast,
    value_from_ast_untyped,
)

__all__ = [
    "LOADED_PACKAGES",
    "PACKAGE_READS",
    "REFRESH_CALLS",
    "WRITES",
    "ArgumentValue",
    "CostPlan",
    "ItemTerm",
    "WriteCost",
    "plan_cost",
    "refresh_cost",
]

PACKAGE_READS: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("Package", "name"),
        ("Package", "description"),
        ("Package", "type"),
        ("Query", "packages"),
        ("Query", "node"),
        ("Query", "nodes"),
    }
)
"""(type, field) pairs whose resolution may read a connection's package list."""

LOADED_PACKAGES: Final[frozenset[tuple[str, str]]] = frozenset(
    {("Query", "packages"), ("PublishPackagesPayload", "packages")}
)
"""Fields whose Packages come with their details: selecting names under them reads
nothing more (``Query.packages`` itself is a read, counted above)."""

REFRESH_CALLS: Final[Mapping[str, tuple[int, int]]] = {
    # provider: (calls per batch, ids per batch), as each adapter's get_orders reads.
    "kombo": (1, 250),
    "unified": (1, 1),
    "stackone": (2, 1),
}
"""Calls to read orders back, per provider (``refreshOrders``)."""


@dataclass(frozen=True)
class ArgumentValue:
    """An argument of a field as the document writes it (a literal, a variable, or a
    literal holding variables), and the input fields to follow inside it."""

    node: ValueNode | None
    keys: tuple[str, ...] = ()

    def resolve(self, variables: dict[str, Any]) -> Any:
        if self.node is None:
            return None
        value = value_from_ast_untyped(self.node, variables)
        for key in self.keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return None if value is Undefined else value

    def items(self, variables: dict[str, Any]) -> list[Any]:
        """The value as a list: a single value given for a list is a list of one, as
        GraphQL's input coercion makes it."""
        value = self.resolve(variables)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class WriteCost:
    """Upstream calls of one mutation field: ``fixed``, plus ``per_item`` for each item
    of the list at ``items`` (argument name, then input field names)."""

    fixed: int
    per_item: int = 0
    items: tuple[str, ...] = ()


WRITES: Final[Mapping[str, WriteCost]] = {
    "submitResult": WriteCost(fixed=2),
    "createOrder": WriteCost(fixed=2),
    "publishPackages": WriteCost(fixed=1, per_item=1, items=("input", "packages")),
}
"""Mutation fields that call a provider (see the module docstring for the numbers);
``refreshOrders`` is priced by the providers of its ids (``refresh_cost``)."""

REFRESH_FIELD: Final = "refreshOrders"

ID_LISTS: Final[Mapping[tuple[str, str], str]] = {("Query", "nodes"): "ids"}
"""List arguments bounded by ``limits.max_node_ids``."""


def refresh_cost(ids: list[Any], providers: Mapping[str, str]) -> int:
    """Calls ``refreshOrders(ids)`` makes for a tenant whose connections are
    ``providers`` (connection id -> provider name). An id that is not one of the
    tenant's orders costs nothing: the resolver finds no order and calls no one."""
    per_connection: dict[str, int] = {}
    for value in dict.fromkeys(v for v in ids if isinstance(v, str)):
        connection = _order_connection(value)
        if connection is not None and connection in providers:
            per_connection[connection] = per_connection.get(connection, 0) + 1
    total = 0
    for connection, count in per_connection.items():
        calls, batch = REFRESH_CALLS.get(providers[connection], (2, 1))
        total += calls * -(-count // batch)
    return total


def _order_connection(global_id: str) -> str | None:
    """The connection of an Order global id (``base64("Order:<connection>:<remote>")``)."""
    try:
        text = base64.b64decode(global_id, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    type_name, _, key = text.partition(":")
    connection, _, remote = key.partition(":")
    return connection if type_name == "Order" and connection and remote else None


@dataclass(frozen=True)
class ItemTerm:
    """The calls that depend on a list argument of the root field ``field`` (its
    response name): ``per_item`` each, or ``refresh_cost`` of the ids."""

    field: str
    value: ArgumentValue
    per_item: int = 0
    refresh: bool = False


@dataclass(frozen=True)
class CostPlan:
    """The priced parts of one operation."""

    fixed: int = 0
    # How many times every connection's package list may be read.
    package_reads: int = 0
    items: tuple[ItemTerm, ...] = ()
    # (field response name, value) of each ``nodes(ids)`` list, for ``max_node_ids``.
    id_lists: tuple[tuple[str, ArgumentValue], ...] = ()
    # Default values of the operation's variables, for variables a request leaves out.
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def cost(self, variables: Mapping[str, Any] | None, providers: Mapping[str, str]) -> int:
        """Upstream calls for a tenant whose connections are ``providers``
        (connection id -> provider name)."""
        given = {**self.defaults, **(variables or {})}
        total = self.fixed + self.package_reads * len(providers)
        for term in self.items:
            values = term.value.items(given)
            total += (
                refresh_cost(values, providers) if term.refresh else term.per_item * len(values)
            )
        return total

    def id_counts(self, variables: Mapping[str, Any] | None) -> Iterator[tuple[str, int]]:
        given = {**self.defaults, **(variables or {})}
        for name, value in self.id_lists:
            yield name, len(value.items(given))


def plan_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None = None
) -> CostPlan | None:
    """The plan of the operation ``operation_name`` selects; None when there is no
    such operation (execution reports that). Fields the schema does not know are
    ignored: validation reports them."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    walker = _Walker(
        schema,
        {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)},
    )
    defaults = {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    if operation.operation is not OperationType.MUTATION:
        walker.walk(root, operation.selection_set)
        return CostPlan(
            package_reads=1 if walker.reads_packages else 0,
            id_lists=tuple(walker.id_lists),
            defaults=defaults,
        )
    fixed = package_reads = 0
    items: list[ItemTerm] = []
    id_lists: list[tuple[str, ArgumentValue]] = []
    for node in walker.fields(root, operation.selection_set):
        # One walker per root field: a write may drop the package list that an earlier
        # field's payload read, so each field pays for its own reads.
        one = _Walker(schema, walker.fragments)
        one.walk(root, SelectionSetNode(selections=(node,)))
        package_reads += 1 if one.reads_packages else 0
        id_lists.extend(one.id_lists)
        if node.name.value == REFRESH_FIELD:
            items.append(ItemTerm(_response_name(node), _argument(node, ("ids",)), refresh=True))
        write = WRITES.get(node.name.value)
        if write is not None:
            fixed += write.fixed
            if write.per_item:
                value = _argument(node, write.items)
                items.append(ItemTerm(_response_name(node), value, per_item=write.per_item))
    return CostPlan(
        fixed=fixed,
        package_reads=package_reads,
        items=tuple(items),
        id_lists=tuple(id_lists),
        defaults=defaults,
    )


def _response_name(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _argument(node: FieldNode, path: tuple[str, ...]) -> ArgumentValue:
    """The argument ``path[0]`` of ``node``, with the input fields ``path[1:]`` to follow."""
    name, *keys = path
    value = next((a.value for a in node.arguments or () if a.name.value == name), None)
    return ArgumentValue(value, tuple(keys))


class _Walker:
    """Walks selections with their parent types, fragments followed once per path."""

    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.reads_packages = False
        self.id_lists: list[tuple[str, ArgumentValue]] = []

    def fields(
        self,
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode | None,
        seen: frozenset[str] = frozenset(),
    ) -> Iterator[FieldNode]:
        """The fields of ``selection_set`` on ``parent``, through fragments."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self.fields(parent, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    yield from self.fields(parent, fragment.selection_set, seen | {name})

    def walk(
        self,
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode | None,
        seen: frozenset[str] = frozenset(),
    ) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                self._field(parent, selection, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                typed = self.schema.get_type(condition.name.value) if condition else parent
                self.walk(typed or parent, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                typed = self.schema.get_type(fragment.type_condition.name.value)
                self.walk(typed or parent, fragment.selection_set, seen | {name})

    def _field(self, parent: GraphQLNamedType, node: FieldNode, seen: frozenset[str]) -> None:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        name = node.name.value
        definition = parent.fields.get(name)
        if definition is None:
            return
        if (parent.name, name) in PACKAGE_READS:
            self.reads_packages = True
        ids = ID_LISTS.get((parent.name, name))
        if ids is not None:
            self.id_lists.append((_response_name(node), _argument(node, (ids,))))
        if node.selection_set is not None and (parent.name, name) not in LOADED_PACKAGES:
            self.walk(get_named_type(definition.type), node.selection_set, seen)
