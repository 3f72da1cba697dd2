"""GraphiQL from the package: vendored files, the rewritten page, its headers, a browser.

The unit tests check what can be checked without a browser: the vendored files are the
bytes Strawberry's installed page pins (so a Strawberry upgrade that changes the page
fails here, not at a production start, where GraphiQL would only turn off with a
warning), ``make vendor-graphiql`` reproduces them from npm, and the page and its files
carry their security and cache headers. The browser tests are the proof that matters:
headless Chromium, steered over the Chrome DevTools Protocol (CDP), loads GraphiQL from
a loopback server under its Content-Security-Policy, runs ``{ hello }``, and loads the
schema into the docs pane as soon as an API key is entered.

Chromium (Debian's ``chromium``) is needed for the browser tests, ``node_modules``
(``make install``) for the vendoring one; without them those tests skip locally and
fail when ``CI`` is set, so CI cannot pass by skipping.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
import strawberry
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from ordergraph.api import add_graphql_routes
from ordergraph.broker import MemoryBroker
from ordergraph.graphiql import (
    ASSETS_PREFIX,
    GRAPHIQL_WELCOME,
    GraphiQLWelcome,
    LocalGraphiQLView,
    load_graphiql,
    runs_only_queries,
)
from ordergraph.graphiql import serving as graphiql_serving
from ordergraph.graphiql.manifest import ASSETS_DIR, read_manifest, read_vendored, sha384_integrity
from ordergraph.graphiql.page import build_page, own_files
from ordergraph.graphiql.tags import UNPKG, page_assets, strawberry_page
from ordergraph.graphiql.vendor import VendorError, vendor
from ordergraph.keys import hash_api_key
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry

# Generous: Chromium's first start and GraphiQL's 3.5 MB bundle on a busy 2-core machine.
STEP_TIMEOUT = 30.0
TEST_TIMEOUT = 150.0
REPO = Path(__file__).resolve().parent.parent
API_KEY = "graphiql-test-key-7d3f"
SECURITY = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str | None:
        return "world"


@strawberry.type
class Mutation:
    @strawberry.mutation
    def bump(self) -> int:
        return 1


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def tick(self) -> AsyncGenerator[int, None]:
        yield 42


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI, where the tools must be installed."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture
def node_modules() -> Path:
    path = REPO / "node_modules"
    if not (path / "graphiql" / "package.json").is_file():
        _unavailable(f"GraphiQL's npm packages are not installed under {path}: run `make install`")
    return path


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        _unavailable("Debian's chromium is not installed: apt-get install chromium")
    return found


@web.middleware
async def _key_required(request: web.Request, handler: Any) -> web.StreamResponse:
    """Like the gateway: a GraphQL request without the right key is refused with 401."""
    is_page = request.method == "GET" and "text/html" in request.headers.get("Accept", "")
    authorized = request.headers.get("Authorization") == f"Bearer {API_KEY}"
    if request.path == "/graphql" and not is_page and not authorized:
        return web.json_response({"errors": [{"message": "authentication required"}]}, status=401)
    return await handler(request)


def _app(
    *, welcome: GraphiQLWelcome | None = None, key_required: bool = False, graphiql: bool = True
) -> web.Application:
    app = web.Application(middlewares=[_key_required] if key_required else [])
    view = LocalGraphiQLView(schema=SCHEMA, graphiql=graphiql)
    view.add_graphiql_routes(app)
    app.router.add_route("*", "/graphql", view)
    if welcome is not None:
        app[GRAPHIQL_WELCOME] = welcome
    return app


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(_app(), host="127.0.0.1")) as test_client:
        yield test_client


def _served_paths() -> list[str]:
    """Every file URL the page loads: the vendored ones and our script and style."""
    return [ASSETS_PREFIX + e.path for e in read_manifest()] + [
        ASSETS_PREFIX + f.path for f in own_files()
    ]


# --- the vendored files --------------------------------------------------------------


def test_vendored_files_are_what_strawberrys_installed_page_pins() -> None:
    # A Strawberry upgrade that moves GraphiQL, React or the explorer fails here.
    files, problems = read_vendored()
    assert problems == []
    pinned = {
        url.removeprefix(UNPKG): integrity
        for url, integrity in page_assets(strawberry_page()).items()
    }
    assert {f.path: f.integrity for f in files} == pinned
    assert all(sha384_integrity(f.data) == f.integrity for f in files)
    assert len(files) == 7
    assert sum(len(f.data) for f in files) < 5 * 2**20


def test_make_vendor_graphiql_reproduces_the_committed_files(
    node_modules: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "assets"
    vendor(node_modules, dest)
    made = sorted(p.relative_to(dest) for p in dest.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ASSETS_DIR) for p in ASSETS_DIR.rglob("*") if p.is_file())
    assert made == committed
    for path in made:
        assert (dest / path).read_bytes() == (ASSETS_DIR / path).read_bytes(), path


def test_vendoring_refuses_another_version_and_keeps_what_was_there(
    node_modules: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "assets"
    vendor(node_modules, dest)
    before = (dest / "manifest.json").read_bytes()
    moved = strawberry_page().replace("graphiql@3.8.3", "graphiql@3.9.0")
    with pytest.raises(
        VendorError, match=r"npm install --save-exact --ignore-scripts graphiql@3\.9\.0"
    ):
        vendor(node_modules, dest, page=moved)
    assert (dest / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["assets"]  # no staging folder left


# --- GraphiQL off instead of a failed start ------------------------------------------


def test_a_strawberry_page_with_other_versions_turns_graphiql_off_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    moved = strawberry_page().replace("graphiql@3.8.3", "graphiql@3.9.0")
    monkeypatch.setattr(graphiql_serving, "strawberry_page", lambda: moved)
    with caplog.at_level(logging.WARNING, logger="ordergraph.graphiql.serving"):
        view = LocalGraphiQLView(schema=SCHEMA)
    assert view.graphql_ide is None
    assert view.graphiql_files is None
    [record] = caplog.records
    assert "GraphiQL is off" in record.getMessage()
    assert "graphiql@3.9.0/graphiql.min.js" in record.getMessage()
    assert "make vendor-graphiql" in record.getMessage()


def test_a_damaged_vendored_file_turns_graphiql_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    first = read_manifest()[0].path
    (assets / first).write_text("tampered")
    with caplog.at_level(logging.WARNING, logger="ordergraph.graphiql.serving"):
        assert load_graphiql(assets) is None
    assert first in caplog.text
    (assets / "manifest.json").unlink()
    assert load_graphiql(assets) is None
    assert load_graphiql(ASSETS_DIR) is not None


def test_a_page_with_a_second_inline_script_is_refused() -> None:
    files, _ = read_vendored()
    page = strawberry_page().replace("</body>", "<script>alert(1)</script></body>")
    built = build_page(page, files, own_files())
    assert isinstance(built, list)
    assert "2 inline scripts" in built[0]


# --- the page ------------------------------------------------------------------------


def test_page_loads_only_our_files_with_their_integrity() -> None:
    files = load_graphiql()
    assert files is not None
    html = files.page.render()
    assert "unpkg.com" not in html
    assert "<script>" not in html  # no inline script: the CSP allows none
    for file in read_vendored()[0]:
        tag_start = html.index(f'="{ASSETS_PREFIX}{file.path}"')
        tag = html[html.rindex("<", 0, tag_start) : html.index(">", tag_start)]
        assert f'integrity="{file.integrity}"' in tag, file.path
    for own in own_files():
        assert f'"{ASSETS_PREFIX}{own.path}" integrity="{own.integrity}"' in html


def test_page_options_cannot_break_out_of_their_json_block() -> None:
    files = load_graphiql()
    assert files is not None
    hostile = '</script><script>alert("x")</script><!--'
    html = files.page.render(key_hint=hostile, headers={"Authorization": hostile})
    assert "alert" in html
    config = html.split('id="ordergraph-graphiql">', 1)[1].split("</script>", 1)[0]
    assert "<" not in config
    assert json.loads(config)["keyHint"] == hostile
    assert json.loads(json.loads(config)["headers"]) == {"Authorization": hostile}


async def test_page_is_served_with_its_security_headers(
    client: TestClient[web.Request, web.Application],
) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status == 200
    assert page.content_type == "text/html"
    for name, value in SECURITY.items():
        assert page.headers[name] == value
    assert page.headers["Cache-Control"] == "no-store"
    csp = dict(d.strip().split(" ", 1) for d in page.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'"
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in page.headers["Content-Security-Policy"]
    assert csp["style-src"].startswith("'self' 'sha256-")
    # No key in a page that the demo did not set up.
    assert '"headers": null' in await page.text()

    answer = await client.get("/graphql", params={"query": "{ hello }"})
    assert await answer.json() == {"data": {"hello": "world"}}


async def test_files_are_served_with_type_cache_and_security_headers(
    client: TestClient[web.Request, web.Application],
) -> None:
    for url in _served_paths():
        response = await client.get(url)
        body = await response.read()
        assert response.status == 200, url
        assert response.content_type == ("text/css" if url.endswith(".css") else "text/javascript")
        assert response.charset == "utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        for name, value in SECURITY.items():
            assert response.headers[name] == value
        etag = response.headers["ETag"]
        assert f"sha384-{etag.strip(chr(34))}" == sha384_integrity(body)
        again = await client.get(url, headers={"If-None-Match": etag})
        assert again.status == 304
        assert await again.read() == b""
        assert again.headers["X-Frame-Options"] == "DENY"

    head = await client.head(_served_paths()[0])
    assert head.status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/assets/",
        "/graphiql/assets/manifest.json",
        "/graphiql/assets/react@18.2.0/package.json",
        "/graphiql/assets/react@18.2.0/umd/react.development.js",
        "/graphiql/assets/react@18.2.0/umd/../../../../pyproject.toml",
        "/graphiql/assets/%2e%2e/%2e%2e/pyproject.toml",
        "/graphiql/assets/..%2f..%2fpyproject.toml",
        "/graphiql/assets/react@18.2.0/umd/react.production.min.js/",
        "/graphiql/assets/ordergraph/graphiql-page.js",
    ],
)
async def test_anything_else_under_the_prefix_is_404(
    client: TestClient[web.Request, web.Application], path: str
) -> None:
    response = await client.get(URL(path, encoded=True))
    assert response.status == 404
    assert b"[project]" not in await response.read()


# --- operations from the URL ---------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "kept"),
    [
        ("{ hello }", True),
        ("query Q { hello }", True),
        ("{ hello", True),  # a draft that does not parse yet changes nothing either
        ("mutation { bump }", False),
        ("query A { hello } mutation B { bump }", False),
        ("subscription { tick }", False),
        ("{ hello }" + " " * 100_000, False),
        ("mutation { " + "bump " * 12_000 + "}", False),  # many tokens, still a mutation
    ],
)
def test_only_queries_may_come_from_a_link(document: str, kept: bool) -> None:
    assert runs_only_queries(document) is kept


async def test_a_mutation_in_the_link_is_dropped_before_the_page_is_served(
    client: TestClient[web.Request, web.Application],
) -> None:
    browser = {"Accept": "text/html"}
    link = f"/graphql?q={quote('mutation { bump }')}&variables=%7B%7D"
    redirect = await client.get(link, headers=browser, allow_redirects=False)
    assert redirect.status == 303
    assert redirect.headers["Location"] == "/graphql?variables=%7B%7D"
    assert redirect.headers["X-Frame-Options"] == "DENY"

    kept = await client.get(f"/graphql?q={quote('{ hello }')}", headers=browser)
    assert kept.status == 200
    assert "ordergraph-graphiql" in await kept.text()


async def test_a_mutation_as_query_parameter_is_not_run_from_a_browser_get() -> None:
    # ?query= is a GraphQL GET request, not the page: the gateway refuses mutations on
    # GET (405), and a link cannot add the Authorization header it needs anyway.
    async with (
        _gateway(graphiql=True) as url,
        aiohttp.ClientSession() as http,
        http.get(
            f"{url}/graphql",
            params={"query": "mutation { refreshOrders { __typename } }"},
            headers={"Accept": "text/html,*/*;q=0.8", "Authorization": f"Bearer {API_KEY}"},
        ) as answer,
    ):
        assert answer.status == 405
        assert answer.headers["Allow"] == "POST"
        assert (await answer.json())["errors"][0]["extensions"]["code"]


# --- [server] graphiql ---------------------------------------------------------------


@contextlib.asynccontextmanager
async def _gateway(*, graphiql: bool) -> AsyncIterator[str]:
    """The gateway's own app (create_app and add_graphql_routes) with one tenant and no
    connections, on loopback; yields its base URL."""
    folder = Path(tempfile.mkdtemp(prefix="ordergraph-graphiql-"))
    url = f"sqlite:///{folder / 'index.sqlite3'}"
    settings = load_settings(
        environ={},
        overrides={
            "server": {"graphiql": graphiql},
            "store": {"url": url, "cursor_secret": "graphiql-test-cursor-secret"},
            "tenants": [
                {
                    "name": "acme",
                    "keys": [{"hash": hash_api_key(API_KEY), "scopes": ["read", "write"]}],
                }
            ],
        },
    )
    services = Services(
        settings=settings,
        store=Store.from_engine(create_engine(url), cursor_secret="graphiql-test-cursor-secret"),
        broker=MemoryBroker(),
        connections=ConnectionRegistry.from_settings(settings.connections),
    )
    app = create_app(services, background=False)
    add_graphql_routes(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
        await services.close()
        shutil.rmtree(folder, ignore_errors=True)


async def test_the_gateway_drops_a_mutation_from_a_link_too() -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    async with (
        _gateway(graphiql=True) as url,
        aiohttp.ClientSession() as http,
        http.get(
            f"{url}/graphql?q={quote('mutation { refreshOrders { __typename } }')}",
            headers=browser,
            allow_redirects=False,
        ) as answer,
    ):
        assert answer.status == 303
        assert answer.headers["Location"] == "/graphql"
        assert answer.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("graphiql", [True, False])
async def test_server_graphiql_setting_turns_the_ide_and_its_files_off(graphiql: bool) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    async with _gateway(graphiql=graphiql) as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/graphql", headers=browser) as from_browser:
            body = await from_browser.text()
        async with http.get(f"{url}/graphql", headers={"Accept": "application/json"}) as other:
            other_body = await other.text()
        async with http.get(url + _served_paths()[0]) as asset:
            asset_status = asset.status
    if graphiql:
        assert from_browser.status == 200
        assert "ordergraph-graphiql" in body
        assert asset_status == 200
    else:
        # What a non-browser gets: no key, so 401, as JSON.
        assert (from_browser.status, other.status) == (401, 401)
        assert from_browser.content_type == "application/json"
        assert json.loads(body)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert json.loads(other_body) == json.loads(body)
        assert asset_status == 404


# --- the browser ---------------------------------------------------------------------


class CdpError(Exception):
    """A CDP command answered with an error."""


class Cdp:
    """The smallest useful CDP client: commands over one browser WebSocket, events kept.

    Pages are attached with ``flatten``, so a page's commands and events travel on the
    browser's socket tagged with a ``sessionId``.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                data: dict[str, Any] = json.loads(message.data)
                future = self._pending.pop(data["id"], None) if "id" in data else None
                if future is None:
                    self.events.append(data)
                elif future.done():
                    pass
                elif "error" in data:
                    future.set_exception(CdpError(json.dumps(data["error"])))
                else:
                    future.set_result(data.get("result", {}))
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(CdpError("the browser closed the DevTools socket"))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self._ids += 1
        message: dict[str, Any] = {"id": self._ids, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = future
        await self._ws.send_str(json.dumps(message))
        async with asyncio.timeout(STEP_TIMEOUT):
            return await future

    def params(self, method: str) -> list[dict[str, Any]]:
        return [e.get("params", {}) for e in self.events if e.get("method") == method]

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class Page:
    """One tab: evaluate JavaScript and wait for a condition in it."""

    def __init__(self, cdp: Cdp, session: str) -> None:
        self.cdp = cdp
        self.session = session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.cdp.send(method, params, self.session)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        if "exceptionDetails" in result:
            raise CdpError(json.dumps(result["exceptionDetails"]))
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str) -> Any:
        """Poll ``expression`` until it is truthy; its value is returned."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                body = await self.evaluate("document.body && document.body.innerText")
                pytest.fail(
                    f"timed out after {STEP_TIMEOUT}s waiting for {what}; page text: {body!r}; "
                    f"console: {_console_errors(self.cdp)}"
                )
            await asyncio.sleep(0.2)


def _console_errors(cdp: Cdp) -> list[str]:
    """Errors the page reported: console.error, uncaught exceptions, browser log."""
    errors = [
        " ".join(str(arg.get("value", arg.get("description", ""))) for arg in p["args"])
        for p in cdp.params("Runtime.consoleAPICalled")
        if p["type"] in ("error", "assert")
    ]
    errors += [
        p["exceptionDetails"].get("exception", {}).get("description")
        or p["exceptionDetails"]["text"]
        for p in cdp.params("Runtime.exceptionThrown")
    ]
    errors += [
        f"{p['entry']['source']}: {p['entry']['text']} ({p['entry'].get('url', '')})"
        for p in cdp.params("Log.entryAdded")
        if p["entry"]["level"] == "error"
    ]
    return errors


def _devtools_url(profile: Path) -> str | None:
    """The browser's WebSocket URL, once Chromium has written both lines of the file."""
    port_file = profile / "DevToolsActivePort"
    lines = port_file.read_text().split() if port_file.is_file() else []
    return f"ws://127.0.0.1:{lines[0]}{lines[1]}" if len(lines) >= 2 else None


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


