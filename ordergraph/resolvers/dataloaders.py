"""Dataloaders, one set per request (and per subscription event).

Each batch function returns exactly one entry per key, in order: the value, ``None``
for a key that does not exist, or an exception for a key that failed (a provider that
is down fails only its own keys).

- ``OrderByIdLoader``: orders from the store, one query per batch.
- ``PackagesByConnectionLoader``: a connection's package list, one provider call per
  connection per cache lifetime (never one call per order).
- ``PackageByKeyLoader``: one package by (connection, package id), from the lists.
- ``EventsByOrderLoader``: a page of each order's events, one query for every order
  asking with the same window (positions, size, from the start or the end).
- ``NewestOrderByCandidateLoader`` / ``NewestOrderByJobLoader``: the order a candidate
  or a job is read from, one query per batch.
- ``ResultDeliveryByOrderLoader``: each order's newest result delivery, one query for
  every order of a request.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from ordergraph.cache import GatewayCache
from ordergraph.concurrency import bounded_gather
from ordergraph.errors import ProviderError
from ordergraph.models import Package
from ordergraph.resolvers.connections import tenant_connection
from ordergraph.store import (
    Delivery,
    DeliveryQueue,
    OrderStore,
    StoredEvent,
    StoredOrder,
    SyncState,
    SyncStateStore,
)
from ordergraph.sync.connections import ConnectionRegistry

__all__ = [
    "EventPageKey",
    "EventsByOrderLoader",
    "Loaders",
    "NewestOrderByCandidateLoader",
    "NewestOrderByJobLoader",
    "OrderByIdLoader",
    "PackageByKeyLoader",
    "PackagesByConnectionLoader",
    "ResultDeliveryByOrderLoader",
    "SyncStateByConnectionLoader",
]


# How many provider calls (package lists) and store reads (sync states) one batch runs
# at once: a tenant with many connections must not take the whole connection pool or
# open a request to every provider at once for one field.
_PROVIDER_CALLS = 8
_STORE_READS = 4


class OrderByIdLoader(DataLoader[str, StoredOrder | None]):
    """Stored orders by global key (``connection:remote id``), tenant-scoped."""

    def __init__(self, orders: OrderStore, tenant: str) -> None:
        async def load(keys: list[str]) -> Sequence[StoredOrder | None]:
            found = await orders.get(tenant, keys)
            return [found.get(key) for key in keys]

        super().__init__(load_fn=load)


class PackagesByConnectionLoader(DataLoader[str, list[Package]]):
    """A connection's whole package list (cached across requests)."""

    def __init__(self, connections: ConnectionRegistry, cache: GatewayCache, tenant: str) -> None:
        async def load_one(connection_id: str) -> list[Package] | BaseException:
            connection = tenant_connection(connections, tenant, connection_id)
            if connection is None:
                return []
            key = cache.key(tenant, "packages", connection_id)
            cached = await cache.get(key)
            if cached is not None:
                return [Package.model_validate(item) for item in cached]
            try:
                packages = await connection.provider.list_packages()
            except ProviderError as exc:
                return exc
            await cache.set(key, [p.model_dump(mode="json") for p in packages], cache.ttl.packages)
            return packages

        async def load(keys: list[str]) -> Sequence[list[Package] | BaseException]:
            # A provider's refusal is a per-key value; anything else (the cache is
            # away) fails the batch, and bounded_gather stops the other calls with it.
            return await bounded_gather((load_one(key) for key in keys), limit=_PROVIDER_CALLS)

        super().__init__(load_fn=load)


class PackageByKeyLoader(DataLoader[tuple[str, str], Package | None]):
    """One package by (connection id, package remote id), from the connection's list."""

    def __init__(self, lists: PackagesByConnectionLoader) -> None:
        async def load(keys: list[tuple[str, str]]) -> Sequence[Package | BaseException | None]:
            connection_ids = list(dict.fromkeys(connection_id for connection_id, _ in keys))
            # Per connection, so one provider's failure fails only its own keys. Plain
            # gather: these are loads of another loader (ordergraph/concurrency.py).
            lists_found = await asyncio.gather(
                *(lists.load(connection_id) for connection_id in connection_ids),
                return_exceptions=True,
            )
            tables: dict[str, dict[str, Package] | BaseException] = {
                connection_id: (
                    packages
                    if isinstance(packages, BaseException)
                    else {package.remote_id: package for package in packages}
                )
                for connection_id, packages in zip(connection_ids, lists_found, strict=True)
            }
            answers: list[Package | BaseException | None] = []
            for connection_id, remote_id in keys:
                table = tables[connection_id]
                answers.append(table if isinstance(table, BaseException) else table.get(remote_id))
            return answers

        super().__init__(load_fn=load)


