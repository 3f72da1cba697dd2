"""``ordergraph serve`` as the tests run it: its TOML config, its environment, the
process (started on a port the OS picks), readiness and stop.

Ports: serve is started with ``--port 0`` and binds a free port itself; the port is
read from its "serving GraphQL at <url>/graphql" line. There is no window between
choosing a port and binding it in which another test (or xdist worker) could take it.
``free_port`` remains only for servers that cannot report a port of their own choice
(redis-server, PostgreSQL); their starters retry on another port when it was taken.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from ordergraph.keys import hash_api_key
from tests.waiting import eventually

__all__ = [
    "ORDERGRAPH",
    "SECRETS",
    "BoundServer",
    "ServeProcess",
    "account_key",
    "free_port",
    "serve_env",
    "start_serve",
    "write_config",
]

ORDERGRAPH = Path(sys.executable).with_name("ordergraph")
SECRETS = {
    "OG_CURSOR_SECRET": "cursor-secret-9f8e7d",
    "OG_ACME_KEY": "acme-api-key-5c4b3a",
}
# The config holds the key's hash (from the environment, like any secret setting).
SECRETS["OG_ACME_KEY_HASH"] = hash_api_key(SECRETS["OG_ACME_KEY"])

# serve logs this line (text or JSON logs alike) once its socket listens.
_LISTENING = re.compile(r"serving GraphQL at (http://[0-9.]+:\d+)/graphql")
START_TIMEOUT = 60.0


def free_port() -> int:
    """A port free a moment ago: only for servers that cannot bind port 0 and say so
    (redis-server, PostgreSQL). Their starters retry when another process took it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def account_key(account: Mapping[str, Any]) -> str:
    """The credential in a sandbox account's ``Authorization`` header (Bearer or Basic)."""
    return str(account["headers"]["Authorization"]).split(" ", 1)[1]


def serve_env(**secrets: str) -> dict[str, str]:
    """The environment serve runs with: ours without ORDERGRAPH_* settings, the tenant
    key and cursor secret the config refers to, and ``secrets`` (``${NAME}`` in it)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ORDERGRAPH_")},
        **SECRETS,
        **secrets,
        "PYTHONUNBUFFERED": "1",
    }


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _table(header: str, values: Mapping[str, object]) -> str:
    lines = [header, *(f"{key} = {_toml_value(v)}" for key, v in values.items())]
    return "\n".join(lines) + "\n"


def write_config(
    path: Path,
    *,
    store_url: str,
    connections: Sequence[Mapping[str, object]],
    sections: Mapping[str, Mapping[str, object]] | None = None,
) -> Path:
    """Write serve's TOML: loopback, the store (cursor secret from the environment),
    tenant ``acme`` whose read+write key's hash is ``${OG_ACME_KEY_HASH}``,
    ``connections`` (secrets as ``${NAME}`` references) and any other ``sections``."""
    tables = {
        "server": {"host": "127.0.0.1"},
        "store": {"url": store_url, "cursor_secret": "${OG_CURSOR_SECRET}"},
    }
    for name, values in (sections or {}).items():
        tables[name] = {**tables.get(name, {}), **values}
    parts = [_table(f"[{name}]", values) for name, values in tables.items()]
    parts.append(_table("[[tenants]]", {"name": "acme"}))
    parts.append(
        _table("[[tenants.keys]]", {"hash": "${OG_ACME_KEY_HASH}", "scopes": ["read", "write"]})
    )
    parts.extend(_table("[[connections]]", connection) for connection in connections)
    path.write_text("\n".join(parts))
    return path


@dataclass
class ServeProcess:
    """One ``ordergraph serve`` process; its output (stdout and stderr) goes to ``log``."""

    process: asyncio.subprocess.Process
    log: Path
    # Where this process's output starts in ``log`` (a restart appends to the same file).
    offset: int = 0
    url: str = ""
    terminated: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _since_start(self) -> str:
        if not self.log.exists():
            return ""
        return self.log.read_bytes()[self.offset :].decode(errors="replace")

    async def listening(self, within: float = START_TIMEOUT) -> str:
        """The base URL once serve says where it listens (AssertionError if it exits)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (found := _LISTENING.search(self._since_start())) is None:
            if self.process.returncode is not None:
                raise AssertionError(
                    f"serve exited with {self.process.returncode}:\n{self.output()}"
                )
            if loop.time() > deadline:
                raise AssertionError(f"serve did not listen within {within} s:\n{self.output()}")
            await asyncio.sleep(0.05)
        self.url = found.group(1)
        return self.url

    async def ready(self, path: str = "/readyz", within: float = START_TIMEOUT) -> str:
        """The base URL once ``path`` answers 200."""
        url = await self.listening(within)

        async def answers() -> bool:
            try:
                async with session.get(url + path) as response:
                    return response.status == 200
            except aiohttp.ClientConnectionError:
                return False

        async with aiohttp.ClientSession() as session:
            await eventually(answers, within, what=f"serve answering {path}")
        return url

    def terminate(self) -> None:
        """SIGTERM, once: a second one could land after serve removed its handler and
        kill it with the signal's default action instead of a clean exit."""
        if not self.terminated and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            self.terminated = True

    async def stop(self, within: float = 20.0) -> int:
        """SIGTERM, then SIGKILL if it has not ended ``within`` seconds; the exit code."""
        self.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=within)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def ended(self, within: float = 20.0) -> int:
        """The exit code of a process that stops by itself."""
        return await asyncio.wait_for(self.process.wait(), timeout=within)


async def start_serve(
    config: Path, env: Mapping[str, str], log: Path, *flags: str, ready: str | None = "/readyz"
) -> ServeProcess:
    """Start ``ordergraph serve --config config --port 0 *flags`` (appending to ``log``);
    with ``ready``, wait until that path answers 200 (else return at once)."""
    with log.open("ab") as handle:
        offset = handle.tell()
        process = await asyncio.create_subprocess_exec(
            str(ORDERGRAPH), "serve", "--config", str(config), "--port", "0", *flags,
            stdout=handle, stderr=handle, env=dict(env),
        )  # fmt: skip
    served = ServeProcess(process, log, offset)
    if ready is not None:
        try:
            await served.ready(ready)
        except BaseException:
            await served.kill()
            raise
    return served


class BoundServer:
    """An aiohttp app served in this process on a socket bound (port from the OS) before
    the app is built, so its settings can name its own URL (a webhook's ``public_url``)
    with no port chosen, released and hoped-for in between."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.sock = socket.create_server((host, 0))
        self.port: int = self.sock.getsockname()[1]
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None

    def make_url(self, path: str) -> URL:
        return URL(f"http://{self.host}:{self.port}{path}")

    async def start(self, app: web.Application) -> None:
        self.app = app
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.SockSite(self._runner, self.sock).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self.sock.close()
