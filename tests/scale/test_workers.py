"""``ordergraph serve --workers 2`` over PostgreSQL and Redis: one port, two processes.

Real processes: the parent forks two workers that share the port (``SO_REUSEPORT``);
each answers with ``X-Ordergraph-Worker``. SIGTERM to the parent stops both cleanly; a
worker that dies takes the service down with a non-zero exit."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.scale.test_two_processes import Cluster, cluster
from tests.serve_support import SECRETS, start_serve

__all__ = ["cluster"]  # the fixture, shared with the two-process tests

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

_STARTED = re.compile(r"worker (\d)/2 started \(pid (\d+)\)")


@dataclass
class Workers:
    process: asyncio.subprocess.Process
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self) -> dict[int, int]:
        """Worker number -> pid, from the parent's start-up lines."""
        return {int(n): int(pid) for n, pid in _STARTED.findall(self.output())}

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), timeout=40)
        return code


async def _start_two(cluster: Cluster) -> Workers:
    log = cluster.folder / "workers.log"
    served = await start_serve(cluster.config, cluster.env, log, "--workers", "2", ready=None)
    process = served.process
    workers = Workers(process, await served.listening(), log)
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            answered: set[str] = set()
            for _ in range(8):
                answered |= await _who_answers(session, workers.url)
            # Both answer, and the parent's start-up lines (written by a buffered log
            # handler, up to half a second late) name both.
            if answered == {"1", "2"} and len(workers.pids()) == 2:
                return workers
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    process.kill()
    await process.wait()
    raise AssertionError(f"two workers did not become ready:\n{workers.output()}")


async def _who_answers(session: aiohttp.ClientSession, url: str) -> set[str]:
    """Which workers answered a ready probe on a fresh connection (none if not up)."""
    try:
        async with session.get(url + "/readyz", headers={"Connection": "close"}) as response:
            if response.status == 200:
                return {response.headers.get("X-Ordergraph-Worker", "")}
    except aiohttp.ClientConnectionError:
        pass
    return set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_two_workers_answer_on_one_port_and_stop_together_on_sigterm(
    cluster: Cluster,
) -> None:
    workers = await _start_two(cluster)
    pids = workers.pids()
    assert sorted(pids) == [1, 2], workers.output()
    assert len(set(pids.values()) | {workers.process.pid}) == 3
    # Fresh connections are spread over both; each answers GraphQL over the shared store.
    seen: dict[str, int] = {}
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(40):
            async with session.post(
                workers.url + "/graphql",
                json={"query": "{ connections { id } }"},
                headers={"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"},
            ) as response:
                assert response.status == 200
                body = await response.json()
                assert body["data"]["connections"], body
                worker = response.headers["X-Ordergraph-Worker"]
                seen[worker] = seen.get(worker, 0) + 1
    assert set(seen) == {"1", "2"}, seen
    # Background jobs stay single-owner: one worker polls Kombo (the lease holder).
    for _ in range(100):
        if await cluster.poller_pid() is not None:
            break
        await asyncio.sleep(0.1)
    assert await cluster.poller_pid() in set(pids.values())

    assert await workers.stop() == 0, workers.output()
    assert not [pid for pid in pids.values() if _alive(pid)]
    output = workers.output()
    assert "stopping 2 workers" in output
    assert output.count("stopped") >= 2, output  # each worker's clean-stop line
    assert "Traceback" not in output, output


async def test_killing_the_parent_takes_its_workers_with_it(cluster: Cluster) -> None:
    workers = await _start_two(cluster)
    pids = workers.pids()
    workers.process.kill()
    await workers.process.wait()
    for _ in range(100):
        if not [pid for pid in pids.values() if _alive(pid)]:
            break
        await asyncio.sleep(0.1)
    assert not [pid for pid in pids.values() if _alive(pid)]


async def test_a_worker_that_dies_stops_the_service_with_an_error(cluster: Cluster) -> None:
    workers = await _start_two(cluster)
    pids = workers.pids()
    os.kill(pids[1], signal.SIGKILL)
    code = await asyncio.wait_for(workers.process.wait(), timeout=40)
    assert code == 1, workers.output()
    assert not _alive(pids[2])
    assert "worker 1 killed by SIGKILL: stopping the other workers" in workers.output()
