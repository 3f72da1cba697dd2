"""``make vendor-graphiql``: copy GraphiQL's files from npm into the package.

Reads which files the installed Strawberry's GraphiQL page loads from unpkg.com (and
their integrity), copies each from ``node_modules`` (pinned by package.json and
package-lock.json, installed by ``npm ci``) to ``ordergraph/graphiql/assets/<unpkg
path>``, and writes ``assets/manifest.json``. It refuses, and writes nothing, when an
installed npm package is not the version the page names or a file does not hash to the
page's integrity, saying which ``npm install --save-exact`` fixes it.

Usage: ``python -m ordergraph.graphiql.vendor [--node-modules DIR] [--dest DIR]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from ordergraph.graphiql.manifest import ASSETS_DIR, MANIFEST_FILE, sha384_integrity
from ordergraph.graphiql.tags import UNPKG, page_assets, strawberry_page

__all__ = ["VendorError", "main", "vendor"]

# An unpkg.com path: package (scoped or not), exact version, file in the package.
_UNPKG_PATH_RE: Final = re.compile(
    r"^(?P<package>(?:@[^/@]+/)?[^/@]+)@(?P<version>[^/]+)/(?P<file>.+)$"
)
_MANIFEST_COMMENT: Final = (
    "Written by `make vendor-graphiql` (python -m ordergraph.graphiql.vendor) from the npm "
    "packages pinned in package-lock.json; each path is the file's unpkg.com path, which "
    "Strawberry's GraphiQL page names with this integrity. Do not edit by hand."
)


class VendorError(Exception):
    """The installed npm packages are not the files Strawberry's page expects."""


def _installed_version(node_modules: Path, package: str) -> str | None:
    try:
        document = json.loads((node_modules / package / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    version = document.get("version")
    return version if isinstance(version, str) else None


def _plan(node_modules: Path, page: str) -> list[tuple[str, Path, str]]:
    """(unpkg path, source file, integrity) for every file the page loads."""
    plan: list[tuple[str, Path, str]] = []
    problems: list[str] = []
    for url, integrity in page_assets(page).items():
        path = url.removeprefix(UNPKG)
        match = _UNPKG_PATH_RE.match(path) if url.startswith(UNPKG) else None
        if match is None or integrity is None:
            problems.append(f"Strawberry's page loads {url} without an unpkg.com pin or integrity")
            continue
        package, version = match["package"], match["version"]
        installed = _installed_version(node_modules, package)
        if installed != version:
            problems.append(
                f"Strawberry's page loads {package}@{version}, node_modules has "
                f"{installed or 'none'}: run `npm install --save-exact --ignore-scripts "
                f"{package}@{version}`"
            )
            continue
        source = node_modules / package / match["file"]
        actual = sha384_integrity(source.read_bytes()) if source.is_file() else "missing"
        if actual != integrity:
            problems.append(f"{source} is {actual}, Strawberry's page expects {integrity}")
            continue
        plan.append((path, source, integrity))
    if problems:
        raise VendorError("; ".join(problems))
    return plan


def vendor(node_modules: Path, dest: Path, page: str | None = None) -> list[str]:
    """Replace ``dest`` with the files Strawberry's page loads and their manifest.

    Everything is written to a temporary folder beside ``dest`` first and swapped in
    at the end, so a refused run leaves the committed assets as they were. Returns the
    vendored paths.
    """
    plan = _plan(node_modules, strawberry_page() if page is None else page)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".graphiql-assets-", dir=dest.parent))
    try:
        for path, source, _ in plan:
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / path)
        manifest = {
            "comment": _MANIFEST_COMMENT,
            "files": [{"path": path, "integrity": integrity} for path, _, integrity in plan],
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [path for path, _, _ in plan]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--node-modules", type=Path, default=Path("node_modules"))
    parser.add_argument("--dest", type=Path, default=ASSETS_DIR)
    args = parser.parse_args(argv)
    try:
        paths = vendor(args.node_modules, args.dest)
    except VendorError as error:
        print(f"vendor-graphiql: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"vendored {path}")
    print(f"wrote {args.dest / MANIFEST_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
