"""The README's capability table is the code's, not a copy that drifts."""

from __future__ import annotations

from pathlib import Path

from ordergraph.providers.registry import render_capability_table

README = Path(__file__).parent.parent / "README.md"


def test_readme_capability_table_matches_the_adapters() -> None:
    text = README.read_text()
    start = text.index("<!-- capability-table:start -->") + len("<!-- capability-table:start -->")
    end = text.index("<!-- capability-table:end -->")
    assert text[start:end].strip() == render_capability_table()


def test_every_graphql_example_in_the_readme_is_valid_against_the_schema() -> None:
    import re

    from graphql import parse, validate

    from ordergraph.schema import schema

    blocks = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        errors = validate(schema._schema, parse(block))
        assert errors == [], (block, errors)
