"""Layering rules from DESIGN.md section 3, checked on the source itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

# Importing importlinter.api also wires import-linter's adapters, which lint_imports needs.
from importlinter.api import read_configuration
from importlinter.application import use_cases

from ordergraph.models import ProviderName

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


# Where a provider may be named: its own package, its simulator, and the demo (which
# plays each simulator's activity in the vendor's own status words).
_MAY_NAME_PROVIDERS = ("providers", "sandbox", "demo")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose may name vendors)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _descriptions(tree: ast.AST) -> set[int]:
    """ids of ``description=`` strings (GraphQL documentation, which is prose)."""
    return {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "description"
        for part in ast.walk(node.value)
        if isinstance(part, ast.Constant)
    }


def _provider_mentions(path: Path, names: set[str]) -> list[str]:
    """Code (not prose) in ``path`` that names a concrete provider: an import of its
    package, a ``ProviderName`` member, an identifier or a string word holding its name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    members = {name.upper() for name in names}
    prose = _docstrings(tree) | _descriptions(tree)
    words = re.compile(r"\b(" + "|".join(sorted(names)) + r")\b")
    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        identifiers: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[:2] == ["ordergraph", "providers"] and len(parts) > 2 and parts[2] in names:
                found.append(f"{line}: imports {node.module}")
        elif isinstance(node, ast.Attribute):
            if node.attr in members:
                found.append(f"{line}: .{node.attr}")
            identifiers.append(node.attr)
        elif isinstance(node, ast.Name):
            identifiers.append(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            identifiers.append(node.name)
        elif isinstance(node, ast.arg):
            identifiers.append(node.arg)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in prose
            and words.search(node.value.lower())
        ):
            found.append(f"{line}: string {node.value[:60]!r}")
        found.extend(
            f"{line}: identifier {identifier}"
            for identifier in identifiers
            if any(name in identifier.lower() for name in names)
        )
    return found


def test_no_module_outside_the_plugins_names_a_provider() -> None:
    # Capabilities, not names (DESIGN.md section 2): sync, the server, the cost estimate,
    # the settings and the CLI act on what a provider's plug-in declares, so a new
    # provider touches its own package, its simulator, the registry and the enums.
    names = {name.value for name in ProviderName}
    offenders = {
        str(path.relative_to(PACKAGE)): mentions
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in _MAY_NAME_PROVIDERS
        and path.relative_to(PACKAGE) != Path("models.py")  # the enum itself
        # Migrations are history: they keep the words they were written with.
        and path.relative_to(PACKAGE).parts[:2] != ("store", "migrations")
        and (mentions := _provider_mentions(path, names))
    }
    assert offenders == {}


def test_the_provider_mention_check_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Kombo prose is fine."""\n'
        "from ordergraph.providers.kombo.client import KomboProvider\n"
        "x = ProviderName.KOMBO\n"
        'route = "/webhooks/kombo"\n'
        "def poll_kombo() -> None: ...\n"
        'ok = field(description="Kombo only")\n'
    )
    mentions = _provider_mentions(sample, {"kombo"})
    lines = {int(m.split(":", 1)[0]) for m in mentions}
    assert lines == {2, 3, 4, 5}
