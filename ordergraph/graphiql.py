"""GraphiQL without a CDN: Strawberry's own page, with its assets served by us.

Why: Strawberry's GraphiQL page loads React, GraphiQL and the explorer plugin from
unpkg.com. Where the browser cannot reach unpkg.com (an air-gapped network, a CI
sandbox, a strict proxy) the page stays on "Loading...". We therefore serve the very
same files ourselves from ``node_modules`` (pinned by ``package.json`` and
``package-lock.json``, installed by ``make install``, i.e. ``npm ci``) and rewrite
only their URLs in Strawberry's page.

The ``integrity`` (subresource integrity) attributes are kept. The browser checks them
for same-origin loads too, so a page that renders is proof that we serve byte for byte
what Strawberry pinned; ``verify_assets`` checks the same thing without a browser.

The page is read from the installed Strawberry at run time (through Strawberry's own
``get_graphql_ide_html``, so whatever Strawberry fills into its template, we fill too).
When a Strawberry upgrade changes the asset versions, ``graphiql_html`` raises
``GraphiQLAssetError`` instead of serving a page that cannot load: update the versions
in ``package.json`` (``npm install --save-exact --ignore-scripts PKG@VERSION``) and
``ASSETS`` below to match Strawberry's page.

Where ``node_modules`` is: ``<repo root>/node_modules`` by default (the directory
above this package, right for the editable install ``make install`` makes). Set the
environment variable ``ORDERGRAPH_NODE_MODULES`` to another directory when the package
is installed elsewhere (a wheel in a container image, say).

Wiring (the asset routes are added once per application, next to the GraphQL view)::

    add_graphiql_routes(app)  # raises at startup if an asset is missing or wrong
    app.router.add_route("*", "/graphql", LocalGraphiQLView(schema=schema))
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Final, NamedTuple

from aiohttp import web
from strawberry.aiohttp.views import GraphQLView
from strawberry.http.ides import get_graphql_ide_html
from strawberry.http.typevars import Context, RootValue

from ordergraph.errors import ConfigError

__all__ = [
    "ASSETS",
    "ASSETS_PREFIX",
    "NODE_MODULES_ENV",
    "Asset",
    "GraphiQLAssetError",
    "LocalGraphiQLView",
    "add_graphiql_routes",
    "asset_routes",
    "default_node_modules",
    "graphiql_html",
    "verify_assets",
]

ASSETS_PREFIX: Final = "/graphiql/assets/"
"""URL prefix of the served files; the rest of the URL is the unpkg.com path."""

NODE_MODULES_ENV: Final = "ORDERGRAPH_NODE_MODULES"

_UNPKG: Final = "https://unpkg.com/"
_INSTALL_HINT: Final = (
    "run `make install` (or `npm ci --ignore-scripts --no-audit --no-fund` in the repo root)"
)
# Cached for a year and never revalidated: every URL carries the package's exact version.
_CACHE_CONTROL: Final = "public, max-age=31536000, immutable"
_JS: Final = "text/javascript"
_CSS: Final = "text/css"


class Asset(NamedTuple):
    """One file of Strawberry's GraphiQL page.

    ``path`` is the file's path on unpkg.com, which already names the exact version;
    we serve it at ``ASSETS_PREFIX + path``. ``file`` is where ``npm ci`` puts it
    under ``node_modules``. ``integrity`` is copied from Strawberry's page.
    """

    path: str
    file: str
    integrity: str
    content_type: str

    @property
    def url(self) -> str:
        """Where our page loads it from."""
        return ASSETS_PREFIX + self.path


ASSETS: Final[tuple[Asset, ...]] = (
    Asset(
        "react@18.2.0/umd/react.production.min.js",
        "react/umd/react.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
        _JS,
    ),
    Asset(
        "react-dom@18.2.0/umd/react-dom.production.min.js",
        "react-dom/umd/react-dom.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
        _JS,
    ),
    Asset(
        "js-cookie@3.0.5/dist/js.cookie.min.js",
        "js-cookie/dist/js.cookie.min.js",
        "sha384-/vxhYfM1LENRhdpZ8dwEsQn/X4VhpbEZSiU4m/FwR+PVpzar4fkEOw8FP9Y+OfQN",
        _JS,
    ),
    Asset(
        "graphiql@3.8.3/graphiql.min.css",
        "graphiql/graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
        _CSS,
    ),
    Asset(
        "@graphiql/plugin-explorer@1.0.2/dist/style.css",
        "@graphiql/plugin-explorer/dist/style.css",
        "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
        _CSS,
    ),
    Asset(
        "graphiql@3.8.3/graphiql.min.js",
        "graphiql/graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
        _JS,
    ),
    Asset(
        "@graphiql/plugin-explorer@1.0.2/dist/index.umd.js",
        "@graphiql/plugin-explorer/dist/index.umd.js",
        "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
        _JS,
    ),
)

_BY_PATH: Final = {asset.path: asset for asset in ASSETS}

# A <script> or <link> start tag, and the attributes we read from it. Strawberry writes
# each attribute as name="value" (or a bare `crossorigin`), spread over several lines.
_TAG_RE: Final = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_URL_ATTR_RE: Final = re.compile(r"""\b(src|href)="(https?://[^"]*)\"""")
_INTEGRITY_RE: Final = re.compile(r"""\bintegrity="([^"]*)\"""")
_PLACEHOLDER_RE: Final = re.compile(r"\{\{\s*[A-Z_]+\s*\}\}")
# How Strawberry's page derives the WebSocket URL: from the page's own URL.
_SUBSCRIPTION_LINE: Final = "const subscriptionUrl = httpUrlToWebSockeUrl(fetchURL);"


class GraphiQLAssetError(ConfigError):
    """GraphiQL's assets are missing, stale, or no longer what Strawberry's page loads."""


def default_node_modules() -> Path:
    """``$ORDERGRAPH_NODE_MODULES``, else ``node_modules`` in the repo root."""
    configured = os.environ.get(NODE_MODULES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "node_modules"


def _integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def _strawberry_page() -> str:
    """Strawberry's GraphiQL page, filled in exactly as Strawberry fills it."""
    return get_graphql_ide_html(graphql_ide="graphiql")


