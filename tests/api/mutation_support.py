"""Shared set-up for the mutation suites (tests/api/test_mutations_*.py).

Orders are put in the index the way production does it: Kombo by its poller, Unified
by ingesting what the adapter read back (as a webhook would deliver it), StackOne by
the ``createOrder`` mutation itself. Provider-side truth is read from the sandbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ordergraph.store import EventSource
from ordergraph.sync.connections import LiveConnection
from ordergraph.sync.poller import OrderPoller
from tests.api.conftest import Api
from tests.api.helpers import gid
from tests.conftest import Sandbox

SUBMIT_RESULT = """
mutation Submit($input: SubmitResultInput!) {
  submitResult(input: $input) {
    order {
      id status providerStatus
      result { status score maxScore url completedAt summary }
      resultDelivery { state attempts lastError nextAttemptAt }
      events { edges { node { previousStatus newStatus source } } }
    }
    errors { code message field }
  }
}
"""

CREATE_ORDER = """
mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order {
      id remoteId provider status testUrl
      candidate { firstName lastName emails }
      events { edges { node { previousStatus newStatus source } } }
    }
    errors { code message field }
  }
}
"""

PUBLISH_PACKAGES = """
mutation Publish($input: PublishPackagesInput!) {
  publishPackages(input: $input) {
    packages { id remoteId name type description }
    warnings
    errors { code message field }
  }
}
"""

REFRESH_ORDERS = """
mutation Refresh($ids: [ID!]!) {
  refreshOrders(ids: $ids) {
    orders {
      id status
      events { edges { node { previousStatus newStatus source } } }
    }
    errors { code message field }
  }
}
"""

ORDER = """
query One($id: ID!) {
  order(id: $id) {
    id status
    result { status score maxScore url }
    events { edges { node { previousStatus newStatus source } } }
  }
}
"""

DELIVERY = """
query Delivery($id: ID!) {
  order(id: $id) {
    id status
    result { status score url }
    resultDelivery { state attempts lastError nextAttemptAt submittedAt updatedAt }
  }
}
"""

PACKAGES = """
query Packages($connectionId: ID!) {
  packages(connectionId: $connectionId) { remoteId name type description }
}
"""


def order_gid(connection_id: str, remote_id: str) -> str:
    """The GraphQL id of an order (``<connection>:<remote id>``, signed)."""
    return gid("Order", f"{connection_id}:{remote_id}")


def connection_gid(connection_id: str) -> str:
    return gid("ProviderConnection", connection_id)


def live(api: Api, connection_id: str) -> LiveConnection:
    connection = api.services.connections.get(connection_id)
    assert connection is not None, connection_id
    return connection


async def truth(sandbox: Sandbox, api: Api, connection_id: str) -> dict[str, dict[str, Any]]:
    """The sandbox's ground truth for a connection's account, by order id."""
    connection = live(api, connection_id)
    provider = connection.provider_name.value
    account = connection.settings.account
    rows = (await sandbox.control("GET", f"orders?provider={provider}&account={account}"))["orders"]
    return {row["id"]: row for row in rows}


async def index_kombo(api: Api, tenant: str = "acme") -> None:
    """One poll of the tenant's Kombo connection: every Kombo order is indexed."""
    connection = live(api, f"{tenant}-kombo")
    store = api.services.store
    poller = OrderPoller(
        connection, api.services.ingestor, store.orders, store.sync_state, interval=3600
    )
    await poller.poll_once()


async def index_unified(
    sandbox: Sandbox, api: Api, tenant: str = "acme", count: int = 4
) -> list[str]:
    """Index ``count`` Unified orders as a webhook would deliver them; their remote ids."""
    connection = live(api, f"{tenant}-unified")
    ids = sorted(await truth(sandbox, api, connection.id))[:count]
    read = await connection.provider.get_orders(ids)
    assert sorted(read) == ids
    await api.services.ingestor.ingest(connection, list(read.values()), EventSource.WEBHOOK)
    return ids


def kombo_ids(rows: dict[str, dict[str, Any]], status: str) -> list[str]:
    return sorted(order_id for order_id, row in rows.items() if row["status"] == status)


async def offered_package(api: Api, connection_id: str, tenant: str = "acme") -> str:
    """A package id the connection's account offers (as the ``packages`` query lists it)."""
    body = await api.query(PACKAGES, {"connectionId": connection_gid(connection_id)}, tenant=tenant)
    assert "errors" not in body, body
    packages = body["data"]["packages"]
    assert packages
    return str(packages[0]["remoteId"])


def new_order_input(connection_id: str, package_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "connectionId": connection_gid(connection_id),
        "packageId": package_id,
        "candidate": {
            "remoteId": "cand-42",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "emails": ["ada@example.com"],
        },
        "job": {"remoteId": "job-7", "title": "Engineer"},
        **extra,
    }


async def create_order(
    api: Api, connection_id: str, tenant: str = "acme", **extra: Any
) -> dict[str, Any]:
    """Create an order through the mutation; the payload (``createOrder``)."""
    package_id = await offered_package(api, connection_id, tenant)
    body = await api.query(
        CREATE_ORDER, {"input": new_order_input(connection_id, package_id, **extra)}, tenant=tenant
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createOrder"]
    assert payload["errors"] == [], payload
    return payload


async def route_count(sandbox: Sandbox, provider: str, route: str) -> int:
    """How many requests the sandbox served on ``"<METHOD> <route template>"``."""
    stats = await sandbox.stats()
    return int(stats["requests"].get(provider, {}).get(route, 0))


async def provider_writes(sandbox: Sandbox) -> dict[str, int]:
    """Every non-GET request the sandbox served, by ``provider METHOD route``."""
    stats = await sandbox.stats()
    return {
        f"{provider} {route}": count
        for provider, routes in stats["requests"].items()
        for route, count in routes.items()
        if not route.startswith("GET ")
    }


def events(order: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    """``(previousStatus, newStatus, source)`` of an order's events, oldest first."""
    return [
        (e["node"]["previousStatus"], e["node"]["newStatus"], e["node"]["source"])
        for e in order["events"]["edges"]
    ]


async def read_order(api: Api, gid: str, tenant: str = "acme") -> dict[str, Any]:
    body = await api.query(ORDER, {"id": gid}, tenant=tenant)
    assert "errors" not in body, body
    order: dict[str, Any] = body["data"]["order"]
    assert order is not None
    return order


def result_input(gid: str, status: str = "COMPLETED", **extra: Any) -> dict[str, Any]:
    return {
        "orderId": gid,
        "status": status,
        "url": "https://assess.example.com/r/1",
        "score": 87.5,
        "maxScore": 100.0,
        "completedAt": "2025-03-04T05:06:07Z",
        "summary": "Strong on algorithms",
        **extra,
    }


async def read_delivery(api: Api, gid: str, tenant: str = "acme") -> dict[str, Any]:
    """The order's status, result and ``resultDelivery`` as a client reads them."""
    body = await api.query(DELIVERY, {"id": gid}, tenant=tenant)
    assert "errors" not in body, body
    order: dict[str, Any] = body["data"]["order"]
    assert order is not None
    return order


async def deliver_due(api: Api, delivery: dict[str, Any]) -> None:
    """Run the deliverer's step once the delivery's next attempt is due (stepping the
    clock to ``nextAttemptAt`` instead of sleeping through the backoff)."""
    # DateTime output is truncated to milliseconds: the instant lies within the shown
    # millisecond, so it is due one millisecond after the time shown.
    due = datetime.fromisoformat(delivery["nextAttemptAt"]) + timedelta(milliseconds=1)
    await api.services.deliverer.deliver_due(now=due)
