"""Layering rules from DESIGN.md section 3, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

# Importing importlinter.api also wires import-linter's adapters, which lint_imports needs.
from importlinter.api import read_configuration
from importlinter.application import use_cases

PACKAGE = Path(__file__).parent.parent / "ordergraph"
PYPROJECT = PACKAGE.parent / "pyproject.toml"


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


def test_imports_run_one_way() -> None:
    # The contracts in pyproject.toml's [tool.importlinter] (what `lint-imports` runs
    # in `make lint`): each layer imports only those below it, so no cycle between
    # them can come back. On failure, the captured output names the import chains.
    assert use_cases.lint_imports(config_filename=str(PYPROJECT), cache_dir=None, no_logo=True)


def test_layer_contract_names_every_layer_it_promises() -> None:
    # A layer dropped from the list would silently stop being checked.
    contracts = read_configuration(str(PYPROJECT))["contracts_options"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    named = {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}
    assert named >= {
        "models",
        "errors",
        "providers",
        "store",
        "sync",
        "services",
        "resolvers",
        "schema",
        "api",
        "server",
        "serve",
        "cli",
        "demo",
    }
