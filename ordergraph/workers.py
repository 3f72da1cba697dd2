"""``ordergraph serve --workers N``: N processes answering on one port, one per core.

Python runs one core per process, so a host's cores need processes. The parent binds
the address first (so a taken port fails before anything forks and the actual port of
``--port 0`` is known), then forks N workers; each opens its own listening socket on
that port with ``SO_REUSEPORT`` and the kernel spreads new connections over them (a
shared accept queue would let one busy worker take most of them).

Each worker is a whole gateway (``ordergraph.serve``): its own store pool, cache and
broker connections, background jobs. Those jobs already coordinate across hosts, and
so across workers: one Kombo poller per connection holds a Redis lease, result
deliveries are claimed in the store, webhook receipt pruning holds a lease. What
workers must share is therefore exactly what several hosts share: PostgreSQL, and
Redis for the cache and the broker. With SQLite or a ``memory://`` cache or broker,
workers would not see each other's wake-ups, leases or cache entries, so:

- ``--workers N`` (or ``server.workers = N``) with N > 1 on such settings is refused
  at start-up with a message that says what several workers need (exit 2);
- left to the default (one per core), such settings run one worker, with a WARNING
  that says why.

The parent only supervises. SIGTERM or SIGINT to it is passed to every worker, which
stops as ``serve`` does (finishes requests in flight); the parent exits 0 when all
stopped cleanly (workers still running after the shutdown grace are killed, exit 1).
A parent killed outright (SIGKILL) takes its workers with it (``PR_SET_PDEATHSIG``):
no orphan serves on. A worker that dies on its own takes the service down: the parent
logs which worker died and how, stops the others and exits non-zero (the worker's own
exit code when it failed to start, e.g. 2 for settings to fix; else 1), so the process
supervisor
(systemd, Kubernetes) restarts the unit as it would restart a single process, rather
than the parent hiding a crash loop behind restarts of its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ordergraph.errors import ConfigError, OrdergraphError
from ordergraph.settings import Settings

__all__ = [
    "WORKER_HEADER",
    "ListenError",
    "WorkerPlan",
    "plan_workers",
    "reuse_port_socket",
    "run_workers",
    "unshared_parts",
]

logger = logging.getLogger(__name__)

WORKER_HEADER = "X-Ordergraph-Worker"
"""Which worker (1..N) answered; sent only when several run (a number, never a pid)."""

# Seconds workers get to stop after SIGTERM before they are killed: the serve
# shutdown timeout for requests in flight, plus closing the store, broker and sessions.
STOP_GRACE = 25.0
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}


class ListenError(OrdergraphError):
    """The server's address cannot be bound (port in use, not permitted)."""


def unshared_parts(settings: Settings) -> list[str]:
    """What in ``settings`` several worker processes could not share."""
    parts = []
    if urlsplit(settings.store.url).scheme.startswith("sqlite"):
        parts.append("store.url is SQLite (workers need PostgreSQL)")
    if urlsplit(settings.cache.url).scheme == "memory":
        parts.append("cache.url is memory:// (workers need Redis)")
    if urlsplit(settings.broker.url).scheme == "memory":
        parts.append("broker.url is memory:// (workers need Redis)")
    return parts


@dataclass(frozen=True)
class WorkerPlan:
    count: int
    # Why fewer than asked for (default only), for the start-up WARNING.
    reduced_because: list[str]


def plan_workers(settings: Settings, requested: int | None) -> WorkerPlan:
    """How many workers to run: ``requested`` (the command line), else
    ``server.workers``, else one per core. Raises ``ConfigError`` for an explicit N > 1
    that the settings cannot support."""
    explicit = requested if requested is not None else settings.server.workers
    if explicit is not None and explicit < 1:
        msg = f"--workers must be at least 1, not {explicit}"
        raise ConfigError(msg)
    count = explicit if explicit is not None else (os.cpu_count() or 1)
    problems = unshared_parts(settings) if count > 1 else []
    if not problems:
        return WorkerPlan(count, [])
    if explicit is not None:
        msg = (
            f"{count} workers cannot share this deployment's state: "
            + "; ".join(problems)
            + ". Run with --workers 1, or point the store at PostgreSQL and the cache "
            "and broker at Redis."
        )
        raise ConfigError(msg)
    return WorkerPlan(1, problems)


