"""Helpers for the GraphQL query suite: filling the index the real way, global ids,
and reading GraphQL answers.

The index is filled through the same paths production uses: the Kombo poller for
Kombo connections, the ingestor (as the webhook intake calls it) for Unified orders,
and ``create_order_for_connection`` for StackOne.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from strawberry import relay

from ordergraph.ids import NodeIdCodec
from ordergraph.models import Candidate, Job, NewOrder, Order, PackageRef
from ordergraph.providers.unified.mapping import order_to_canonical
from ordergraph.providers.unified.wire import UnifiedOrder
from ordergraph.resolvers.mutations import create_order_for_connection
from ordergraph.store import EventSource, IngestResult, OrderFilter, StoredOrder
from ordergraph.sync.connections import LiveConnection
from ordergraph.sync.poller import OrderPoller
from tests.api.conftest import CURSOR_SECRET, Api
from tests.conftest import Sandbox

__all__ = [
    "DASHBOARD",
    "PACKAGE_ROUTES",
    "TENANTS",
    "connection",
    "create_stackone_orders",
    "deliver_unified",
    "error_codes",
    "fill_index",
    "gid",
    "legacy_gid",
    "node_key",
    "package_list_calls",
    "poll_kombo",
    "unified_order",
]

TENANTS = ("acme", "globex")
# Sandbox route templates of each provider's package list (``sandbox.stats()`` keys).
PACKAGE_ROUTES = {
    "unified": "GET /assessment/{connection_id}/package",
    "stackone": "GET /unified/ats/assessments/packages",
    "kombo": "GET /assessment/packages",
}
STACKONE_ORDERS_PER_TENANT = 4

# What a recruiter's dashboard asks for: one page with everything around each order.
DASHBOARD = """
query Dashboard($first: Int!) {
  orders(first: $first) {
    totalCount
    edges {
      cursor
      node {
        id remoteId provider status
        connection { id provider }
        candidate { id name emails }
        job { id title hiringTeam { email roles } }
        package { id remoteId name }
        result { score maxScore }
      }
    }
  }
}
"""


def gid(type_name: str, key: str) -> str:
    """The Relay global id the test gateway hands out for node ``key`` of ``type_name``:
    signed with the store secret every ``api`` fixture uses (``ordergraph.ids``)."""
    return str(relay.GlobalID(type_name, NodeIdCodec(CURSOR_SECRET).encode(type_name, key)))


def node_key(global_id: str) -> str:
    """The key behind a global id the test gateway handed out (its signature checked)."""
    parsed = relay.GlobalID.from_id(global_id)
    decoded = NodeIdCodec(CURSOR_SECRET).decode(parsed.type_name, parsed.node_id)
    assert decoded is not None, global_id
    assert not decoded.legacy, global_id
    return decoded.key


def legacy_gid(type_name: str, key: str) -> str:
    """The unsigned global id ordergraph handed out before node ids were signed."""
    return str(relay.GlobalID(type_name, key))


def connection(api: Api, connection_id: str) -> LiveConnection:
    found = api.services.connections.get(connection_id)
    assert found is not None, connection_id
    return found


def error_codes(body: dict[str, Any]) -> list[str]:
    """The ``extensions.code`` of every error of a GraphQL answer, in order."""
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]


def unified_order(
    remote_id: str,
    *,
    created_at: datetime,
    status: str = "OPEN",
    email: str | None = None,
    first_name: str = "Ada",
    last_name: str = "Lovelace",
    package_id: str = "pkg_001",
    job_id: str | None = "job_u_001",
    updated_at: datetime | None = None,
    score: float | None = None,
) -> Order:
    """A Unified order as the adapter maps it from the wire (created_at is ours to pick)."""
    wire: dict[str, Any] = {
        "id": remote_id,
        "status": status,
        "package_id": package_id,
        "job_id": job_id,
        "profile_first_name": first_name,
        "profile_last_name": last_name,
        "profile_emails": [email or f"{remote_id.lower()}@example.com"],
        "created_at": created_at.astimezone(UTC).isoformat(),
        "updated_at": (updated_at or created_at).astimezone(UTC).isoformat(),
    }
    if score is not None:
        wire |= {"response_score": score, "response_max_score": 100.0}
    return order_to_canonical(UnifiedOrder.model_validate(wire))


async def deliver_unified(
    api: Api, connection_id: str, orders: Iterable[Order], source: EventSource = EventSource.WEBHOOK
) -> IngestResult:
    """Deliver Unified orders as the webhook intake does (ingestor: store, then publish)."""
    return await api.services.ingestor.ingest(connection(api, connection_id), list(orders), source)


async def poll_kombo(api: Api, connection_id: str) -> int:
    """One Kombo poll cycle; returns how many events it recorded."""
    live = connection(api, connection_id)
    store = api.services.store
    poller = OrderPoller(live, api.services.ingestor, store.orders, store.sync_state, interval=1)
    report = await poller.poll_once()
    return report.events


async def create_stackone_orders(
    api: Api, connection_id: str, count: int, *, tag: str = "so"
) -> list[StoredOrder]:
    """Create ``count`` StackOne orders through the adapter (package names left to the list)."""
    live = connection(api, connection_id)
    packages = await live.provider.list_packages()
    created: list[StoredOrder] = []
    for number in range(count):
        package = packages[number % len(packages)]
        new = NewOrder(
            package=PackageRef(remote_id=package.remote_id),
            candidate=Candidate(
                first_name="Stack",
                last_name=f"One{number}",
                emails=(f"{tag}.{connection_id}.{number}@example.org",),
            ),
            job=Job(remote_id=f"job_{connection_id}_{number % 2}", title="Platform Engineer"),
        )
        created.append(await create_order_for_connection(api.services, live, new))
    return created


async def _unified_truth(api: Api, sandbox: Sandbox, connection_id: str) -> list[str]:
    account = connection(api, connection_id).settings.account
    listed = await sandbox.control("GET", f"orders?provider=unified&account={account}")
    return [str(o["id"]) for o in listed["orders"]]


async def fill_index(api: Api, sandbox: Sandbox) -> dict[str, int]:
    """Index every connection of both tenants the real way; orders per connection id.

    Unified: the sandbox's orders read through the adapter, delivered as webhooks.
    StackOne: orders created through the adapter. Kombo: one poll cycle.
    """
    counts: dict[str, int] = {}
    for tenant in TENANTS:
        unified_id = f"{tenant}-unified"
        ids = await _unified_truth(api, sandbox, unified_id)
        found = await connection(api, unified_id).provider.get_orders(ids)
        await deliver_unified(api, unified_id, found.values())
        counts[unified_id] = len(found)
        stackone_id = f"{tenant}-stackone"
        created = await create_stackone_orders(api, stackone_id, STACKONE_ORDERS_PER_TENANT)
        counts[stackone_id] = len(created)
        kombo_id = f"{tenant}-kombo"
        counts[kombo_id] = await poll_kombo(api, kombo_id)
    # Each connection's orders are its own: the index holds exactly these.
    for connection_id, count in counts.items():
        tenant = connection_id.split("-", 1)[0]
        stored = await api.services.store.orders.count(
            tenant, OrderFilter(connection_ids=[connection_id])
        )
        assert stored == count > 0, (connection_id, stored, count)
    return counts


async def package_list_calls(sandbox: Sandbox) -> dict[str, int]:
    """How many package-list requests each provider has served so far."""
    requests = (await sandbox.stats())["requests"]
    return {p: int(requests.get(p, {}).get(route, 0)) for p, route in PACKAGE_ROUTES.items()}
