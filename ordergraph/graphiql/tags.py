"""Reading Strawberry's GraphiQL page: which remote files it loads, with which integrity.

Shared by the vendoring tool (which copies exactly those files) and the page builder
(which refuses to serve a page whose files are not the ones we vendored).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["UNPKG", "page_assets", "strawberry_page"]

UNPKG: Final = "https://unpkg.com/"

# A <script> or <link> start tag, and the attributes we read from it. Strawberry writes
# each attribute as name="value" (or a bare `crossorigin`), spread over several lines.
_TAG_RE: Final = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_URL_ATTR_RE: Final = re.compile(r"""\b(src|href)="(https?://[^"]*)\"""")
_INTEGRITY_RE: Final = re.compile(r"""\bintegrity="([^"]*)\"""")


def strawberry_page() -> str:
    """The installed Strawberry's GraphiQL page, filled in exactly as Strawberry fills it."""
    # Imported here: if an upgrade moves it, GraphiQL turns off instead of the import failing.
    from strawberry.http.ides import get_graphql_ide_html

    return get_graphql_ide_html(graphql_ide="graphiql")


def page_assets(page: str) -> dict[str, str | None]:
    """Every remote URL a ``<script>``/``<link>`` of ``page`` loads, with its integrity."""
    found: dict[str, str | None] = {}
    for tag in _TAG_RE.finditer(page):
        url = _URL_ATTR_RE.search(tag.group(0))
        if url is None:
            continue
        integrity = _INTEGRITY_RE.search(tag.group(0))
        found[url.group(2)] = integrity.group(1) if integrity else None
    return found