@contextlib.asynccontextmanager
async def _chromium(binary: str, log: Path) -> AsyncIterator[str]:
    """Start headless Chromium on a fresh profile; yield its browser WebSocket URL.

    ``--remote-debugging-port=0`` lets Chromium pick a free port, which it writes to
    ``DevToolsActivePort`` in the profile. The browser gets its own process group, so
    it and every helper process it forked are killed at the end, and the profile goes.
    """
    profile = Path(tempfile.mkdtemp(prefix="ordergraph-chromium-"))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--no-proxy-server",
        # Anything but loopback fails to resolve: a CDN URL cannot load even with internet.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1280,800",
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            binary,
            *flags,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STEP_TIMEOUT
            while (browser_url := _devtools_url(profile)) is None:
                if process.returncode is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"Chromium did not open DevTools (exit {process.returncode}): {_tail(log)}"
                    )
                await asyncio.sleep(0.1)
            yield browser_url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            shutil.rmtree(profile, ignore_errors=True)


@contextlib.asynccontextmanager
async def _browser_page(chromium: str, tmp_path: Path) -> AsyncIterator[Page]:
    """A fresh tab of a fresh headless Chromium, with its events recorded."""
    async with (
        _chromium(chromium, tmp_path / "chromium.log") as browser_url,
        aiohttp.ClientSession() as http,
    ):
        ws = await http.ws_connect(browser_url, max_msg_size=256 * 2**20)
        cdp = Cdp(ws)
        try:
            target = await cdp.send("Target.createTarget", {"url": "about:blank"})
            attached = await cdp.send(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )
            page = Page(cdp, attached["sessionId"])
            for domain in ("Network", "Runtime", "Log", "Page"):
                await page.send(f"{domain}.enable")
            yield page
        finally:
            await cdp.close()


