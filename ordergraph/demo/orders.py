"""Orders for the demo's connections that only ordergraph creates, placed the production way.

On a provider that neither lists orders nor pushes them (StackOne: no order list, no
order webhook) an order exists only once ordergraph creates it, so the demo places
those connections' orders through
``create_order_for_connection``, the function behind ``createOrder``: the adapter POSTs
the order to the simulator, and what StackOne confirms is indexed. The people, jobs and
recruiters come from the sandbox's deterministic seed data; the package is one the
account offers, listed through the adapter first.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from ordergraph.concurrency import bounded_gather
from ordergraph.errors import ConfigError
from ordergraph.models import (
    Application,
    Candidate,
    HiringTeamMember,
    Job,
    Location,
    NewOrder,
    Package,
    PackageRef,
)
from ordergraph.providers.base import Capability
from ordergraph.resolvers.mutations import create_order_for_connection
from ordergraph.sandbox.data import OrderFactory, SeedHiringMember, SeedOrder
from ordergraph.services import Services
from ordergraph.store import StoredOrder
from ordergraph.sync.connections import LiveConnection

__all__ = ["STACKONE_SEED_ORDERS", "NewOrders", "filled_by_creation", "seed_stackone"]

logger = logging.getLogger(__name__)

STACKONE_SEED_ORDERS = 20


def _member(member: SeedHiringMember) -> HiringTeamMember:
    return HiringTeamMember(
        remote_id=member.remote_id,
        first_name=member.first_name,
        last_name=member.last_name,
        email=member.email,
        roles=member.roles,
    )


def new_order_from_seed(seed: SeedOrder, package: Package) -> NewOrder:
    """What an ATS sends to order ``package`` for the seed order's candidate."""
    person = seed.candidate
    where = seed.job.location
    return NewOrder(
        package=PackageRef(
            remote_id=package.remote_id, name=package.name, description=package.description
        ),
        candidate=Candidate(
            remote_id=person.remote_id,
            first_name=person.first_name,
            last_name=person.last_name,
            name=f"{person.first_name} {person.last_name}",
            emails=(person.email,),
            phones=(person.phone,),
            profile_url=person.profile_url,
        ),
        job=Job(
            remote_id=seed.job.remote_id,
            title=seed.job.title,
            code=seed.job.code,
            description=seed.job.description,
            location=Location(
                street_1=where.street_1,
                city=where.city,
                region=where.state,
                postal_code=where.zip_code,
                country=where.country,
                raw=where.raw,
            ),
            hiring_team=tuple(_member(m) for m in seed.job.hiring_team),
        ),
        application=Application(remote_id=seed.application_id),
        requester=_member(seed.requester),
    )


class NewOrders:
    """An endless, deterministic supply of orders for one connection's packages."""

    def __init__(self, seed: int, connection_id: str, packages: Sequence[Package]) -> None:
        if not packages:
            msg = f"connection {connection_id} offers no packages to order"
            raise ConfigError(msg)
        self.factory = OrderFactory(seed=seed, account=f"demo:{connection_id}", id_prefix="")
        self.rng = random.Random(f"demo:{seed}:{connection_id}:packages")
        self.packages = list(packages)

    def next(self) -> NewOrder:
        return new_order_from_seed(self.factory.next_order(), self.rng.choice(self.packages))


async def _seed_connection(
    services: Services, connection: LiveConnection, seed: int, count: int
) -> NewOrders:
    orders = NewOrders(seed, connection.id, await connection.provider.list_packages())
    for _ in range(count):
        await create_order_for_connection(services, connection, orders.next())
    logger.info("placed %d %s orders on %s", count, connection.plugin.label, connection.id)
    return orders


def filled_by_creation(connection: LiveConnection) -> bool:
    """Whether the connection's orders reach the index only by being created through
    ordergraph: its provider can create orders but neither lists nor pushes them."""
    capabilities = connection.plugin.capabilities
    return Capability.CREATE_ORDER in capabilities and not capabilities & {
        Capability.LIST_ORDERS,
        Capability.RECEIVE_WEBHOOKS,
    }


async def seed_stackone(
    services: Services, *, seed: int, count: int = STACKONE_SEED_ORDERS
) -> dict[str, NewOrders]:
    """Place ``count`` orders on every connection filled by creation (StackOne's);
    returns each connection's order supply (the activity keeps ordering from it)."""
    connections = [c for c in services.connections if filled_by_creation(c)]
    # One connection failing stops the demo's start: the others' seeding stops with it
    # rather than running on, unowned, while the process exits.
    supplies = await bounded_gather(
        (_seed_connection(services, c, seed, count) for c in connections), limit=4
    )
    return {c.id: s for c, s in zip(connections, supplies, strict=True)}


async def place_order(services: Services, connection: LiveConnection, orders: NewOrders) -> str:
    """Place one more order (demo activity); returns its index key."""
    stored: StoredOrder = await create_order_for_connection(services, connection, orders.next())
    return stored.id
