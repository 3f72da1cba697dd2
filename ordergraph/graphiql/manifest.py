"""The vendored GraphiQL files inside the package, and their manifest.

``assets/`` holds the browser files Strawberry's GraphiQL page names (React, js-cookie,
GraphiQL, the explorer plugin), each at its unpkg.com path (``react@18.2.0/umd/...``),
with ``assets/manifest.json`` listing each file's path and sha384 integrity. Both are
written by ``make vendor-graphiql`` (``ordergraph.graphiql.vendor``) and committed, so
an installed wheel serves GraphiQL without npm, a CDN or the source tree.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "ASSETS_DIR",
    "MANIFEST_FILE",
    "ManifestEntry",
    "VendoredFile",
    "content_type",
    "read_manifest",
    "read_vendored",
    "sha384_integrity",
]

ASSETS_DIR: Final = Path(__file__).resolve().parent / "assets"
MANIFEST_FILE: Final = "manifest.json"

_CONTENT_TYPES: Final = {".js": "text/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class ManifestEntry:
    """One line of the manifest: ``path`` (the unpkg.com path, which names the exact
    version, and where the file is under ``assets/``) and its sha384 ``integrity``."""

    path: str
    integrity: str


@dataclass(frozen=True)
class VendoredFile:
    """A vendored file read from the package, its bytes checked against the manifest."""

    path: str
    integrity: str
    data: bytes

    @property
    def content_type(self) -> str:
        return content_type(self.path)


def sha384_integrity(data: bytes) -> str:
    """The subresource-integrity string of ``data`` (what ``integrity=""`` holds)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def content_type(path: str) -> str:
    """``text/javascript`` or ``text/css``; the manifest holds nothing else."""
    suffix = Path(path).suffix
    if suffix not in _CONTENT_TYPES:
        msg = f"GraphiQL asset {path} is neither .js nor .css"
        raise ValueError(msg)
    return _CONTENT_TYPES[suffix]


def read_manifest(assets_dir: Path = ASSETS_DIR) -> list[ManifestEntry]:
    """The manifest's entries. Raises ``OSError`` or ``ValueError`` when it is missing
    or malformed (the caller turns GraphiQL off rather than fail start-up)."""
    document = json.loads((assets_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    entries = [ManifestEntry(str(f["path"]), str(f["integrity"])) for f in document["files"]]
    for entry in entries:
        # Paths are joined to assets_dir below: nothing may climb out of it.
        if entry.path.startswith("/") or ".." in Path(entry.path).parts:
            msg = f"manifest path {entry.path!r} leaves the assets folder"
            raise ValueError(msg)
        content_type(entry.path)
    return entries


def read_vendored(assets_dir: Path = ASSETS_DIR) -> tuple[list[VendoredFile], list[str]]:
    """Every file the manifest lists, with each problem (missing, unreadable, or bytes
    that do not hash to the manifest's integrity) as a sentence."""
    try:
        entries = read_manifest(assets_dir)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [], [f"cannot read {assets_dir / MANIFEST_FILE}: {error}"]
    files: list[VendoredFile] = []
    problems: list[str] = []
    for entry in entries:
        file = assets_dir / entry.path
        try:
            data = file.read_bytes()
        except OSError as error:
            problems.append(f"{file} cannot be read ({error.strerror or error})")
            continue
        actual = sha384_integrity(data)
        if actual != entry.integrity:
            problems.append(f"{file} has integrity {actual}, the manifest says {entry.integrity}")
            continue
        files.append(VendoredFile(entry.path, entry.integrity, data))
    return files, problems
