"""OpenTelemetry: a GraphQL operation makes spans (operation, parse, validation,
resolvers), and no span attribute holds the document text, a variable or argument
value (personal data) or a secret."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ordergraph.keys import Scope
from ordergraph.logs import secrets_of
from ordergraph.resolvers.context import Context
from ordergraph.schema import schema as plain_schema
from ordergraph.settings import TracingSettings
from ordergraph.tracing import create_tracer_provider, traced
from tests.api.conftest import Api

EMAIL = "jane.private@example.com"
LITERAL = "Private Person"
DOCUMENT = """
query Traced($email: String!) {
  orders(first: 5, filter: {candidateEmail: $email, search: "LITERAL"}) {
    totalCount
    edges { node { id candidate { emails } } }
  }
  connections { id }
}
""".replace("LITERAL", LITERAL)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    yield spans
    spans.shutdown()


async def test_an_operation_is_traced_without_personal_data_or_secrets(
    api: Api, exporter: InMemorySpanExporter
) -> None:
    provider = create_tracer_provider(TracingSettings(enabled=True), exporter=exporter)
    schema = traced(plain_schema, provider)
    result = await schema.execute(
        DOCUMENT,
        variable_values={"email": EMAIL},
        context_value=Context(services=api.services, tenant="acme", scopes=frozenset(Scope)),
    )
    assert result.errors is None
    provider.shutdown()
    # the schema it was made from traces nothing
    count = len(exporter.get_finished_spans())
    await plain_schema.execute(
        "{ connections { id } }", context_value=Context(services=api.services, tenant="acme")
    )
    assert len(exporter.get_finished_spans()) == count

    spans = exporter.get_finished_spans()
    names = [span.name for span in spans]
    assert "GraphQL Query: Traced" in names
    assert {"GraphQL Parsing", "GraphQL Validation"} <= set(names)
    assert "GraphQL Resolving: orders" in names
    operation = next(s for s in spans if s.name == "GraphQL Query: Traced")
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "Traced"
    assert len(str(operation.attributes["graphql.document.sha256"])) == 64
    assert operation.resource.attributes["service.name"] == "ordergraph"

    secrets = [s for s in secrets_of(api.services.settings) if s]
    for span in spans:
        attributes = dict(span.attributes or {})
        assert "query" not in attributes
        assert not [key for key in attributes if key.startswith("graphql.param")], attributes
        text = " ".join(f"{k}={v}" for k, v in attributes.items()) + span.name
        assert EMAIL not in text
        assert LITERAL not in text
        assert not [s for s in secrets if s in text]


async def test_a_failing_operation_still_ends_its_span(
    api: Api, exporter: InMemorySpanExporter
) -> None:
    provider = create_tracer_provider(TracingSettings(enabled=True), exporter=exporter)
    schema = traced(plain_schema, provider)
    result = await schema.execute(
        "query Broken { nope }", context_value=Context(services=api.services, tenant="acme")
    )
    assert result.errors
    provider.shutdown()
    assert "GraphQL Query: Broken" in [span.name for span in exporter.get_finished_spans()]
