"""Confirming a webhook's statuses with the provider when the delivery carries no time.

A delivery is a claim about the past: a vendor's late retry, or a captured delivery
replayed once its receipt was pruned, shows a status the order may have left long
ago. An order that carries the provider's ``updated_at`` (Unified) is compared with
the stored one at ingestion (an older one is stale and skipped, a newer one applies).
One without it (Kombo sends no time at all), or with the very time the stored order
has but another status, cannot be ordered against what the index holds, so:

- if the index does not hold the order, or holds it with the status the delivery
  claims, the order is ingested as delivered, but its status is marked to apply to a
  new row only (``status_if_new``): should the order appear or change between this
  look and the ingestion, the stored status stands;
- if the delivery would change the stored status, the provider is asked what the
  order is now (one ``get_orders`` call: Kombo's ``ids`` batches of up to 250) and that
  read is ingested instead of the claim, with ``read_at`` = when the read began (so it
  cannot undo a result delivered meanwhile either). An order the provider no longer
  knows is left as stored. A provider that cannot read orders by id leaves the stored
  status in place (``status_if_new``) rather than trusting the claim.

A provider error during the read propagates: the intake answers 503 and the vendor
retries later; nothing was written, not even the receipt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ordergraph.models import Order
from ordergraph.providers.base import Capability
from ordergraph.store import OrderStore, order_key
from ordergraph.sync.connections import LiveConnection

__all__ = ["ConfirmedOrders", "confirm_statuses"]


@dataclass(frozen=True, slots=True)
class ConfirmedOrders:
    """What to ingest for a delivery, and how."""

    orders: list[Order]
    # Remote ids whose status applies to a new order only (``OrderStore.ingest``).
    status_if_new: frozenset[str]
    # When the confirming read began; None when nothing was read.
    read_at: datetime | None = None
    # Orders read back from the provider, and those of them it no longer knows.
    confirmed: int = 0
    unknown_to_provider: int = 0


async def confirm_statuses(
    connection: LiveConnection, orders: Sequence[Order], store: OrderStore
) -> ConfirmedOrders:
    """The orders of a delivery as they may be ingested (rules in the module docstring)."""
    if not orders:
        return ConfirmedOrders([], frozenset())
    stored = await store.get(
        connection.tenant, [order_key(connection.id, order.remote_id) for order in orders]
    )
    changing: set[str] = set()
    for order in orders:
        current = stored.get(order_key(connection.id, order.remote_id))
        if (
            current is not None
            and current.order.status != order.status
            and not _dated_apart(order, current.order)
        ):
            changing.add(order.remote_id)
    untimed = {order.remote_id for order in orders if order.updated_at is None}
    provider = connection.provider
    if not changing or Capability.GET_ORDERS not in provider.capabilities:
        return ConfirmedOrders(list(orders), frozenset(untimed | changing))
    read_at = datetime.now(UTC)
    now = await provider.get_orders(sorted(changing))
    ingest: list[Order] = []
    read_back: set[str] = set()
    for order in orders:
        if order.remote_id not in changing:
            ingest.append(order)
        elif order.remote_id in now and order.remote_id not in read_back:
            # Listed twice in one delivery: the provider's answer is ingested once.
            read_back.add(order.remote_id)
            ingest.append(now[order.remote_id])
    return ConfirmedOrders(
        ingest,
        frozenset(untimed - changing),
        read_at=read_at,
        confirmed=len(changing),
        unknown_to_provider=len(changing - now.keys()),
    )


def _dated_apart(delivered: Order, stored: Order) -> bool:
    """Whether the provider's update times tell the two apart. An older delivered time
    is skipped as stale at ingestion, a newer one applies; no time, or the same time
    with another status (two changes within one timestamp), cannot be ordered."""
    if delivered.updated_at is None:
        return False
    return stored.updated_at is None or delivered.updated_at != stored.updated_at