def reuse_port_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    """A TCP socket bound with ``SO_REUSEPORT`` (listening when ``listen``). Raises
    ``ListenError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(128)
    except OSError as exc:
        sock.close()
        msg = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise ListenError(msg) from None
    sock.setblocking(False)
    return sock


# A worker's body: given its number (1..N) and its listening socket, serve until told
# to stop; returns the process's exit code.
WorkerMain = Callable[[int, socket.socket], int]


def _fork_worker(number: int, host: str, port: int, work: WorkerMain, mask: set[int]) -> int:
    for handler in logging.getLogger().handlers:
        handler.flush()  # nothing buffered may be written twice (by parent and child)
    pid = os.fork()
    if pid:
        return pid
    # The worker: signals back to normal, its own socket on the shared port.
    code = 1
    try:
        _die_with_parent()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        code = work(number, reuse_port_socket(host, port, listen=True))
    except ListenError as exc:
        logger.error("worker %d: %s", number, exc)
        code = 2
    except BaseException:
        logger.exception("worker %d failed", number)
    finally:
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        os._exit(code)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Have the kernel SIGKILL this worker when the parent dies, however it dies.

    A parent killed with SIGKILL (or crashed) cannot pass a stop on; without this its
    workers would serve on as orphans, holding leases nobody supervises. SIGKILL, not
    SIGTERM: a killed parent is a crash of the whole unit, as with one process.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


class _Supervisor:
    def __init__(self, count: int) -> None:
        self.count = count
        self.pids: dict[int, int] = {}  # pid -> worker number
        self.codes: dict[int, int] = {}  # worker number -> exit code

    def reap(self) -> list[tuple[int, int]]:
        """(worker number, wait status) of every worker that ended since last asked."""
        ended = []
        while self.pids:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            number = self.pids.pop(pid, None)
            if number is not None:
                self.codes[number] = os.waitstatus_to_exitcode(status)
                ended.append((number, status))
        return ended

    def signal_all(self, sig: signal.Signals) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop_all(self) -> bool:
        """SIGTERM every worker and wait for them; True when none had to be killed."""
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while self.pids and time.monotonic() < deadline:
            signal.sigtimedwait(_SIGNALS, 0.2)
            self.reap()
        if not self.pids:
            return True
        logger.error("workers %s did not stop in time: killing them", sorted(self.pids.values()))
        self.signal_all(signal.SIGKILL)
        while self.pids:
            signal.sigtimedwait(_SIGNALS, 0.2)
            self.reap()
        return False


def run_workers(host: str, port: int, count: int, work: WorkerMain) -> int:
    """Fork ``count`` workers serving ``host:port`` and supervise them (module
    docstring); the parent's exit code."""
    # Held (bound, not listening) for the parent's lifetime: it fails fast on a taken
    # port, fixes the port of ``--port 0``, and gets no connections of its own.
    reservation = reuse_port_socket(host, port, listen=False)
    port = reservation.getsockname()[1]
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    supervisor = _Supervisor(count)
    try:
        for number in range(1, count + 1):
            pid = _fork_worker(number, host, port, work, previous)
            supervisor.pids[pid] = number
            logger.info("worker %d/%d started (pid %d) on %s:%d", number, count, pid, host, port)
        while True:
            received = signal.sigtimedwait(_SIGNALS, 1.0)
            if received is not None and received.si_signo in (signal.SIGTERM, signal.SIGINT):
                logger.info("stopping %d workers", len(supervisor.pids))
                clean = supervisor.stop_all()
                failed = [n for n, code in supervisor.codes.items() if code != 0]
                if failed:
                    logger.error("workers %s did not stop cleanly", sorted(failed))
                return 0 if clean and not failed else 1
            for number, status in supervisor.reap():
                logger.error(
                    "worker %d %s: stopping the other workers and exiting",
                    number,
                    _describe(status),
                )
                supervisor.stop_all()
                code = os.waitstatus_to_exitcode(status)
                return code if code > 0 else 1
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        reservation.close()