def _page_assets(page: str) -> dict[str, str | None]:
    """Every remote URL a ``<script>``/``<link>`` of the page loads, with its integrity."""
    found: dict[str, str | None] = {}
    for tag in _TAG_RE.finditer(page):
        url = _URL_ATTR_RE.search(tag.group(0))
        if url is None:
            continue
        integrity = _INTEGRITY_RE.search(tag.group(0))
        found[url.group(2)] = integrity.group(1) if integrity else None
    return found


def _check_page(page: str) -> list[str]:
    """What in Strawberry's page does not match ``ASSETS`` (empty when all is well)."""
    problems: list[str] = []
    loaded = _page_assets(page)
    for url, integrity in loaded.items():
        asset = _BY_PATH.get(url.removeprefix(_UNPKG)) if url.startswith(_UNPKG) else None
        if asset is None:
            problems.append(
                f"Strawberry's GraphiQL page loads {url}, which ordergraph does not serve: "
                "pin it in package.json and add it to ordergraph.graphiql.ASSETS"
            )
        elif integrity != asset.integrity:
            problems.append(
                f"Strawberry's GraphiQL page expects {url} with integrity {integrity}, "
                f"ASSETS has {asset.integrity}: update ordergraph.graphiql.ASSETS"
            )
    problems.extend(
        f"ASSETS lists {asset.path}, which Strawberry's GraphiQL page no longer loads: "
        "remove it from ASSETS and package.json"
        for asset in ASSETS
        if _UNPKG + asset.path not in loaded
    )
    leftover = sorted(set(_PLACEHOLDER_RE.findall(page)))
    if leftover:
        problems.append(f"Strawberry's GraphiQL page has unfilled placeholders: {leftover}")
    return problems


def graphiql_html(*, subscription_path: str | None = None) -> str:
    """Strawberry's GraphiQL page, loading its assets from ``ASSETS_PREFIX``.

    Only the unpkg.com URLs change. The ``integrity`` attributes stay, so the browser
    refuses any file that is not byte for byte Strawberry's pin. The bare
    ``crossorigin`` attributes stay too: on a same-origin URL a CORS-mode request needs
    no CORS headers, and SRI works on same-origin responses, so they are harmless.

    ``subscription_path`` (e.g. ``"/graphql"``): where GraphiQL opens its WebSocket for
    subscriptions, resolved against the page's URL. By default it is left to
    Strawberry's page, which uses the page's own URL, i.e. wherever the view is
    mounted; give it only when subscriptions are served elsewhere.

    Raises ``GraphiQLAssetError`` when Strawberry's page loads anything ``ASSETS`` does
    not list (a Strawberry upgrade that moved GraphiQL's version, say).
    """
    page = _strawberry_page()
    problems = _check_page(page)
    if problems:
        raise GraphiQLAssetError("; ".join(problems))
    html = page
    for asset in ASSETS:
        html = html.replace(_UNPKG + asset.path, asset.url)
    if subscription_path is not None:
        if _SUBSCRIPTION_LINE not in html:
            msg = (
                "Strawberry's GraphiQL page no longer sets its subscription URL the way "
                "ordergraph.graphiql expects; cannot apply subscription_path"
            )
            raise GraphiQLAssetError(msg)
        # JSON is a JS string literal; escaping "<" keeps "</script>" out of the page.
        literal = json.dumps(subscription_path).replace("<", "\\u003c")
        html = html.replace(
            _SUBSCRIPTION_LINE,
            "const subscriptionUrl = httpUrlToWebSockeUrl("
            f"new URL({literal}, window.location.href).toString());",
        )
    if "unpkg.com" in html:
        # An unpkg.com URL outside a <script src> or <link href>, which _check_page reads.
        msg = "Strawberry's GraphiQL page still mentions unpkg.com after rewriting"
        raise GraphiQLAssetError(msg)
    return html


