"""``ordergraph sandbox`` as a user runs it: a real process on a loopback port."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from ordergraph.auth import principal_for_key
from ordergraph.cli import build_parser, sandbox_context
from ordergraph.keys import MIN_KEY_LENGTH, hash_api_key
from ordergraph.models import ProviderName
from ordergraph.providers.registry import PLUGINS
from ordergraph.settings import load_settings

_LISTENING = re.compile(rb"ordergraph sandbox on (http://127\.0\.0\.1:\d+) ")


async def test_sandbox_command_serves_all_three_simulators() -> None:
    ordergraph = Path(sys.executable).with_name("ordergraph")
    process = await asyncio.create_subprocess_exec(
        str(ordergraph), "sandbox", "--port", "0", "--seed", "3", "--orders", "5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        # The first line names the port it bound; it is listening by then.
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        found = _LISTENING.match(first)
        assert found is not None, first
        base = found.group(1).decode()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/_sandbox/accounts") as response:
                accounts = (await response.json())["accounts"]
            assert {a["provider"] for a in accounts} == {"unified", "stackone", "kombo"}
            assert all(a["headers"] for a in accounts)
            async with session.get(f"{base}/_sandbox/stats") as response:
                assert (await response.json())["total"] == 0
    finally:
        process.terminate()
        _, stderr = await process.communicate()
    assert process.returncode is not None
    assert b"Traceback" not in stderr


async def test_schema_command_prints_the_committed_sdl() -> None:
    ordergraph = Path(sys.executable).with_name("ordergraph")
    process = await asyncio.create_subprocess_exec(
        str(ordergraph), "schema", stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    snapshot = Path(__file__).parent.parent / "schema.graphql"
    assert stdout.decode() == snapshot.read_text()


async def _hash_key(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    ordergraph = Path(sys.executable).with_name("ordergraph")
    process = await asyncio.create_subprocess_exec(
        str(ordergraph), "hash-key", *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_hash_key_prints_the_hash_of_the_key_on_stdin() -> None:
    key = "og_live_3mJ9vQ2xTzR8wK1pLs5dNf7bHc4yGe6a"
    code, stdout, stderr = await _hash_key(stdin=f"{key}\n".encode())
    assert (code, stderr) == (0, "")
    assert stdout == hash_api_key(key) + "\n"
    # what it printed is what the settings accept, and the key then acts for the tenant
    settings = load_settings(
        environ={},
        overrides={
            "tenants": [{"name": "acme", "keys": [{"hash": stdout.strip(), "scopes": ["read"]}]}]
        },
    )
    principal = principal_for_key(settings, key)
    assert principal is not None
    assert principal.tenant == "acme"


async def test_hash_key_refuses_a_short_key_without_echoing_it() -> None:
    code, stdout, stderr = await _hash_key(stdin=b"hunter2-hunter2\n")
    assert code == 2
    assert stdout == ""
    assert f"at least {MIN_KEY_LENGTH} characters" in stderr
    assert "--generate" in stderr
    assert "hunter2" not in stderr
    # nothing at all, or two keys at once, are refused too
    assert (await _hash_key(stdin=b""))[0] == 2
    assert (await _hash_key(stdin=b"a" * 40 + b"\n" + b"b" * 40 + b"\n"))[0] == 2


async def test_hash_key_generate_prints_a_new_key_once_and_its_hash() -> None:
    code, stdout, stderr = await _hash_key("--generate")
    assert (code, stderr) == (0, "")
    lines = dict(line.split(":", 1) for line in stdout.splitlines())
    key, digest = lines["key"].strip(), lines["hash"].strip()
    assert len(key) >= MIN_KEY_LENGTH
    assert digest == hash_api_key(key)
    again = await _hash_key("--generate")
    assert key not in again[1]


def test_sandbox_webhook_url_flags_come_from_the_plugins_and_keep_their_names() -> None:
    # ``--kombo-webhook-url`` is an interface: scripts pass it. It is now generated for
    # every provider whose webhook URL is set by hand rather than registered by API.
    pushing = [p for p in PLUGINS if p.webhooks is not None and not p.registers_webhook]
    assert ProviderName.KOMBO in {p.name for p in pushing}
    flags = [f"--{p.name.value}-webhook-url" for p in pushing]
    argv = ["sandbox"]
    for number, flag in enumerate(flags):
        argv += [flag, f"http://127.0.0.1:9/hook/{number}"]
    context = sandbox_context(build_parser().parse_args(argv))
    assert context.webhook_targets == {
        p.name.value: f"http://127.0.0.1:9/hook/{n}" for n, p in enumerate(pushing)
    }
    assert sandbox_context(build_parser().parse_args(["sandbox"])).webhook_targets == {}
    registered = [p for p in PLUGINS if p.registers_webhook]
    for plugin in registered:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["sandbox", f"--{plugin.name.value}-webhook-url", "x"])
