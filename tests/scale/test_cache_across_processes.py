"""The response cache of two ``serve`` processes over PostgreSQL and Redis: a change
taken by one process is never hidden by the other's hits or 304s.

With a long bound (30 s) only the broker's wake-ups can tell the other process in
time, so a prompt miss proves they carry the version (and the mutation's refresh).
With wake-ups lost (the writer publishes on another channel prefix), the bound alone
must bring the change, within ``server.response_cache_confirm``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Sandbox
from tests.scale.test_two_processes import Cluster, _deliver_kombo_webhook, cluster
from tests.serve_support import SECRETS, ServeProcess

__all__ = ["cluster"]  # the fixture, shared with the two-process tests

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

QUERY = "{ orders(first: 100) { totalCount edges { node { remoteId status } } } }"


async def _ask(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, str | None, str | None, dict[str, object]]:
    """(status, cache header, ETag, body) of the query on one process."""
    async with session.post(
        url + "/graphql",
        json={"query": QUERY},
        headers={"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}", **(headers or {})},
    ) as response:
        body = await response.json() if response.status == 200 else {}
        return (
            response.status,
            response.headers.get("X-Ordergraph-Cache"),
            response.headers.get("ETag"),
            body,
        )


def _with_bound(config: Path, seconds: float, *, prefix: str | None = None) -> Path:
    """A copy of ``config`` with the version bound (and maybe another channel prefix)."""
    text = config.read_text().replace(
        "[server]\n", f"[server]\nresponse_cache_confirm = {seconds}\n", 1
    )
    if prefix is not None:
        lines = [
            f'channel_prefix = "{prefix}"' if line.startswith("channel_prefix") else line
            for line in text.splitlines()
        ]
        text = "\n".join(lines) + "\n"
    copy = config.with_name(f"{config.stem}-{seconds}-{prefix or 'same'}.toml")
    copy.write_text(text)
    return copy


async def _settled(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    """Wait until the index stops changing (the first poll is in), then cache the answer:
    (total count, ETag)."""
    previous = -1
    for _ in range(200):
        _, _, _, body = await _ask(session, url, {"Cache-Control": "no-cache"})
        total = body["data"]["orders"]["totalCount"]  # type: ignore[index]
        if total == previous and total > 0:
            break
        previous = total
        await asyncio.sleep(0.3)
    status, _, etag, body = await _ask(session, url)
    assert status == 200
    assert etag is not None
    return body["data"]["orders"]["totalCount"], etag  # type: ignore[index]


async def _first_fresh(
    session: aiohttp.ClientSession, url: str, total: int, etag: str, within: float
) -> float:
    """Seconds until ``url`` answers the held ETag with 200 and ``total + 1`` orders; every
    answer before that is the old one (a 304 or a hit of it)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        status, cache, _, body = await _ask(session, url, {"If-None-Match": etag})
        if status == 200:
            assert body["data"]["orders"]["totalCount"] == total + 1  # type: ignore[index]
            assert cache == "miss"
            return time.monotonic() - started
        assert status == 304
        await asyncio.sleep(0.02)
    raise AssertionError(f"the change was hidden for more than {within}s")


async def _start_with(cluster: Cluster, config: Path, name: str) -> ServeProcess:
    cluster.config, original = config, cluster.config
    try:
        return await cluster.start(name)
    finally:
        cluster.config = original


async def test_a_webhook_or_mutation_on_one_process_reaches_the_others_cache_at_once(
    cluster: Cluster, sandbox: Sandbox
) -> None:
    config = _with_bound(cluster.config, 30.0)
    reader = await _start_with(cluster, config, "reader")
    writer = await _start_with(cluster, config, "writer")
    async with aiohttp.ClientSession() as session:
        total, etag = await _settled(session, reader.url)
        assert (await _ask(session, reader.url))[1] == "hit"

        await _deliver_kombo_webhook(sandbox, writer.url, cluster.kombo_account)
        # The bound is 30 s: only the wake-up carrying the version can make this prompt.
        assert await _first_fresh(session, reader.url, total, etag, within=5.0) < 5.0

        status, cache, held, _ = await _ask(session, reader.url)
        assert (status, cache) == (200, "hit")
        assert held is not None
        mutation = {"query": "mutation { __typename }"}
        async with session.post(
            writer.url + "/graphql",
            json=mutation,
            headers={"Authorization": f"Bearer {SECRETS['OG_ACME_KEY']}"},
        ) as response:
            assert response.status == 200
        # The writer's new epoch reaches the reader through the broker's refresh.
        for _ in range(250):
            status, cache, _, _ = await _ask(session, reader.url, {"If-None-Match": held})
            if status == 200:
                assert cache == "miss"
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the mutation's new epoch did not reach the other process")


async def test_with_wake_ups_lost_the_bound_still_brings_the_change(
    cluster: Cluster, sandbox: Sandbox
) -> None:
    bound = 1.0
    reader = await _start_with(cluster, _with_bound(cluster.config, bound), "reader")
    # The writer publishes its wake-ups where the reader does not listen.
    deaf = _with_bound(cluster.config, bound, prefix="elsewhere-" + str(time.monotonic_ns()))
    writer = await _start_with(cluster, deaf, "writer")
    async with aiohttp.ClientSession() as session:
        total, etag = await _settled(session, reader.url)
        await _deliver_kombo_webhook(sandbox, writer.url, cluster.kombo_account)
        # Never hidden past the bound (plus a request's time on a loaded machine).
        await _first_fresh(session, reader.url, total, etag, within=bound + 1.5)