async def _open(page: Page, url: str) -> None:
    navigated = await page.send("Page.navigate", {"url": url})
    assert "errorText" not in navigated, navigated
    await page.wait_for(
        "location.href.startsWith('http://127.0.0.1') && document.readyState === 'complete'",
        "the page to load",
    )
    await page.wait_for(
        "!!document.querySelector('.graphiql-execute-button')", "GraphiQL to render"
    )


async def _screenshot(page: Page, file: Path) -> None:
    """A PNG of the tab, to look at when a browser test fails (it stays in tmp_path)."""
    shot = await page.send("Page.captureScreenshot", {"format": "png"})
    await asyncio.to_thread(file.write_bytes, base64.b64decode(shot["data"]))


def _check_network(cdp: Cdp, expected: set[str]) -> None:
    """Everything stayed on loopback, every file loaded, nothing broke the CSP."""
    requested = [p["request"]["url"] for p in cdp.params("Network.requestWillBeSent")]
    requested += [p["url"] for p in cdp.params("Network.webSocketCreated")]
    off_loopback = [
        u
        for u in requested
        if urlsplit(u).scheme not in ("data", "blob", "about")
        and urlsplit(u).hostname != "127.0.0.1"
    ]
    assert off_loopback == []
    assert expected <= set(requested)
    failed = [
        p
        for p in cdp.params("Network.loadingFailed")
        if not p.get("canceled") and p.get("blockedReason") is None
    ]
    blocked = [p for p in cdp.params("Network.loadingFailed") if p.get("blockedReason")]
    assert failed == []
    assert blocked == []
    # CSP violations are reported as console and log errors: there must be none.
    assert _console_errors(cdp) == []