@dataclass(frozen=True, slots=True)
class EventPageKey:
    """One order's page of events: between two event ids (exclusive), at most ``limit``
    from the start of that window, or from its end with ``from_end``."""

    order_id: str
    after_id: int | None
    before_id: int | None
    limit: int
    from_end: bool = False

    @property
    def window(self) -> tuple[int | None, int | None, int, bool]:
        return (self.after_id, self.before_id, self.limit, self.from_end)


class EventsByOrderLoader(DataLoader[EventPageKey, list[StoredEvent]]):
    """Orders' events in a window, oldest first, at most a page size each: one query for
    every order asking for the same window (``first`` and ``last`` pages alike)."""

    def __init__(self, orders: OrderStore, tenant: str) -> None:
        async def load(keys: list[EventPageKey]) -> Sequence[list[StoredEvent]]:
            windows: defaultdict[tuple[int | None, int | None, int, bool], list[str]] = defaultdict(
                list
            )
            for key in keys:
                windows[key.window].append(key.order_id)
            found: dict[EventPageKey, list[StoredEvent]] = {}
            for (after_id, before_id, limit, from_end), order_ids in windows.items():
                pages = await orders.events_of_orders(
                    tenant,
                    list(dict.fromkeys(order_ids)),
                    after_id=after_id,
                    limit=limit,
                    before_id=before_id,
                    from_end=from_end,
                )
                for order_id, events in pages.items():
                    found[EventPageKey(order_id, after_id, before_id, limit, from_end)] = events
            return [found[key] for key in keys]

        super().__init__(load_fn=load)


class NewestOrderByCandidateLoader(DataLoader[str, StoredOrder | None]):
    """The newest order of each candidate email (what a ``Candidate`` node is read from)."""

    def __init__(self, orders: OrderStore, tenant: str) -> None:
        async def load(emails: list[str]) -> Sequence[StoredOrder | None]:
            found = await orders.newest_orders_by_candidate(tenant, emails)
            return [found.get(email) for email in emails]

        super().__init__(load_fn=load)


class NewestOrderByJobLoader(DataLoader[tuple[str, str], StoredOrder | None]):
    """The newest order of each (connection id, job remote id) (a ``Job`` node's)."""

    def __init__(self, orders: OrderStore, tenant: str) -> None:
        async def load(jobs: list[tuple[str, str]]) -> Sequence[StoredOrder | None]:
            found = await orders.newest_orders_by_job(tenant, jobs)
            return [found.get(job) for job in jobs]

        super().__init__(load_fn=load)


class SyncStateByConnectionLoader(DataLoader[str, SyncState | None]):
    """Sync state of connections (for ``ProviderConnection.syncState``)."""

    def __init__(self, sync_state: SyncStateStore) -> None:
        async def load(keys: list[str]) -> Sequence[SyncState | None]:
            return await bounded_gather((sync_state.get(key) for key in keys), limit=_STORE_READS)

        super().__init__(load_fn=load)


class ResultDeliveryByOrderLoader(DataLoader[str, Delivery | None]):
    """The newest result delivery of orders by global key (None: never submitted)."""

    def __init__(self, deliveries: DeliveryQueue, tenant: str) -> None:
        async def load(keys: list[str]) -> Sequence[Delivery | None]:
            found = await deliveries.newest_for_orders(tenant, keys)
            return [found.get(key) for key in keys]

        super().__init__(load_fn=load)


@dataclass
class Loaders:
    """The loaders of one request or one subscription event."""

    order_by_id: OrderByIdLoader
    packages_by_connection: PackagesByConnectionLoader
    package_by_key: PackageByKeyLoader
    events_by_order: EventsByOrderLoader
    newest_order_by_candidate: NewestOrderByCandidateLoader
    newest_order_by_job: NewestOrderByJobLoader
    sync_state_by_connection: SyncStateByConnectionLoader
    result_delivery_by_order: ResultDeliveryByOrderLoader

    @classmethod
    def create(
        cls,
        *,
        tenant: str,
        orders: OrderStore,
        sync_state: SyncStateStore,
        deliveries: DeliveryQueue,
        connections: ConnectionRegistry,
        cache: GatewayCache,
    ) -> Loaders:
        packages = PackagesByConnectionLoader(connections, cache, tenant)
        return cls(
            order_by_id=OrderByIdLoader(orders, tenant),
            packages_by_connection=packages,
            package_by_key=PackageByKeyLoader(packages),
            events_by_order=EventsByOrderLoader(orders, tenant),
            newest_order_by_candidate=NewestOrderByCandidateLoader(orders, tenant),
            newest_order_by_job=NewestOrderByJobLoader(orders, tenant),
            sync_state_by_connection=SyncStateByConnectionLoader(sync_state),
            result_delivery_by_order=ResultDeliveryByOrderLoader(deliveries, tenant),
        )
