"""Tens of thousands of orders per account: seeding, ground truth and paging stay usable."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from ordergraph.models import ProviderName
from ordergraph.providers.base import ConnectionConfig
from ordergraph.providers.kombo import KomboProvider
from ordergraph.sandbox.app import create_sandbox_app
from ordergraph.sandbox.core import SandboxContext

ORDERS = 20_000


@pytest.fixture
async def big_sandbox() -> AsyncIterator[str]:
    context = SandboxContext(seed=11, orders_per_account=ORDERS, accounts_per_provider=1)
    started = time.perf_counter()
    app = create_sandbox_app(context)
    # Seeding is part of start-up: it must stay seconds, not minutes.
    assert time.perf_counter() - started < 60
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_twenty_thousand_kombo_orders_page_through_completely(big_sandbox: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{big_sandbox}/_sandbox/accounts") as response:
            accounts = (await response.json())["accounts"]
        async with session.get(f"{big_sandbox}/_sandbox/orders?provider=kombo") as response:
            truth = (await response.json())["orders"]
    kombo = next(a for a in accounts if a["provider"] == "kombo")
    assert len(truth) == ORDERS
    provider = KomboProvider(
        ConnectionConfig(
            id="kombo-big",
            provider=ProviderName.KOMBO,
            base_url=f"{big_sandbox}/kombo/v1",
            api_key=SecretStr(kombo["headers"]["Authorization"].removeprefix("Bearer ")),
            account=kombo["account"],
        )
    )
    try:
        ids = [order.remote_id async for order in provider.iter_orders()]
    finally:
        await provider.close()
    assert len(ids) == len(set(ids)) == ORDERS
    assert set(ids) == {o["id"] for o in truth}


async def test_twenty_thousand_unified_orders_are_ground_truth(big_sandbox: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{big_sandbox}/_sandbox/orders?provider=unified") as response,
    ):
        truth = (await response.json())["orders"]
    assert len(truth) == ORDERS
    assert len({o["id"] for o in truth}) == ORDERS
