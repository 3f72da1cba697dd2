"""ATS activity for the demo: new orders and status changes every few seconds.

Each change reaches the index the way it would in production:

- Unified: the simulator creates or updates the order and delivers Unified's
  ``created``/``updated`` webhook to the subscription the gateway registered.
- Kombo: new orders arrive by Kombo's ``assessment:order-received`` webhook; status
  changes (Kombo sends no event for them) are found by the poller.
- StackOne: new orders are placed through ``createOrder``'s code path; a result the
  vendor writes is read back through the adapter, as ``refreshOrders`` does.

The sequence of actions (provider, tenant, order, new status) is drawn from one
``random.Random`` seeded by the demo's seed, so two demos with the same seed play the
same activity. Steps rotate over the providers, alternating three creations with three
status changes, so every provider shows both within a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

from ordergraph.demo.config import TENANTS
from ordergraph.demo.orders import NewOrders, filled_by_creation, place_order
from ordergraph.errors import OrdergraphError
from ordergraph.models import ProviderName
from ordergraph.sandbox.core import Simulator
from ordergraph.services import Services
from ordergraph.store import EventSource
from ordergraph.sync.connections import LiveConnection

__all__ = ["ACTIVITY_INTERVAL", "Activity", "next_status"]

logger = logging.getLogger(__name__)

ACTIVITY_INTERVAL = 3.0
_ROTATION = (ProviderName.UNIFIED, ProviderName.KOMBO, ProviderName.STACKONE)

# Where an order may go next, in each vendor's own words (several entries weight a
# choice). Statuses missing from a table are final.
_NEXT: Mapping[ProviderName, Mapping[str | None, tuple[str, ...]]] = {
    ProviderName.UNIFIED: {
        "OPEN": ("IN_PROGRESS",),
        "IN_PROGRESS": ("COMPLETED", "COMPLETED", "FAILED"),
    },
    ProviderName.KOMBO: {"OPEN": ("COMPLETED", "COMPLETED", "CANCELLED", "REJECTED")},
    ProviderName.STACKONE: {
        None: ("in_progress",),
        "in_progress": ("passed", "passed", "failed", "completed"),
    },
}


def next_status(provider: ProviderName, status: str | None, rng: random.Random) -> str | None:
    """A status the order may move to, or None when its status is final."""
    choices = _NEXT[provider].get(status)
    return rng.choice(choices) if choices else None


@dataclass
class Activity:
    """Plays the activity until ``stop`` is set; ``run`` returns promptly after that."""

    services: Services
    simulators: Mapping[str, Simulator]
    stackone_orders: Mapping[str, NewOrders]
    seed: int
    interval: float = ACTIVITY_INTERVAL

    def __post_init__(self) -> None:
        self.rng = random.Random(f"ordergraph-demo-activity:{self.seed}")
        self.steps = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
                return
            try:
                await self.step()
            except (OrdergraphError, KeyError, ValueError) as exc:
                # A refused or failed provider call: the demo goes on with the next step.
                logger.warning("demo activity step %d failed: %s", self.steps, exc)
            except Exception:
                logger.exception("demo activity step %d failed unexpectedly", self.steps)

    async def step(self) -> str:
        """One action; returns a line describing it (also logged)."""
        provider = _ROTATION[self.steps % len(_ROTATION)]
        create = (self.steps // len(_ROTATION)) % 2 == 0
        self.steps += 1
        connection = self._connection(provider, self.rng.choice(TENANTS))
        done = None if create else await self._change_status(connection)
        if done is None:
            done = await self._create(connection)
        logger.info("demo activity: %s", done)
        return done

    def _connection(self, provider: ProviderName, tenant: str) -> LiveConnection:
        found = self.services.connections.get(f"{tenant}-{provider.value}")
        if found is None:
            raise KeyError(f"{tenant}-{provider.value}")
        return found

    async def _create(self, connection: LiveConnection) -> str:
        if filled_by_creation(connection):
            key = await place_order(self.services, connection, self.stackone_orders[connection.id])
            return f"new order {key}"
        simulator = self.simulators[connection.provider_name.value]
        created = await simulator.create_orders(connection.settings.account, 1)
        return f"new order {connection.id}:{created[0]['id']}"

    async def _change_status(self, connection: LiveConnection) -> str | None:
        """Move one order on; None when no order of the connection can move."""
        provider = connection.provider_name
        simulator = self.simulators[provider.value]
        account = connection.settings.account
        movable = [o for o in simulator.ground_truth(account) if _NEXT[provider].get(o["status"])]
        if not movable:
            return None
        order = self.rng.choice(movable)
        status = next_status(provider, order["status"], self.rng)
        if status is None:  # pragma: no cover - movable orders always have a next status
            return None
        await simulator.set_status(account, order["id"], status)
        if filled_by_creation(connection):
            # Nothing pushes or lists the change: read it back, as a poll would.
            fresh = await connection.provider.get_orders([order["id"]])
            await self.services.ingestor.ingest(connection, list(fresh.values()), EventSource.POLL)
        return f"{connection.id}:{order['id']} {order['status'] or 'new'} -> {status}"
