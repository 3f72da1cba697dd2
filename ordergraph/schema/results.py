"""``ResultDelivery``: how a submitted result's way to the provider stands."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergraph.resolvers.deliveries import DeliveryView
from ordergraph.store import DeliveryState

__all__ = ["ResultDelivery"]


@strawberry.type(
    description="A submitted result on its way to the order's provider (the result "
    "itself is `Order.result`)."
)
class ResultDelivery:
    state: DeliveryState = strawberry.field(description="Where the delivery stands.")
    attempts: int = strawberry.field(description="Attempts made (or started) so far.")
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed (provider, request and status; never a "
        "credential); null once delivered or before any failure."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due (PENDING only)."
    )
    submitted_at: datetime = strawberry.field(description="When the result was recorded.")
    updated_at: datetime = strawberry.field(description="When the delivery last changed.")

    @classmethod
    def from_view(cls, view: DeliveryView) -> ResultDelivery:
        return cls(
            state=view.state,
            attempts=view.attempts,
            last_error=view.last_error,
            next_attempt_at=view.next_attempt_at,
            submitted_at=view.submitted_at,
            updated_at=view.updated_at,
        )
