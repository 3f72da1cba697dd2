"""Private services a fault test may stop and start, and ``ordergraph serve`` processes.

Never the machine's shared PostgreSQL or Redis: other tests (and other people) use them.
``PrivatePostgres`` is a cluster of its own (initdb + pg_ctl as the ``postgres`` OS user,
in a temporary directory, on a free loopback port).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.scale.conftest import free_port
from tests.test_serve import ORDERGRAPH

__all__ = ["PG_BIN", "PrivatePostgres", "ServeProcess", "postgres_unavailable_reason"]

PG_BIN = Path(os.environ.get("ORDERGRAPH_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def postgres_unavailable_reason() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if not (PG_BIN / "initdb").exists():
        return f"no initdb in {PG_BIN}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres OS user to run the private cluster as"
        if shutil.which("runuser") is None:
            return "runuser is not installed"
    return None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (no fsync: test data only).

    TCP connections need a password, so the store URL carries one, as in production,
    and the secret scan can look for it in everything serve prints during an outage.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="og-faults-pg-"))
        self.data = self.folder / "data"
        self.password = f"pg-{secrets.token_hex(8)}"

    def _run(self, *command: str) -> None:
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=60)  # noqa: S603

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            shutil.chown(password_file, "postgres")
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={password_file}",
        )  # fmt: skip
        password_file.unlink()
        self.start()

    def _server_args(self) -> list[str]:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        # The log file matters: without one the server would inherit our output pipes.
        return ["-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log")]

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), *self._server_args(), "-w", "start")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), *self._server_args(), "-m", "fast", "-w", "restart")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class ServeProcess:
    """One ``ordergraph serve`` process, its output going to a log file."""

    config: Path
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *flags: str) -> None:
        with self.log.open("ab") as handle:
            self.process = await asyncio.create_subprocess_exec(
                str(ORDERGRAPH), "serve", "--config", str(self.config), "--port", str(self.port),
                *flags, stdout=handle, stderr=handle, env=self.env,
            )  # fmt: skip
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(self.url + "/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"serve did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def stop(self) -> int | None:
        process = self.process
        if process is None or process.returncode is not None:
            return process.returncode if process else None
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=20)
        except TimeoutError:
            process.kill()
            await process.wait()
        return process.returncode
