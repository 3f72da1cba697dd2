"""The limits that are validation rules: depth, aliases, fields, introspection.

They replace Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter``, which walk a
fragment once per spread: a document of nested doubling spreads (under 170 tokens)
stalled the event loop for seconds, and at 59 levels for good. These measure the
document once (``ordergraph.schema.document_shape``): linear in its size, whatever
its fragments expand to.

The rule classes are made once per settings value (``limit_rules``):
``ValidationCache``-style caches key on the rule classes, so classes made per request
would never hit.
"""

from __future__ import annotations

from typing import Any, Final

from graphql import ASTValidationRule, GraphQLError, Node, ValidationContext, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule

from ordergraph.schema.document_shape import measure_document
from ordergraph.schema.document_walk import SATURATION
from ordergraph.settings import LimitSettings

__all__ = ["CODES", "limit_error", "limit_rules"]

CODES: Final = {
    "max_document_bytes": "DOCUMENT_TOO_LARGE",
    "max_tokens": "TOO_MANY_TOKENS",
    "max_depth": "QUERY_TOO_DEEP",
    "max_aliases": "TOO_MANY_ALIASES",
    "max_fields": "TOO_MANY_FIELDS",
    "max_cost": "QUERY_TOO_COSTLY",
    "max_node_ids": "TOO_MANY_IDS",
    "introspection": "INTROSPECTION_DISABLED",
    "ids": "INVALID_ID",
}
"""``extensions.code`` of each limit's error, by setting (``ids``: an id that does not
decode, refused with the cost estimate)."""


def limit_error(
    message: str,
    setting: str,
    error: GraphQLError | None = None,
    *,
    nodes: list[Node] | None = None,
    **extensions: Any,
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes if error else nodes,
        source=error.source if error else None,
        positions=error.positions if error else None,
        extensions={"code": CODES[setting], **extensions},
    )


def _count(count: int) -> str:
    return f"more than {SATURATION - 1}" if count >= SATURATION else str(count)


def _shape_rule(settings: LimitSettings) -> type[ValidationRule]:
    max_depth, max_aliases, max_fields = (
        settings.max_depth,
        settings.max_aliases,
        settings.max_fields,
    )

    class DocumentShapeLimits(ValidationRule):
        """Depth (per operation), aliases and fields (per document, fragments expanded).
        Does its work when made, as graphql-core makes every rule before its one visit."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            shape = measure_document(context.document)
            for operation, measured in shape.operations:
                if measured.depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    context.report_error(
                        limit_error(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            "max_depth",
                            nodes=[measured.deepest or operation],
                            maxDepth=max_depth,
                        )
                    )
                    break  # one is enough: every deeper branch says the same
            if shape.aliases > max_aliases:
                context.report_error(
                    limit_error(
                        f"{_count(shape.aliases)} aliases found. Allowed: {max_aliases}",
                        "max_aliases",
                        maxAliases=max_aliases,
                    )
                )
            if shape.fields > max_fields:
                context.report_error(
                    limit_error(
                        f"the document selects {_count(shape.fields)} fields once its "
                        f"fragments are expanded; the limit is {max_fields}",
                        "max_fields",
                        maxFields=max_fields,
                    )
                )

    return DocumentShapeLimits


def _introspection_rule() -> type[ValidationRule]:
    class IntrospectionDisabled(NoSchemaIntrospectionCustomRule):
        reported = False

        def report_error(self, error: GraphQLError) -> None:
            # One error per document is enough; graphql-core names every field.
            if self.reported:
                return
            self.reported = True
            super().report_error(
                limit_error(
                    "introspection is disabled on this server (the limits.introspection setting)",
                    "introspection",
                    error,
                )
            )

    return IntrospectionDisabled


def limit_rules(settings: LimitSettings) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules of ``settings`` (new classes: call once per settings value)."""
    rules: list[type[ASTValidationRule]] = [_shape_rule(settings)]
    if not settings.introspection:
        rules.append(_introspection_rule())
    return tuple(rules)
