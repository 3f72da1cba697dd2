"""Re-make the connect-flow extracts from the full vendor files (see SOURCES.md).

    .venv/bin/python -m tests.specs.trim /path/to/shared/providers

The trim is mechanical: the chosen paths and webhooks verbatim, every ``components``
entry reachable from them through ``$ref`` (transitively), all ``securitySchemes``,
every other top-level key as it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent


def _refs(node: Any, found: set[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            section, name = ref.removeprefix("#/components/").split("/")[:2]
            found.add((section, name))
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def trim(spec: dict[str, Any], paths: list[str], webhooks: list[str]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "paths":
            kept[key] = {path: value[path] for path in paths}
        elif key == "webhooks":
            if webhooks:
                kept[key] = {name: value[name] for name in webhooks}
        elif key != "components":
            kept[key] = value
    reachable: set[tuple[str, str]] = set()
    pending: set[tuple[str, str]] = set()
    _refs(kept, pending)
    while pending:
        item = pending.pop()
        if item not in reachable:
            reachable.add(item)
            _refs(spec["components"][item[0]][item[1]], pending)
    components = {
        section: chosen
        for section, entries in spec["components"].items()
        if (
            chosen := {
                name: entry
                for name, entry in entries.items()
                if (section, name) in reachable or section == "securitySchemes"
            }
        )
    }
    # Keys in the full file's order.
    return {
        key: components if key == "components" else kept[key]
        for key in spec
        if key == "components" or key in kept
    }


def main(providers: Path) -> None:
    kombo = json.loads((providers / "kombo/kombo-openapi.full.json").read_text())
    kombo_connect = trim(
        kombo,
        ["/connect/create-link", "/integrations/{integration_id}"],
        [
            "integration-created",
            "integration-deleted",
            "integration-state-changed",
            "connection-flow-failed",
        ],
    )
    (HERE / "kombo-connect-openapi.trimmed.json").write_text(
        json.dumps(kombo_connect, indent=2, ensure_ascii=False) + "\n"
    )
    unified = yaml.safe_load((providers / "unified/unified-openapi.full.yaml").read_text())
    unified_connect = trim(
        unified,
        [
            "/unified/connection",
            "/unified/connection/{id}",
            "/unified/integration/auth/{workspace_id}/{integration_type}",
        ],
        [],
    )
    (HERE / "unified-connection-openapi.trimmed.yaml").write_text(
        yaml.safe_dump(unified_connect, sort_keys=False, allow_unicode=True, width=80)
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
