"""GraphiQL's page: Strawberry's page, rewritten to load only what we serve ourselves.

From the installed Strawberry's page we keep the markup, its ``<style>`` and the
``<script>``/``<link>`` tags of React, GraphiQL and the explorer (with their
``integrity`` attributes, so the browser refuses any byte that is not Strawberry's
pin). We change: every unpkg.com URL to ``ASSETS_PREFIX + <unpkg path>`` (the vendored
copy); the inline app script to our ``graphiql-page.js`` (served by us too) fed by a
JSON block, so the Content-Security-Policy allows scripts from 'self' only; and we add
``graphiql-page.css``. Inline ``<style>`` blocks are allowed by their sha256 hashes.

``build_page`` never raises for a page it cannot rewrite: it returns the problems, and
the caller turns GraphiQL off with a warning (a Strawberry upgrade that changes the
page fails tests/test_graphiql.py, not a production start).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ordergraph.graphiql.manifest import VendoredFile, sha384_integrity
from ordergraph.graphiql.tags import UNPKG, page_assets

__all__ = [
    "ASSETS_PREFIX",
    "OwnFile",
    "PageTemplate",
    "build_page",
    "own_files",
]

ASSETS_PREFIX: Final = "/graphiql/assets/"
"""URL prefix of every served file; vendored files keep their unpkg.com path under it."""

_STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
_OWN_NAMES: Final = ("graphiql-page.js", "graphiql-page.css")
_CONFIG_ID: Final = "ordergraph-graphiql"
_CONFIG_MARK: Final = "@@ORDERGRAPH_GRAPHIQL_CONFIG@@"

# The app script: the one <script> without src. Strawberry writes it as a bare <script>.
_INLINE_SCRIPT_RE: Final = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_ANY_SCRIPT_RE: Final = re.compile(r"<script\b", re.IGNORECASE)
_STYLE_RE: Final = re.compile(r"<style>(.*?)</style>", re.DOTALL)
# Inline event handlers (onclick="...") would need 'unsafe-inline' too.
_EVENT_ATTR_RE: Final = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class OwnFile:
    """A file of ours served beside the vendored ones; its URL carries its hash, so it
    is cached as long as the vendored files are."""

    name: str
    data: bytes

    @property
    def integrity(self) -> str:
        return sha384_integrity(self.data)

    @property
    def path(self) -> str:
        digest = hashlib.sha256(self.data).hexdigest()[:16]
        stem, _, suffix = self.name.rpartition(".")
        return f"ordergraph/{stem}.{digest}.{suffix}"


def own_files() -> list[OwnFile]:
    """``graphiql-page.js`` and ``graphiql-page.css`` from the package."""
    return [OwnFile(name, (_STATIC_DIR / name).read_bytes()) for name in _OWN_NAMES]


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _content_security_policy(style_hashes: Iterable[str]) -> str:
    # connect-src 'self' covers ws:/wss: to the same host (CSP 3) for subscriptions.
    # img-src data: is the page's favicon; font-src data: GraphiQL's inlined fonts.
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' " + " ".join(style_hashes),
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(d.strip() for d in directives)


@dataclass(frozen=True)
class PageTemplate:
    """The rewritten page, waiting for its per-application options; and its CSP."""

    html: str
    content_security_policy: str

    def render(
        self,
        *,
        key_hint: str | None = None,
        headers: Mapping[str, str] | None = None,
        subscription_path: str | None = None,
    ) -> str:
        """The page with its options: the line saying where API keys come from, the
        Headers tab's first content (the demo's key; ``serve`` never sets it), and
        where subscriptions are served (default: the page's own URL)."""
        config = {
            "keyHint": key_hint,
            "headers": json.dumps(dict(headers), indent=2) if headers else None,
            "subscriptionPath": subscription_path,
        }
        # A JSON data block is not run, so the CSP does not apply to it; escaping "<",
        # ">" and "&" keeps "</script>" and "<!--" out of it, whatever the strings hold.
        literal = (
            json.dumps(config)
            .replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
        )
        return self.html.replace(_CONFIG_MARK, literal)


def _check_assets(page: str, vendored: Iterable[VendoredFile]) -> list[str]:
    """Where Strawberry's page and the vendored files disagree (empty when they agree)."""
    problems: list[str] = []
    by_path = {file.path: file for file in vendored}
    loaded = page_assets(page)
    for url, integrity in loaded.items():
        file = by_path.get(url.removeprefix(UNPKG)) if url.startswith(UNPKG) else None
        if file is None:
            problems.append(
                f"Strawberry's GraphiQL page loads {url}, which is not vendored: pin it "
                "in package.json and run `make vendor-graphiql`"
            )
        elif integrity != file.integrity:
            problems.append(
                f"Strawberry's GraphiQL page expects {url} with integrity {integrity}, "
                f"the vendored file is {file.integrity}: run `make vendor-graphiql`"
            )
    problems.extend(
        f"{path} is vendored but Strawberry's GraphiQL page no longer loads it: "
        "run `make vendor-graphiql`"
        for path in by_path
        if UNPKG + path not in loaded
    )
    return problems


def build_page(
    strawberry_html: str, vendored: Iterable[VendoredFile], own: Iterable[OwnFile]
) -> PageTemplate | list[str]:
    """The rewritten page, or the reasons it cannot be made from ``strawberry_html``."""
    vendored = list(vendored)
    own_by_name = {file.name: file for file in own}
    problems = _check_assets(strawberry_html, vendored)
    inline = _INLINE_SCRIPT_RE.findall(strawberry_html)
    if len(inline) != 1:
        problems.append(
            f"Strawberry's GraphiQL page has {len(inline)} inline scripts, ordergraph "
            "replaces exactly one"
        )
    if _EVENT_ATTR_RE.search(strawberry_html):
        problems.append("Strawberry's GraphiQL page has inline event handlers (on...=)")
    if "</head>" not in strawberry_html:
        problems.append("Strawberry's GraphiQL page has no </head>")
    if problems:
        return problems

    page = strawberry_html
    for file in vendored:
        page = page.replace(UNPKG + file.path, ASSETS_PREFIX + file.path)
    script, css = own_by_name["graphiql-page.js"], own_by_name["graphiql-page.css"]
    page = _INLINE_SCRIPT_RE.sub(
        lambda _: (
            f'<script type="application/json" id="{_CONFIG_ID}">{_CONFIG_MARK}</script>\n'
            f'    <script src="{html.escape(ASSETS_PREFIX + script.path)}" '
            f'integrity="{script.integrity}"></script>'
        ),
        page,
    )
    page = page.replace(
        "</head>",
        f'  <link rel="stylesheet" href="{html.escape(ASSETS_PREFIX + css.path)}" '
        f'integrity="{css.integrity}" />\n  </head>',
        1,
    )
    if "unpkg.com" in page:
        return ["Strawberry's GraphiQL page still mentions unpkg.com after rewriting"]
    if len(_ANY_SCRIPT_RE.findall(page)) != len(_ANY_SCRIPT_RE.findall(strawberry_html)) + 1:
        return ["Strawberry's GraphiQL page has scripts ordergraph cannot account for"]
    style_hashes = [_csp_hash(style) for style in _STYLE_RE.findall(page)]
    return PageTemplate(page, _content_security_policy(style_hashes))