async def test_graphiql_runs_a_query_under_its_csp_in_headless_chromium(
    chromium: str, tmp_path: Path
) -> None:
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        TestServer(_app(), host="127.0.0.1") as server,
        _browser_page(chromium, tmp_path) as page,
    ):
        # The page takes the shared query from ?q=... (?query= would be a GraphQL GET).
        await _open(page, f"{server.make_url('/graphql')}?q={quote('{ hello }')}")
        await page.wait_for(
            "document.querySelector('.graphiql-query-editor').innerText.includes('hello')",
            "the query from the URL in the editor",
        )
        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        answer = await page.wait_for(
            "(() => { const r = document.querySelector('.graphiql-response');"
            " return r && r.innerText.includes('world') && r.innerText; })()",
            "the answer in the result pane",
        )
        # A subscription over the WebSocket: the CSP's connect-src 'self' lets it through.
        await page.evaluate(
            "document.querySelector('.graphiql-query-editor .CodeMirror')"
            ".CodeMirror.setValue('subscription Tick { tick }')"
        )
        # GraphiQL took the edit once the page wrote it to the URL (its onEditQuery).
        await page.wait_for("location.search.includes('tick')", "the edit to reach GraphiQL")
        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        ticked = await page.wait_for(
            "(() => { const r = document.querySelector('.graphiql-response');"
            " return r && r.innerText.includes('42') && r.innerText; })()",
            "the subscription's event in the result pane",
        )
        loaded = await page.evaluate(
            "({react: typeof React, graphiql: typeof GraphiQL,"
            " explorer: typeof GraphiQLPluginExplorer,"
            " sheets: [...document.querySelectorAll('link[rel=stylesheet]')]"
            ".map(l => l.sheet !== null),"
            " hint: document.getElementById('ordergraph-key-hint').innerText})"
        )
        await _screenshot(page, tmp_path / "graphiql.png")
        expected = {str(server.make_url(url)) for url in _served_paths()}
    cdp = page.cdp

    assert '"hello": "world"' in answer
    assert '"tick": 42' in ticked
    assert loaded["react"] == "object"
    assert loaded["graphiql"] == "function"
    assert loaded["explorer"] == "object"
    assert loaded["sheets"] == [True, True, True]
    assert "Headers tab" in loaded["hint"]
    [document] = [
        p["response"] for p in cdp.params("Network.responseReceived") if p["type"] == "Document"
    ]
    headers = {k.lower(): v for k, v in document["headers"].items()}
    assert "script-src 'self';" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    _check_network(cdp, expected)


