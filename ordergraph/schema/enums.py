"""GraphQL enums, each the canonical enum of ``ordergraph.models`` or the store."""

from __future__ import annotations

from enum import Enum

import strawberry

from ordergraph.models import AttributeType, OrderStatus, PackageType
from ordergraph.models import ProviderName as Provider
from ordergraph.providers.base import Capability
from ordergraph.resolvers.user_errors import UserErrorCode
from ordergraph.store import DeliveryState, EventSource
from ordergraph.store.connections import ConnectionOrigin, ConnectionState

__all__ = [
    "AttributeType",
    "Capability",
    "ConnectionOrigin",
    "ConnectionState",
    "EventSource",
    "OrderSortDirection",
    "OrderSortField",
    "OrderStatus",
    "PackageType",
    "Provider",
    "ResultDeliveryState",
    "UserErrorCode",
]

# The canonical enums are the GraphQL enums: strawberry.enum registers its definition
# on the class itself, so Python code keeps using the model's enum everywhere.
strawberry.enum(
    OrderStatus,
    name="OrderStatus",
    description="Canonical order status; the provider's own word is in `providerStatus`.",
)
strawberry.enum(
    Provider, name="Provider", description="The unified-API provider an order came through."
)
strawberry.enum(PackageType, name="PackageType", description="Kind of assessment package.")
strawberry.enum(
    AttributeType, name="ResultAttributeType", description="Kind of a result attribute."
)
strawberry.enum(
    EventSource,
    name="EventSource",
    description="How a change reached ordergraph: a provider webhook, a poll of the "
    "provider, one of our mutations, or an order we created.",
)
strawberry.enum(
    Capability, name="Capability", description="An operation a provider connection supports."
)
strawberry.enum(
    ConnectionState,
    name="ConnectionState",
    description="Where a connection stands: ACTIVE (synced), PAUSED (kept, not synced, "
    "its webhooks refused), PENDING (announced, not usable yet) or REMOVED.",
)
strawberry.enum(
    ConnectionOrigin,
    name="ConnectionOrigin",
    description="Where a connection came from: FILE (the settings file), API "
    "(addConnection) or PROVIDER_EVENT (the provider announced it after a connect link).",
)
# The store's delivery states; GraphQL names them by member (PENDING, IN_FLIGHT, ...).
ResultDeliveryState = strawberry.enum(
    DeliveryState,
    name="ResultDeliveryState",
    description="Where a submitted result stands: PENDING (waiting for its next attempt), "
    "IN_FLIGHT (being sent now), DELIVERED (the provider has it) or FAILED (refused, or "
    "given up after too many attempts; `lastError` says why).",
)


@strawberry.enum(description="What orders are sorted by.")
class OrderSortField(Enum):
    CREATED_AT = "CREATED_AT"


@strawberry.enum(description="Sort direction.")
class OrderSortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


strawberry.enum(
    UserErrorCode, name="UserErrorCode", description="Why a mutation did not do what was asked."
)
