"""Private services a fault test may stop and start, and ``ordergraph serve`` processes.

Never the machine's shared PostgreSQL or Redis: other tests (and other people) use them.
``PrivatePostgres`` is a cluster of its own (initdb + pg_ctl as the ``postgres`` OS user,
in a temporary directory, on a free loopback port).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.serve_support import ServeProcess as Served
from tests.serve_support import free_port, start_serve

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
        # PostgreSQL cannot pick a port and say which: if another process took the one
        # chosen meanwhile, start on another. Restarts keep it.
        for _ in range(4):
            try:
                self.start()
                return
            except subprocess.CalledProcessError:
                self.port = free_port()
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
    """One ``ordergraph serve`` of a scenario, started by tests/serve_support.py (on a
    port of its own choosing); its output goes to ``log``."""

    config: Path
    env: dict[str, str]
    log: Path
    served: Served | None = None

    @property
    def url(self) -> str:
        assert self.served is not None, "not started"
        return self.served.url

    async def start(self, *flags: str) -> None:
        self.served = await start_serve(self.config, self.env, self.log, *flags)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def stop(self) -> int | None:
        if self.served is None:
            return None
        return await self.served.stop()
