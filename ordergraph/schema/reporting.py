"""``OrdergraphSchema``: Strawberry's schema with bounded error logging and coded errors.

Strawberry's ``Schema.process_errors`` logs every GraphQL error at ERROR with a
traceback: a 1 KB request selecting 500 fields its key may not read wrote 1,070 log
records. Here a request's errors are summarised instead, whatever it selects:

- errors a client caused and can fix (parse, validation, variables, limits, bad ids
  and cursors, scopes): one INFO record with the count per code;
- a provider refusing or unavailable: one WARNING record with the count per code;
- anything unexpected (masked for the client): one ERROR record with the first such
  error's traceback and the count of the others.

So one call logs at most three records. The same pass gives every error its
``extensions.code`` (``ordergraph.schema.errors.assign_code``) before ``MaskErrors``
replaces the unexpected ones, whose stand-in is coded ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Final

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from ordergraph.schema.errors import (
    VALIDATION_FAILED,
    CodedMaskErrors,
    assign_code,
    is_public,
)
from ordergraph.schema.plain_reads import PlainReads
from ordergraph.schema.values import DATETIME_SCALAR

__all__ = ["OrdergraphSchema", "summarise_errors"]

logger = logging.getLogger("ordergraph.graphql")

_MAX_MESSAGE: Final = 200
"""Characters of the first error's message quoted in a summary (it may echo input)."""


class _CodeValidationErrors(SchemaExtension):
    """Codes the errors validation reported, as validation ends: afterwards, an error
    without a path is a variable that did not coerce, which looks the same."""

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if "code" not in (error.extensions or {}):
                error.extensions = {**(error.extensions or {}), "code": VALIDATION_FAILED}


def _is_provider_outcome(error: GraphQLError) -> bool:
    # ``provider_failure`` names the provider in the extensions.
    return "provider" in (error.extensions or {})


def _quoted(error: GraphQLError) -> str:
    message = " ".join(error.message.split())
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + "..."


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{code} x{count}" for code, count in counter.most_common())


def summarise_errors(errors: list[GraphQLError], operation: str | None) -> None:
    """Code ``errors`` and log them as at most three records (see the module doc)."""
    client: Counter[str] = Counter()
    provider: Counter[str] = Counter()
    first_client: GraphQLError | None = None
    first_provider: GraphQLError | None = None
    unexpected: list[GraphQLError] = []
    for error in errors:
        if not is_public(error):
            unexpected.append(error)
            continue
        code = assign_code(error, executed=True)
        if _is_provider_outcome(error):
            provider[code] += 1
            first_provider = first_provider or error
        else:
            client[code] += 1
            first_client = first_client or error
    name = operation or "(anonymous)"
    if first_client is not None:
        logger.info(
            "GraphQL operation %s answered with client errors: %s; first: %s",
            name,
            _counts(client),
            _quoted(first_client),
            extra={"operation": name, "error_codes": dict(client)},
        )
    if first_provider is not None:
        logger.warning(
            "GraphQL operation %s answered with provider errors: %s; first: %s",
            name,
            _counts(provider),
            _quoted(first_provider),
            extra={"operation": name, "error_codes": dict(provider)},
        )
    if unexpected:
        first = unexpected[0]
        logger.error(
            "GraphQL operation %s failed unexpectedly at %s (%d unexpected errors)",
            name,
            ".".join(str(p) for p in first.path or ()) or "(no field)",
            len(unexpected),
            exc_info=first.original_error,
            extra={"operation": name},
        )


class OrdergraphSchema(strawberry.Schema):
    """The schema class every ordergraph schema is made with: its errors are coded and
    logged as above, and ``DateTime`` inputs are range-checked (``DATETIME_SCALAR``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["scalar_overrides"] = {
            datetime: DATETIME_SCALAR,
            **(kwargs.get("scalar_overrides") or {}),
        }
        super().__init__(*args, **kwargs)
        # Set by ``enable_plain_reads`` (``build_schema``); without it every operation
        # runs through Strawberry's ``execute``.
        self.plain_reads: PlainReads | None = None

    def get_extensions(self, sync: bool = False) -> list[SchemaExtension]:
        extensions: list[SchemaExtension] = []
        for extension in super().get_extensions(sync=sync):
            if type(extension) is MaskErrors:
                # The same masking, whose stand-in error carries a code.
                extension = CodedMaskErrors(extension.should_mask_error, extension.error_message)
            extensions.append(extension)
        extensions.append(_CodeValidationErrors())
        return extensions

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        operation: Any = execution_context.operation_name if execution_context else None
        self.summarise(errors, operation if isinstance(operation, str) else None)

    def summarise(self, errors: list[GraphQLError], operation: str | None) -> None:
        summarise_errors(errors, operation)

    def enable_plain_reads(self) -> None:
        """Run plain reads below ``Schema.execute`` (``ordergraph.schema.plain_reads``),
        for the extensions this schema has now."""
        self.plain_reads = PlainReads(self, self.extensions)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        reads = self.plain_reads
        prepared = (
            reads.prepare(
                self, query, operation_name, context_value, variable_values, allowed_operation_types
            )
            if reads is not None
            else None
        )
        if reads is not None and prepared is not None:
            plain, context = prepared
            return await reads.execute(
                plain, context, variable_values, root_value, operation_extensions
            )
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
