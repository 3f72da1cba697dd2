"""A first walk that fails half-way resumes from the page it reached."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from ordergraph.errors import ProviderUnavailableError
from ordergraph.models import Order
from ordergraph.sandbox.core import SandboxContext
from ordergraph.store import EventSource, IngestResult, WebhookReceipt
from ordergraph.sync.connections import LiveConnection
from ordergraph.sync.ingest import Ingestor
from ordergraph.sync.poller import OrderPoller
from tests.conftest import Sandbox
from tests.sync.conftest import Gateway

ORDERS = 600  # three Kombo pages of 250


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=5, orders_per_account=ORDERS, accounts_per_provider=1)


class FaultAfterFirstPage(Ingestor):
    """Turns Kombo's faults on once the first page is stored, as an outage would."""

    def __init__(self, inner: Ingestor, sandbox: Sandbox) -> None:
        super().__init__(inner.orders, inner.broker)
        self.sandbox = sandbox
        self.pages = 0

    async def ingest(
        self,
        connection: LiveConnection,
        orders: Sequence[Order],
        source: EventSource,
        *,
        receipt: WebhookReceipt | None = None,
        read_at: datetime | None = None,
    ) -> IngestResult:
        result = await super().ingest(connection, orders, source, receipt=receipt, read_at=read_at)
        self.pages += 1
        if self.pages == 1:
            await self.sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503]}})
        return result


async def test_an_interrupted_first_walk_resumes_from_its_cursor(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    connection = gateway.services.connections.get("acme-kombo")
    assert connection is not None
    store = gateway.services.store
    flaky = FaultAfterFirstPage(gateway.services.ingestor, sandbox)
    poller = OrderPoller(connection, flaky, store.orders, store.sync_state, interval=1)

    with pytest.raises(ProviderUnavailableError):
        await poller.poll_once()
    state = await store.sync_state.get("acme-kombo")
    assert state is not None
    assert state.cursor is not None
    assert await gateway.order_count("acme-kombo") == 250

    await sandbox.faults({})
    before = (await sandbox.stats())["requests"]["kombo"]["GET /assessment/orders"]
    report = await poller.poll_once()
    after = (await sandbox.stats())["requests"]["kombo"]["GET /assessment/orders"]

    assert report.initial
    assert report.pages == 2
    assert after - before == 2
    assert await gateway.order_count("acme-kombo") == ORDERS
    assert len(await gateway.events()) == ORDERS
