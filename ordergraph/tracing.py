"""OpenTelemetry tracing of GraphQL operations, when ``[tracing] enabled = true``.

Spans come from Strawberry's ``OpenTelemetryExtension`` (one per operation, parse,
validation and resolver), with a ``TracerProvider`` of our own, passed to the
extension, not installed as the process-wide provider: a test or a second application
keeps its own. Its exporter is OTLP/HTTP when ``otlp_endpoint`` is set, the console
when ``console`` is, else none (spans are made and dropped: a dry run).

What a span may hold: Strawberry's extension records the document text (``query``)
and every resolver argument (``graphql.param.<name>``). Either can be personal data
(``orders(filter: {candidateEmail: "..."})``, variables bound to arguments), so
``PrivateOpenTelemetryExtension`` records a SHA-256 of the document instead of its
text and no argument at all. Operation name, field paths and parent types remain.

The OpenTelemetry packages are the ``tracing`` extra; without them ``enabled = true``
is a ``ConfigError`` naming the extra.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ordergraph.errors import ConfigError
from ordergraph.settings import TracingSettings

if TYPE_CHECKING:
    import strawberry
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from strawberry.extensions import SchemaExtension

__all__ = ["create_tracer_provider", "traced", "tracing_extension"]


def _no_arguments(args: dict[str, Any], info: Any) -> dict[str, Any]:
    """Resolver arguments are never recorded (they can be personal data)."""
    del args, info
    return {}


def _extension_class() -> type[SchemaExtension]:
    from opentelemetry.trace import SpanKind
    from strawberry.extensions import LifecycleStep
    from strawberry.extensions.tracing import OpenTelemetryExtension

    class PrivateOpenTelemetryExtension(OpenTelemetryExtension):
        """Strawberry's extension without the document text (see the module docstring);
        the operation span also ends when the operation raises."""

        def on_operation(self) -> Generator[None, None, None]:
            context = self.execution_context
            name = context.operation_name
            span = self._tracer.start_span(
                f"GraphQL Query: {name}" if name else "GraphQL Query", kind=SpanKind.SERVER
            )
            self._span_holder[LifecycleStep.OPERATION] = span
            span.set_attribute("component", "graphql")
            if context.query:
                digest = hashlib.sha256(context.query.encode()).hexdigest()
                span.set_attribute("graphql.document.sha256", digest)
            try:
                yield
                if not name and context.operation_name:
                    span.update_name(f"GraphQL Query: {context.operation_name}")
                if context.operation_name:
                    span.set_attribute("graphql.operation.name", context.operation_name)
            finally:
                span.end()

    return PrivateOpenTelemetryExtension


def create_tracer_provider(
    settings: TracingSettings, *, exporter: SpanExporter | None = None
) -> TracerProvider:
    """A provider exporting per ``settings`` (or to ``exporter``, for tests)."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )
    except ImportError:
        msg = "tracing.enabled needs the tracing extra: pip install 'ordergraph[tracing]'"
        raise ConfigError(msg) from None
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(settings.otlp_endpoint)))
    elif settings.console:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    return provider


def tracing_extension(provider: TracerProvider) -> Callable[[], SchemaExtension]:
    """A factory (Strawberry makes one extension per operation) tracing into ``provider``."""
    extension = _extension_class()

    def make() -> SchemaExtension:
        return extension(arg_filter=_no_arguments, tracer_provider=provider)  # type: ignore[call-arg]

    return make


def traced(schema: strawberry.Schema, provider: TracerProvider) -> strawberry.Schema:
    """``schema`` with the tracing extension added, sharing its types.

    A shallow copy, not a second ``build_schema``: the schema's types can be converted
    once per process only (relay's node field is bound on the first build). Strawberry
    reads ``extensions`` afresh for every operation, so the copy traces and the
    original (other applications, tests) does not.
    """
    copied = copy.copy(schema)
    copied.extensions = (*schema.extensions, tracing_extension(provider))
    return copied
