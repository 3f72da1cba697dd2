"""Layering rules from DESIGN.md section 3, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "ordergraph"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_simulators_do_not_borrow_the_adapters() -> None:
    # A simulator that imported the adapters' wire models would agree with their
    # mistakes; both must answer to the vendor's OpenAPI file instead.
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imports(path) if name.startswith("ordergraph.providers")
        )
        for path in _modules("sandbox")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_models_do_no_io() -> None:
    io_modules = {"aiohttp", "asyncio", "sqlalchemy", "socket", "ordergraph.providers"}
    assert _imports(PACKAGE / "models.py") & io_modules == set()


def test_providers_do_not_import_graphql_or_store() -> None:
    for path in _modules("providers"):
        names = _imports(path)
        assert not any(
            n.startswith(("strawberry", "ordergraph.schema", "ordergraph.store")) for n in names
        ), path
