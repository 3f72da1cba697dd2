"""How a result delivery looks to a client: the store's record, as it stands now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ordergraph.resolvers.context import Context
from ordergraph.store import Delivery, DeliveryState
from ordergraph.store.types import utcnow

__all__ = ["DeliveryView", "delivery_view"]


@dataclass(frozen=True, slots=True)
class DeliveryView:
    state: DeliveryState
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    submitted_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryView:
        state = delivery.state
        # A claim whose lease ran out (its process died) is due again: waiting, not sent.
        if state is DeliveryState.IN_FLIGHT and delivery.next_attempt_at <= utcnow():
            state = DeliveryState.PENDING
        return cls(
            state=state,
            attempts=delivery.attempts,
            last_error=None if state is DeliveryState.DELIVERED else delivery.last_error,
            next_attempt_at=delivery.next_attempt_at if state is DeliveryState.PENDING else None,
            submitted_at=delivery.created_at,
            updated_at=delivery.updated_at,
        )


async def delivery_view(context: Context, order_key: str) -> DeliveryView | None:
    """The newest result delivery of an order (None: no result submitted through us)."""
    delivery = await context.loaders.result_delivery_by_order.load(order_key)
    return DeliveryView.of(delivery) if delivery else None