_DOCS_SHOW_QUERY = (
    "(() => { const d = document.querySelector('.graphiql-doc-explorer');"
    " return d && d.innerText.includes('Query') && d.innerText.includes('Mutation')"
    " && d.innerText; })()"
)
_HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
_OPEN_DOCS = (
    "document.querySelector('[aria-label=\"Show Documentation Explorer\"]')"
    " && document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click()"
)


async def test_the_schema_loads_as_soon_as_a_key_is_entered(chromium: str, tmp_path: Path) -> None:
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        TestServer(_app(key_required=True), host="127.0.0.1") as server,
        _browser_page(chromium, tmp_path) as page,
    ):
        await _open(page, str(server.make_url("/graphql")))
        await page.evaluate(_OPEN_DOCS)
        before = await page.wait_for(
            "(() => { const d = document.querySelector('.graphiql-doc-explorer');"
            " return d && d.innerText.includes('Error fetching schema') && d.innerText; })()",
            "the docs pane to say it has no schema yet",
        )
        await _screenshot(page, tmp_path / "before-key.png")
        # Type the key into the Headers tab, as a user would (CodeMirror's own API, so
        # GraphiQL sees an edit); no click on "re-fetch".
        await page.evaluate(
            "[...document.querySelectorAll('.graphiql-editor-tools button')]"
            ".find(b => b.innerText.trim() === 'Headers').click()"
        )
        editor = "document.querySelector(" + json.dumps(_HEADERS_EDITOR) + ")"
        await page.wait_for(f"!!{editor}", "the Headers editor")
        typed = json.dumps(json.dumps({"Authorization": f"Bearer {API_KEY}"}))
        await page.evaluate(f"{editor}.CodeMirror.setValue({typed})")
        docs = await page.wait_for(_DOCS_SHOW_QUERY, "the schema in the docs pane")
        await _screenshot(page, tmp_path / "after-key.png")
        # The CSP is enforced: a script injected into the page does not run.
        injected_ran = await page.evaluate(
            "(() => { const s = document.createElement('script');"
            " s.textContent = 'window.injectedRan = true';"
            " document.body.appendChild(s); return window.injectedRan === true; })()"
        )
    assert injected_ran is False
    csp_reports = [e for e in _console_errors(page.cdp) if "Content Security Policy" in e]
    assert len(csp_reports) == 1  # the injected script's, and nothing of GraphiQL's
    assert "Error fetching schema" in before
    assert "Error fetching schema" not in docs
    # The 401s before the key was entered are the page asking, not failures.
    statuses = [p["response"]["status"] for p in page.cdp.params("Network.responseReceived")]
    assert 200 in statuses


async def test_the_demo_page_names_its_keys_and_starts_with_one(
    chromium: str, tmp_path: Path
) -> None:
    welcome = GraphiQLWelcome(
        key_hint="Demo: keys are printed by `ordergraph demo`.",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        TestServer(_app(welcome=welcome, key_required=True), host="127.0.0.1") as server,
        _browser_page(chromium, tmp_path) as page,
    ):
        await _open(page, str(server.make_url("/graphql")))
        await page.evaluate(_OPEN_DOCS)
        await page.wait_for(_DOCS_SHOW_QUERY, "the schema in the docs pane")
        hint = await page.evaluate("document.getElementById('ordergraph-key-hint').innerText")
        await _screenshot(page, tmp_path / "demo.png")
    assert hint == welcome.key_hint
    _check_network(page.cdp, set())
