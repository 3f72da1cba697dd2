"""The shape of a document after fragment expansion, measured without expanding.

Depth, aliases and fields are what ``limits.max_depth``, ``max_aliases`` and
``max_fields`` bound (``ordergraph.schema.limit_rules``). Each definition's own
selections are walked once; a spread adds its fragment's summary (fields and aliases
add up, depth is the spread's level plus the fragment's depth), so a document whose
expansion is 2^59 fields is measured in the time it takes to read it
(``ordergraph.schema.document_walk``).

Depth follows Strawberry's ``QueryDepthLimiter``, which the rules replace: a selection's
level is the number of fields with selections around it, introspection fields
(``__schema``, ``__type``) are not followed, and the depth of an operation is the
deepest level of any of its selections. ``{ orders { edges { node { id } } } }`` has
depth 3.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)

from ordergraph.schema.document_walk import (
    WALK,
    dependency_order,
    fragment_definitions,
    saturate,
)

__all__ = ["DocumentShape", "Shape", "measure_document"]


@dataclass(frozen=True)
class Shape:
    """One definition, its fragments expanded: the deepest level of a selection, where
    the path to it starts (for the error's location), aliased fields and fields."""

    depth: int = 0
    deepest: Node | None = None
    aliases: int = 0
    fields: int = 0


@dataclass(frozen=True)
class DocumentShape:
    """Every operation's shape, by operation (name or None), and the document's totals."""

    operations: tuple[tuple[OperationDefinitionNode, Shape], ...]
    aliases: int
    fields: int


@dataclass
class _Draft:
    """A definition's own selections, and the fragments it spreads at which level
    (None: inside an introspection field, where depth is not counted)."""

    shape: Shape
    spreads: list[tuple[FragmentSpreadNode, int | None]]


def _walk_own(selection_set: SelectionSetNode) -> _Draft:
    depth = aliases = fields = 0
    deepest: Node | None = None
    spreads: list[tuple[FragmentSpreadNode, int | None]] = []
    # (selections, level or None when depth is not counted there)
    stack: list[tuple[SelectionSetNode, int | None]] = [(selection_set, 0)]
    while stack:
        current, level = stack.pop()
        for selection in current.selections:
            WALK.visits += 1
            if level is not None and (level > depth or deepest is None):
                depth, deepest = level, selection
            if isinstance(selection, FieldNode):
                fields += 1
                aliases += 1 if selection.alias else 0
                if selection.selection_set is not None:
                    introspection = selection.name.value.startswith("__")
                    inner = None if level is None or introspection else level + 1
                    stack.append((selection.selection_set, inner))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, level))
            elif isinstance(selection, FragmentSpreadNode):
                spreads.append((selection, level))
    return _Draft(Shape(depth, deepest, aliases, fields), spreads)


def _combine(draft: _Draft, shapes: dict[str, Shape]) -> Shape:
    """The draft with each spread fragment's shape added (absent ones, unknown or
    closing a cycle, add nothing)."""
    own = draft.shape
    depth, deepest, aliases, fields = own.depth, own.deepest, own.aliases, own.fields
    for spread, level in draft.spreads:
        WALK.visits += 1
        shape = shapes.get(spread.name.value)
        if shape is None:
            continue
        aliases = saturate(aliases + shape.aliases)
        fields = saturate(fields + shape.fields)
        if level is not None and level + shape.depth > depth:
            depth, deepest = level + shape.depth, spread
    return Shape(depth, deepest, aliases, fields)


def measure_document(document: DocumentNode) -> DocumentShape:
    """Each operation's shape and the document's total aliases and fields (unused
    fragments not counted: they never run)."""
    drafts = {
        name: _walk_own(fragment.selection_set)
        for name, fragment in fragment_definitions(document).items()
    }
    order = dependency_order(
        {name: [spread.name.value for spread, _ in draft.spreads] for name, draft in drafts.items()}
    )
    shapes: dict[str, Shape] = {}
    for name in order:
        shapes[name] = _combine(drafts[name], shapes)
    operations = tuple(
        (definition, _combine(_walk_own(definition.selection_set), shapes))
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    )
    return DocumentShape(
        operations=operations,
        aliases=saturate(sum(shape.aliases for _, shape in operations)),
        fields=saturate(sum(shape.fields for _, shape in operations)),
    )
