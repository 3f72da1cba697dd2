"""The built wheel serves GraphiQL by itself: no npm, no node_modules, no source tree.

Builds the wheel from a copy of the package (``pip wheel --no-deps
--no-build-isolation``, with the setuptools of the dev extra, so offline), installs it
into a fresh virtual environment in a temporary folder, and runs the installed
``ordergraph demo --port 0`` in yet another folder. The page and one vendored file are
fetched over HTTP and must be the installed package's own files.

The new environment takes the dependencies (Strawberry, aiohttp, ...) from the
project's environment through a ``.pth`` line that only appends its site-packages to
``sys.path``: ``.pth`` files in an appended folder are not run, so the editable install
of the source tree stays out, and the test checks that ``ordergraph`` is imported from
the new environment. Slow (a build and a demo start); CI runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import site
import sys
import sysconfig
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ordergraph.graphiql.manifest import ASSETS_DIR, read_manifest

REPO = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 240.0
START_TIMEOUT = 90.0

pytestmark = pytest.mark.slow


async def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        *(str(a) for a in args),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=BUILD_TIMEOUT)
    text = output.decode(errors="replace")
    assert process.returncode == 0, f"{' '.join(map(str, args))} failed:\n{text[-3000:]}"
    return text


def _copy_sources(dest: Path) -> None:
    """What the wheel is built from (never the repo itself: the build writes build/)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, dest / name)
    shutil.copytree(
        REPO / "ordergraph",
        dest / "ordergraph",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )


async def _install_wheel(tmp: Path) -> Path:
    """Build and install the wheel; the new environment's ``bin/ordergraph``."""
    source, dist, venv = tmp / "src", tmp / "dist", tmp / "venv"
    await asyncio.to_thread(_copy_sources, source)
    await _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--quiet", "--wheel-dir", dist, source,
        cwd=tmp,
    )  # fmt: skip
    [wheel] = list(dist.glob("ordergraph-*.whl"))
    await _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    await _run(
        sys.executable, "-m", "pip", "--python", python, "install",
        "--no-deps", "--no-index", "--quiet", wheel,
        cwd=tmp,
    )  # fmt: skip
    new_site = Path(
        (
            await _run(
                python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp
            )
        ).strip()
    )
    # The project's dependencies, appended after the new environment's own packages.
    ours = [sysconfig.get_path("purelib"), *site.getsitepackages()]
    await asyncio.to_thread(
        (new_site / "project-dependencies.pth").write_text, "\n".join(dict.fromkeys(ours)) + "\n"
    )
    return venv / "bin" / "ordergraph"


@contextlib.asynccontextmanager
async def _demo(ordergraph: Path, folder: Path) -> AsyncIterator[tuple[dict[str, object], str]]:
    """``ordergraph demo --port 0`` run from ``folder``; yields its info file and output."""
    info_file = folder / "demo-info.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERGRAPH_", "PYTHON"))}
    log = folder / "demo.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            ordergraph, "demo", "--port", "0", "--no-activity",
            "--data-dir", "data", "--info-file", info_file,
            cwd=folder, env=env, stdout=output, stderr=output,
        )  # fmt: skip
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while not info_file.is_file():
                    if process.returncode is not None:
                        pytest.fail(f"the demo exited {process.returncode}: {log.read_text()}")
                    await asyncio.sleep(0.2)
            yield json.loads(info_file.read_text()), log.read_text()
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), timeout=15)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def test_the_installed_wheel_serves_graphiql_from_another_folder(tmp_path: Path) -> None:
    if sys.prefix == sys.base_prefix:
        pytest.skip("needs the project's virtual environment (make install)")
    ordergraph = await _install_wheel(tmp_path)
    venv = ordergraph.parent.parent
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    where = await _run(
        venv / "bin" / "python",
        "-c",
        "import ordergraph.graphiql.manifest as m; print(m.ASSETS_DIR)",
        cwd=elsewhere,
    )
    installed_assets = Path(where.strip())
    assert installed_assets.is_relative_to(venv.resolve()) or installed_assets.is_relative_to(venv)
    assert not installed_assets.is_relative_to(REPO)

    asset = read_manifest()[-1]
    async with _demo(ordergraph, elsewhere) as (info, output), aiohttp.ClientSession() as http:
        graphql_url = str(info["graphql_url"])
        async with http.get(graphql_url, headers={"Accept": "text/html"}) as page:
            html = await page.text()
            page_headers = page.headers
        base = graphql_url.removesuffix("/graphql")
        async with http.get(f"{base}/graphiql/assets/{asset.path}") as served:
            body = await served.read()
            asset_type = served.content_type

    assert "GraphiQL is off" not in output
    assert page.status == 200
    assert page_headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in page_headers["Content-Security-Policy"]
    assert f"/graphiql/assets/{asset.path}" in html
    # The demo's page says where its keys are and starts with the first tenant's key.
    config = json.loads(html.split('id="ordergraph-graphiql">', 1)[1].split("</script>", 1)[0])
    first_key = info["tenants"][0]["api_key"]  # type: ignore[index]
    assert "printed in the terminal" in config["keyHint"]
    assert json.loads(config["headers"]) == {"Authorization": f"Bearer {first_key}"}
    assert served.status == 200
    assert asset_type == "text/javascript"
    assert body == (installed_assets / asset.path).read_bytes()
    assert body == (ASSETS_DIR / asset.path).read_bytes()
    # Nothing was looked for in the source tree or any node_modules.
    assert not (elsewhere / "node_modules").exists()
