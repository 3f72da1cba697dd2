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
  connection), at what each provider's plug-in declares reading orders back costs
  (``ProviderPlugin.read_cost``: Kombo 1 call per 250 ids, Unified 1 per id, StackOne
  2 per id, an order and its result); an id that is not one of the tenant's
  orders costs 0 (the resolver finds nothing to read), and so does an id of a
  connection that cannot read orders back (``Capability.GET_ORDERS``: a StackOne
  connection on API version 2025-12-03), which the resolver answers with
  UNSUPPORTED_BY_PROVIDER without a call. ``publishPackages`` drops the
  cached list it changed, so in a mutation each root field pays for its own package
  reads.
- A package list longer than one provider page costs one call per page; the estimate
  counts one. That is the one place where it can be low.

List lengths come from the document or, for a variable, from the request's variables
(the variable's default when it is not sent); a single value given for a list counts
as one item, as GraphQL's input coercion makes it a list of one. ``CostPlan.id_arguments``
names every id a request looks up (``node``, ``nodes``, ``order``, ``refreshOrders``),
so ``limits.max_node_ids`` bounds them per request, across aliases and lists, and a
``refreshOrders`` id is decoded here exactly as the resolver decodes it
(``decode_global_id``): one it could not decode is refused before anything runs.
(``refreshOrders`` also takes at most 250 ids per list, Kombo's batch, checked by its
resolver.)

The plan is made in time linear in the document: each fragment is read once and its
reads combined where it is spread, never expanded (``ordergraph.schema.document_walk``).

graphql-core and Strawberry's id decoding only; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

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
from strawberry.relay import GlobalID
from strawberry.relay.types import GlobalIDValueError

from ordergraph.ids import possible_keys
from ordergraph.models import ProviderName
from ordergraph.providers.base import Capability
from ordergraph.providers.plugin import ReadCost
from ordergraph.providers.registry import plugin_of
from ordergraph.schema.document_walk import WALK, dependency_order, fragment_definitions

if TYPE_CHECKING:
    from ordergraph.sync.connections import LiveConnection

__all__ = [
    "ID_ARGUMENTS",
    "LOADED_PACKAGES",
    "PACKAGE_READS",
    "PRICED_IDS",
    "WRITES",
    "ArgumentValue",
    "ConnectionCost",
    "CostPlan",
    "IdArgument",
    "ItemTerm",
    "WriteCost",
    "decode_global_id",
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


@dataclass(frozen=True)
class ConnectionCost:
    """What the estimate needs to know of one of the tenant's connections."""

    provider: str
    # Whether refreshOrders reads this connection's orders: the same question its
    # resolver asks (``supports(Capability.GET_ORDERS)``), since it depends on the
    # connection (a StackOne API version), not on the provider alone.
    reads_orders: bool = True

    @property
    def read_cost(self) -> ReadCost:
        """Calls to read orders back (``refreshOrders``), as the provider's plug-in
        declares them; priced only when the connection reads orders at all."""
        return plugin_of(ProviderName(self.provider)).read_cost

    @classmethod
    def of(cls, connection: LiveConnection) -> ConnectionCost:
        return cls(
            provider=connection.provider_name.value,
            reads_orders=connection.provider.supports(Capability.GET_ORDERS),
        )


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

ID_ARGUMENTS: Final[Mapping[tuple[str, str], str]] = {
    ("Query", "node"): "id",
    ("Query", "nodes"): "ids",
    ("Query", "order"): "id",
    ("Mutation", REFRESH_FIELD): "ids",
}
"""Arguments whose ids a request looks up: bounded together by ``limits.max_node_ids``."""

PRICED_IDS: Final[frozenset[tuple[str, str]]] = frozenset({("Mutation", REFRESH_FIELD)})
"""Id arguments the estimate prices id by id: an id there that does not decode is
refused before anything runs (``INVALID_ID``), as its cost cannot be known. Elsewhere
(``node``, ``nodes``, ``order``) an id costs no provider call of its own, and the
resolvers answer a bad one with ``INVALID_ID`` where it stands (``nodes`` answers
every other id)."""


def decode_global_id(value: object) -> GlobalID | None:
    """The id as the resolvers read it, None when they could not.

    Strawberry turns an ``ID`` argument into the resolver's ``relay.GlobalID`` with
    ``GlobalID.from_id``, whose base64 decoding is lenient (it skips characters outside
    the alphabet); the estimate must read an id exactly as the resolver will, or an id
    it cannot read would cost nothing here and still reach a provider there. GraphQL's
    ``ID`` takes integers too, as their text.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        return GlobalID.from_id(str(value))
    except GlobalIDValueError:
        return None


def refresh_cost(ids: list[Any], providers: Mapping[str, ConnectionCost]) -> int:
    """Calls ``refreshOrders(ids)`` makes for a tenant whose connections are
    ``providers`` (connection id -> what it costs). An id that is not one of the
    tenant's orders costs nothing: the resolver finds no order and calls no one; nor
    does an id of a connection that does not read orders back."""
    per_connection: dict[str, int] = {}
    # Priced on every key an id may stand for, signature unchecked (the estimate has no
    # secret): a forged id is priced as a real one, never below what it may cost.
    keys = {
        key
        for decoded in map(decode_global_id, ids)
        if decoded is not None and decoded.type_name == "Order"
        for key in possible_keys(decoded.node_id)
    }
    for key in keys:
        connection, _, remote = key.partition(":")
        if connection in providers and remote:
            per_connection[connection] = per_connection.get(connection, 0) + 1
    total = 0
    for connection, count in per_connection.items():
        if not providers[connection].reads_orders:
            continue
        total += providers[connection].read_cost.of(count)
    return total


@dataclass(frozen=True)
class ItemTerm:
    """The calls that depend on a list argument of the root field ``field`` (its
    response name): ``per_item`` each, or ``refresh_cost`` of the ids."""

    field: str
    value: ArgumentValue
    per_item: int = 0
    refresh: bool = False


@dataclass(frozen=True)
class IdArgument:
    """The ids one field of the operation looks up (``ID_ARGUMENTS``)."""

    field: str
    argument: str
    value: ArgumentValue
    # In PRICED_IDS: an id that does not decode is refused before anything runs.
    priced: bool = False


@dataclass(frozen=True)
class CostPlan:
    """The priced parts of one operation."""

    fixed: int = 0
    # How many times every connection's package list may be read.
    package_reads: int = 0
    items: tuple[ItemTerm, ...] = ()
    # Every id argument the operation gives (each field once, however many fragments
    # spread it: GraphQL merges them into one execution), for ``max_node_ids``.
    id_arguments: tuple[IdArgument, ...] = ()
    # Default values of the operation's variables, for variables a request leaves out.
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def cost(
        self, variables: Mapping[str, Any] | None, providers: Mapping[str, ConnectionCost]
    ) -> int:
        """Upstream calls for a tenant whose connections are ``providers``
        (connection id -> what it costs)."""
        given = {**self.defaults, **(variables or {})}
        total = self.fixed + self.package_reads * len(providers)
        for term in self.items:
            values = term.value.items(given)
            total += (
                refresh_cost(values, providers) if term.refresh else term.per_item * len(values)
            )
        return total

    def id_count(self, variables: Mapping[str, Any] | None) -> int:
        """Ids the request looks up, across all its fields and aliases."""
        given = {**self.defaults, **(variables or {})}
        return sum(len(ids.value.items(given)) for ids in self.id_arguments)

    def undecodable_id(self, variables: Mapping[str, Any] | None) -> tuple[IdArgument, int] | None:
        """The first id the resolvers could not decode: its field and its index.

        Values of other types (a list or an object for an ``ID``) are left to
        execution's input coercion, which refuses them itself.
        """
        given = {**self.defaults, **(variables or {})}
        for ids in (ids for ids in self.id_arguments if ids.priced):
            for index, value in enumerate(ids.value.items(given)):
                coercible = isinstance(value, str | int) and not isinstance(value, bool)
                if coercible and decode_global_id(value) is None:
                    return ids, index
        return None


@dataclass
class _Reads:
    """What one selection tree reads, its spreads followed through ``fragments``."""

    packages: bool = False
    # id arguments by their value node: a field spread twice is counted once
    ids: dict[int, IdArgument] = field(default_factory=dict)

    def add(self, other: _Reads) -> None:
        self.packages = self.packages or other.packages
        self.ids.update(other.ids)


def plan_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None = None
) -> CostPlan | None:
    """The plan of the operation ``operation_name`` selects; None when there is no
    such operation (execution reports that). Fields the schema does not know are
    ignored: validation reports them.

    Linear in the document: each fragment is read once and its reads are combined
    where it is spread (``ordergraph.schema.document_walk``).
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    definitions = fragment_definitions(document)
    fragments = _fragment_reads(schema, definitions)
    defaults = {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    if operation.operation is not OperationType.MUTATION:
        reads = _reads(schema, root, operation.selection_set, fragments)
        return CostPlan(
            package_reads=1 if reads.packages else 0,
            id_arguments=tuple(reads.ids.values()),
            defaults=defaults,
        )
    fixed = package_reads = 0
    items: list[ItemTerm] = []
    ids: dict[int, IdArgument] = {}
    for node in _root_fields(operation.selection_set, definitions):
        # Each root field on its own: a write may drop the package list that an
        # earlier field's payload read, so each field pays for its own reads.
        one = _reads(schema, root, SelectionSetNode(selections=(node,)), fragments)
        package_reads += 1 if one.packages else 0
        ids.update(one.ids)
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
        id_arguments=tuple(ids.values()),
        defaults=defaults,
    )


def _response_name(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _argument(node: FieldNode, path: tuple[str, ...]) -> ArgumentValue:
    """The argument ``path[0]`` of ``node``, with the input fields ``path[1:]`` to follow."""
    name, *keys = path
    value = next((a.value for a in node.arguments or () if a.name.value == name), None)
    return ArgumentValue(value, tuple(keys))


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The root fields of an operation through its fragments, each fragment entered
    once: a fragment spread twice merges into the same fields, which run once."""
    found: list[FieldNode] = []
    entered: set[str] = set()
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            WALK.visits += 1
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in entered:
                    entered.add(name)
                    stack.append(fragment.selection_set)
    return found


def _own_reads(
    schema: GraphQLSchema, parent: GraphQLNamedType | None, selection_set: SelectionSetNode
) -> tuple[_Reads, list[str]]:
    """What a selection tree reads itself, and the fragments it spreads where they
    are walked (not under a field whose Packages are already loaded)."""
    reads = _Reads()
    spreads: list[str] = []
    stack: list[tuple[GraphQLNamedType | None, SelectionSetNode]] = [(parent, selection_set)]
    while stack:
        typed, current = stack.pop()
        for selection in current.selections:
            WALK.visits += 1
            if isinstance(selection, FieldNode):
                inner = _field(typed, selection, reads)
                if inner is not None and selection.selection_set is not None:
                    stack.append((inner, selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                stack.append(
                    (
                        schema.get_type(condition.name.value) if condition else typed,
                        selection.selection_set,
                    )
                )
            elif isinstance(selection, FragmentSpreadNode):
                spreads.append(selection.name.value)
    return reads, spreads


def _field(
    parent: GraphQLNamedType | None, node: FieldNode, reads: _Reads
) -> GraphQLNamedType | None:
    """Notes what ``node`` reads; the type to walk its selections with (None: do not)."""
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    name = node.name.value
    definition = parent.fields.get(name)
    if definition is None:
        return None
    if (parent.name, name) in PACKAGE_READS:
        reads.packages = True
    argument = ID_ARGUMENTS.get((parent.name, name))
    if argument is not None:
        value = _argument(node, (argument,))
        if value.node is not None:
            priced = (parent.name, name) in PRICED_IDS
            reads.ids[id(value.node)] = IdArgument(_response_name(node), argument, value, priced)
    if (parent.name, name) in LOADED_PACKAGES:
        return None
    named: GraphQLNamedType = get_named_type(definition.type)
    return named


def _fragment_reads(
    schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]
) -> dict[str, _Reads]:
    """Each fragment's reads, its own spreads included, combined in dependency order."""
    own: dict[str, tuple[_Reads, list[str]]] = {
        name: _own_reads(
            schema, schema.get_type(fragment.type_condition.name.value), fragment.selection_set
        )
        for name, fragment in fragments.items()
    }
    combined: dict[str, _Reads] = {}
    for name in dependency_order({name: spreads for name, (_, spreads) in own.items()}):
        reads, spreads = own[name]
        total = _Reads(reads.packages, dict(reads.ids))
        for spread in spreads:
            WALK.visits += 1
            if spread in combined:
                total.add(combined[spread])
        combined[name] = total
    return combined


def _reads(
    schema: GraphQLSchema,
    parent: GraphQLNamedType,
    selection_set: SelectionSetNode,
    fragments: Mapping[str, _Reads],
) -> _Reads:
    reads, spreads = _own_reads(schema, parent, selection_set)
    for spread in dict.fromkeys(spreads):
        WALK.visits += 1
        if spread in fragments:
            reads.add(fragments[spread])
    return reads
