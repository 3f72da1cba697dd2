"""GraphiQL served offline: the page, the asset routes, and a real browser running a query.

The unit tests check what can be checked without a browser: the page no longer names
unpkg.com, keeps its integrity attributes, and the files we serve hash to them. The
browser test is the proof that matters: headless Chromium, steered over the Chrome
DevTools Protocol (CDP), loads GraphiQL from a loopback server, runs ``{ hello }`` and
shows the answer, with every request staying on 127.0.0.1 and no integrity error.

Chromium (Debian's ``chromium``) and ``node_modules`` (``make install``) are needed;
without them the tests skip locally and fail when ``CI`` is set, so CI cannot pass by
skipping.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
import strawberry
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from ordergraph import graphiql
from ordergraph.graphiql import (
    ASSETS,
    GraphiQLAssetError,
    LocalGraphiQLView,
    add_graphiql_routes,
    asset_routes,
    default_node_modules,
    graphiql_html,
    verify_assets,
)

# Generous: Chromium's first start and GraphiQL's 3.5 MB bundle on a busy 2-core machine.
STEP_TIMEOUT = 30.0
TEST_TIMEOUT = 150.0


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str | None:
        return "world"


SCHEMA = strawberry.Schema(query=Query)


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI, where the tools must be installed."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture
def node_modules() -> Path:
    path = default_node_modules()
    missing = [asset.file for asset in ASSETS if not (path / asset.file).is_file()]
    if missing:
        _unavailable(
            f"{len(missing)} GraphiQL asset(s) missing under {path}, e.g. {missing[0]}: "
            "run `make install`"
        )
    return path


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        _unavailable("Debian's chromium is not installed: apt-get install chromium")
    return found


def _app(node_modules: Path) -> web.Application:
    app = web.Application()
    add_graphiql_routes(app, node_modules)
    app.router.add_route("*", "/graphql", LocalGraphiQLView(schema=SCHEMA))
    return app


@pytest.fixture
async def client(node_modules: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(_app(node_modules), host="127.0.0.1")) as test_client:
        yield test_client


# --- the page ------------------------------------------------------------------------


def test_page_loads_nothing_from_unpkg_and_keeps_every_integrity() -> None:
    html = graphiql_html()
    assert "unpkg.com" not in html
    original = graphiql._strawberry_page()
    assert html.count("integrity=") == original.count("integrity=") == len(ASSETS)
    for asset in ASSETS:
        attribute = "href" if asset.content_type == "text/css" else "src"
        tag_start = html.index(f'{attribute}="{asset.url}"')
        tag = html[html.rindex("<", 0, tag_start) : html.index(">", tag_start)]
        assert f'integrity="{asset.integrity}"' in tag, asset.path


def test_page_is_strawberrys_page_with_only_the_urls_changed() -> None:
    original = graphiql._strawberry_page()
    assert graphiql_html() == original.replace("https://unpkg.com/", "/graphiql/assets/")


def test_subscription_path_is_resolved_against_the_page_url() -> None:
    html = graphiql_html(subscription_path="/subscriptions</script>")
    assert (
        'httpUrlToWebSockeUrl(new URL("/subscriptions\\u003c/script>", window.location.href)'
        in html
    )
    assert '</script>"' not in html


def test_a_strawberry_page_with_other_versions_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a Strawberry upgrade that moves GraphiQL would look like: no silent 404s.
    moved = graphiql._strawberry_page().replace("graphiql@3.8.3", "graphiql@3.9.0")
    monkeypatch.setattr(graphiql, "_strawberry_page", lambda: moved)
    with pytest.raises(GraphiQLAssetError, match=r"graphiql@3\.9\.0/graphiql\.min\.js"):
        graphiql_html()


def test_node_modules_can_be_moved_by_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ORDERGRAPH_NODE_MODULES", str(tmp_path))
    assert default_node_modules() == tmp_path
    monkeypatch.delenv("ORDERGRAPH_NODE_MODULES")
    assert default_node_modules() == Path(__file__).resolve().parent.parent / "node_modules"


# --- the files -----------------------------------------------------------------------


def test_served_files_hash_to_strawberrys_integrity(node_modules: Path) -> None:
    assert verify_assets(node_modules) == []


def test_missing_or_wrong_files_stop_the_server(node_modules: Path, tmp_path: Path) -> None:
    for asset in ASSETS:
        (tmp_path / asset.file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / asset.file, tmp_path / asset.file)
    (tmp_path / ASSETS[0].file).unlink()
    (tmp_path / ASSETS[1].file).write_text("tampered")

    problems = verify_assets(tmp_path)
    assert len(problems) == 2
    assert ASSETS[0].file in problems[0]
    assert "missing" in problems[0]
    assert ASSETS[1].file in problems[1]
    assert "integrity" in problems[1]
    with pytest.raises(GraphiQLAssetError, match="make install") as raised:
        asset_routes(tmp_path)
    assert ASSETS[0].file in str(raised.value)


async def test_assets_are_served_with_type_and_cache_headers(
    client: TestClient[web.Request, web.Application],
) -> None:
    for asset in ASSETS:
        response = await client.get(asset.url)
        body = await response.read()
        assert response.status == 200, asset.url
        assert response.content_type == asset.content_type
        assert response.charset == "utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
        assert f"sha384-{digest}" == asset.integrity

        etag = response.headers["ETag"]
        again = await client.get(asset.url, headers={"If-None-Match": etag})
        assert again.status == 304
        assert await again.read() == b""
        assert again.headers["ETag"] == etag

    head = await client.head(ASSETS[0].url)
    assert head.status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/assets/",
        "/graphiql/assets/react@18.2.0/package.json",
        "/graphiql/assets/react@18.2.0/umd/react.development.js",
        "/graphiql/assets/react@18.2.0/umd/../../../../pyproject.toml",
        "/graphiql/assets/%2e%2e/%2e%2e/pyproject.toml",
        "/graphiql/assets/..%2f..%2fpyproject.toml",
        "/graphiql/assets/react@18.2.0/umd/react.production.min.js/",
    ],
)
async def test_anything_else_under_the_prefix_is_404(
    client: TestClient[web.Request, web.Application], path: str
) -> None:
    response = await client.get(URL(path, encoded=True))
    assert response.status == 404
    assert b"[project]" not in await response.read()


async def test_view_serves_the_local_page_and_still_answers_queries(
    client: TestClient[web.Request, web.Application],
) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status == 200
    assert await page.text() == graphiql_html()

    answer = await client.get("/graphql", params={"query": "{ hello }"})
    assert await answer.json() == {"data": {"hello": "world"}}


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


async def test_graphiql_runs_a_query_in_headless_chromium(
    chromium: str, node_modules: Path, tmp_path: Path
) -> None:
    async with (
        asyncio.timeout(TEST_TIMEOUT),
        TestServer(_app(node_modules), host="127.0.0.1") as server,
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

            # Strawberry's page takes the query from ?q=... (?query= would run it as GET).
            url = f"{server.make_url('/graphql')}?q={quote('{ hello }')}"
            asset_urls = {str(server.make_url(asset.url)) for asset in ASSETS}
            navigated = await page.send("Page.navigate", {"url": url})
            assert "errorText" not in navigated, navigated
            await page.wait_for(
                "location.href.startsWith('http://127.0.0.1') && "
                "document.readyState === 'complete'",
                "the page to load",
            )
            await page.wait_for(
                "!!document.querySelector('.graphiql-execute-button') && "
                "document.querySelector('.graphiql-query-editor').innerText.includes('hello')",
                "GraphiQL to render with the query from the URL",
            )
            await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
            answer = await page.wait_for(
                "(() => { const r = document.querySelector('.graphiql-response');"
                " return r && r.innerText.includes('world') && r.innerText; })()",
                "the answer in the result pane",
            )
            loaded = await page.evaluate(
                "({react: typeof React, graphiql: typeof GraphiQL,"
                " explorer: typeof GraphiQLPluginExplorer,"
                " sheets: [...document.querySelectorAll('link[rel=stylesheet]')]"
                ".map(l => l.sheet !== null)})"
            )
            shot = await page.send("Page.captureScreenshot", {"format": "png"})
            (tmp_path / "graphiql.png").write_bytes(base64.b64decode(shot["data"]))
        finally:
            await cdp.close()

    assert '"hello": "world"' in answer
    assert loaded == {
        "react": "object",
        "graphiql": "function",
        "explorer": "object",
        "sheets": [True, True],
    }

    requested = [p["request"]["url"] for p in cdp.params("Network.requestWillBeSent")]
    requested += [p["url"] for p in cdp.params("Network.webSocketCreated")]
    off_loopback = [
        u
        for u in requested
        if urlsplit(u).scheme not in ("data", "blob", "about")
        and urlsplit(u).hostname != "127.0.0.1"
    ]
    assert off_loopback == []
    assert asset_urls <= set(requested)
    failed = [p for p in cdp.params("Network.loadingFailed") if not p.get("canceled")]
    assert failed == []
    assert _console_errors(cdp) == []