def _read_assets(node_modules: Path) -> tuple[dict[Asset, bytes], list[str]]:
    contents: dict[Asset, bytes] = {}
    problems: list[str] = []
    for asset in ASSETS:
        file = node_modules / asset.file
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            problems.append(f"{file} is missing")
            continue
        actual = _integrity(data)
        if actual != asset.integrity:
            problems.append(
                f"{file} has integrity {actual}, Strawberry's page expects {asset.integrity} "
                "(wrong version installed?)"
            )
            continue
        contents[asset] = data
    return contents, problems


def verify_assets(node_modules: Path | None = None) -> list[str]:
    """Problems with the files we would serve; empty when GraphiQL will load.

    Checks every file's sha384 against ``ASSETS`` and ``ASSETS`` against the
    integrity attributes in the installed Strawberry's page, so the two cannot drift.
    """
    node_modules = default_node_modules() if node_modules is None else node_modules
    problems = _check_page(_strawberry_page())
    problems.extend(_read_assets(node_modules)[1])
    return problems


def _handler(asset: Asset, data: bytes) -> web.RouteDef:
    # A strong validator from the content hash we already checked (base64 is ETag-safe).
    etag = asset.integrity.removeprefix("sha384-")
    headers = {"Cache-Control": _CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}

    async def serve(request: web.Request) -> web.Response:
        wanted = request.if_none_match
        if wanted and any(tag.value in (etag, "*") for tag in wanted):
            response = web.Response(status=304, headers=headers)
        else:
            response = web.Response(
                body=data, content_type=asset.content_type, charset="utf-8", headers=headers
            )
        response.etag = etag
        return response

    return web.get(asset.url, serve)


def asset_routes(node_modules: Path | None = None) -> list[web.RouteDef]:
    """One GET (and HEAD) route per file in ``ASSETS``, and nothing else.

    Each route is an exact path, so no request can reach any other file. The files
    are read and checked now, held in memory (about 4 MB) and served with a strong
    ETag and a year-long immutable Cache-Control. Raises ``GraphiQLAssetError`` naming
    each missing or wrong file, so a server without its assets does not start.
    """
    node_modules = default_node_modules() if node_modules is None else node_modules
    contents, problems = _read_assets(node_modules)
    if problems:
        msg = (
            f"GraphiQL assets in {node_modules} are not usable: {'; '.join(problems)}. "
            f"To fix: {_INSTALL_HINT}, or point {NODE_MODULES_ENV} at the right node_modules."
        )
        raise GraphiQLAssetError(msg)
    return [_handler(asset, data) for asset, data in contents.items()]


def add_graphiql_routes(app: web.Application, node_modules: Path | None = None) -> None:
    """Add ``asset_routes`` to ``app``."""
    app.router.add_routes(asset_routes(node_modules))


class LocalGraphiQLView(GraphQLView[Context, RootValue]):
    """Strawberry's aiohttp view, whose GraphiQL page loads our copies of the assets.

    Takes Strawberry's arguments, plus ``subscription_path`` for ``graphiql_html``.
    The page is built when the view is, so a Strawberry upgrade that moved GraphiQL's
    version fails at startup, not on the first visit. Other IDEs (``graphql_ide=
    "apollo-sandbox"``, ...) are left to Strawberry. Add the asset routes with
    ``add_graphiql_routes``.
    """

    def __init__(self, *args: Any, subscription_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._graphiql_page = (
            graphiql_html(subscription_path=subscription_path)
            if self.graphql_ide == "graphiql"
            else None
        )

    async def render_graphql_ide(self, request: web.Request) -> web.Response:
        """Serve our page instead of the unpkg.com one (Strawberry's hook)."""
        if self._graphiql_page is None:
            return await super().render_graphql_ide(request)
        return web.Response(text=self._graphiql_page, content_type="text/html")
