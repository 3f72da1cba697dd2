"""Subscriptions over graphql-transport-ws on ``/graphql``, frame by frame.

Events are caused the way production causes them (the ingestor, as the webhook
intake calls it), and read back over a real WebSocket to a real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from strawberry import relay

from ordergraph.api import add_graphql_routes
from ordergraph.broker import MemoryBroker
from ordergraph.resolvers.subscriptions import SLOW_CONSUMER_CODE
from ordergraph.server import create_app
from ordergraph.services import Services
from ordergraph.settings import load_settings
from ordergraph.store import Store, create_engine
from ordergraph.sync.connections import ConnectionRegistry
from tests.api.conftest import CURSOR_SECRET, EXTRA_KEYS, KEYS, Api, two_tenant_connections
from tests.api.helpers import deliver_unified, gid, legacy_gid, unified_order
from tests.api.ws_client import RawSubscriber, TransportWS, connect
from tests.conftest import Sandbox
from tests.tenants import tenant_entries
from tests.waiting import eventually

EVENTS = """
subscription Events($filter: OrderEventFilter, $after: String) {
  orderEvents(filter: $filter, after: $after) {
    cursor previousStatus newStatus source occurredAt
    order { id remoteId status }
  }
}
"""
STATUS_CHANGED = """
subscription Changed($id: ID!) {
  orderStatusChanged(orderId: $id) { cursor newStatus order { id status } }
}
"""
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
# The fat subscriptions below alias one field 40 times (more than limits.max_aliases).
FAT_LIMITS = {"max_aliases": 40}

ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(sandbox: Sandbox, fresh_store_url: str) -> AsyncIterator[ApiFactory]:
    """Like the ``api`` fixture, with ``subscriptions`` and ``server`` settings to taste."""
    cleanup: list[Callable[[], Awaitable[None]]] = []

    async def make(
        subscriptions: dict[str, Any] | None = None,
        server: dict[str, Any] | None = None,
        limits: dict[str, Any] | None = None,
    ) -> Api:
        settings = load_settings(
            environ={},
            overrides={
                "server": server or {},
                "limits": limits or {},
                "store": {"url": fresh_store_url, "cursor_secret": CURSOR_SECRET},
                "subscriptions": {"poll_interval": 0.5, **(subscriptions or {})},
                "tenants": tenant_entries(KEYS, extra=EXTRA_KEYS),
                "connections": await two_tenant_connections(sandbox),
            },
        )
        store = Store.from_engine(create_engine(fresh_store_url), cursor_secret=CURSOR_SECRET)
        services = Services(
            settings=settings,
            store=store,
            broker=MemoryBroker(),
            connections=ConnectionRegistry.from_settings(settings.connections),
        )
        app = create_app(services, background=False)
        add_graphql_routes(app)
        server_ = TestServer(app, host="127.0.0.1")
        await server_.start_server()
        session = aiohttp.ClientSession()
        cleanup.extend([services.close, server_.close, session.close])
        return Api(str(server_.make_url("")).rstrip("/"), services, session)

    yield make
    for close in reversed(cleanup):
        await close()


def auth(tenant: str) -> dict[str, str]:
    return {"authorization": f"Bearer {KEYS[tenant]}"}


async def change(api: Api, remote_id: str, status: str, minute: int, tenant: str = "acme") -> None:
    """One Unified order reaches ``status`` (a webhook delivery, as the intake ingests it)."""
    order = unified_order(
        remote_id, created_at=T0, status=status, updated_at=T0 + timedelta(minutes=minute)
    )
    result = await deliver_unified(api, f"{tenant}-unified", [order])
    assert result.events, (remote_id, status)


async def head_cursor(api: Api, tenant: str = "acme") -> str:
    store = api.services.store.orders
    return store.event_cursor(tenant, await store.latest_event_id(tenant))


async def until_subscribed(api: Api, count: int) -> None:
    """Wait until ``count`` subscriptions tail the log (their start position is fixed)."""
    broker = api.services.broker
    assert isinstance(broker, MemoryBroker)
    for _ in range(200):
        if api.services.hubs.subscriber_count() >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{api.services.hubs.subscriber_count()} subscribers, wanted {count}")


async def until_left(api: Api, count: int) -> None:
    """Wait until no more than ``count`` subscriptions tail the log."""

    async def left() -> bool:
        return api.services.hubs.subscriber_count() <= count

    await eventually(left, 2.0, what=f"at most {count} subscribers")


async def ready(api: Api, tenant: str = "acme") -> AsyncIterator[TransportWS]:
    async with connect(api.session, api.url) as client:
        ack = await client.init(auth(tenant))
        assert ack == {"type": "connection_ack"}, ack
        yield client


# --- authentication and protocol -----------------------------------------------------------


async def test_subscriptions_need_a_valid_key_in_connection_init(make_api: ApiFactory) -> None:
    api = await make_api()
    # An unknown key, another scheme, or no key at all: the socket is refused.
    for payload in ({"authorization": "Bearer nope"}, {"authorization": "Basic eDp5"}, {}):
        async with connect(api.session, api.url) as client:
            answer = await client.init(payload)
            assert answer["close"] == 4403, (payload, answer)
    # Subscribing before connection_init is refused by the protocol (4401).
    async with connect(api.session, api.url) as client:
        await client.subscribe("1", EVENTS)
        assert (await client.message("1"))["close"] == 4401


async def test_live_event_after_an_ingestion(make_api: ApiFactory) -> None:
    api = await make_api()
    async for client in ready(api):
        await client.subscribe("s", EVENTS)
        await until_subscribed(api, 1)
        await change(api, "LIVE-1", "OPEN", 0)
        [event] = await client.events("s", 1)
        assert event["newStatus"] == "OPEN"
        assert event["previousStatus"] is None
        assert event["source"] == "WEBHOOK"
        assert event["order"] == {
            "id": gid("Order", "acme-unified:LIVE-1"),
            "remoteId": "LIVE-1",
            "status": "OPEN",
        }
        assert api.services.store.orders.event_position("acme", event["cursor"]) > 0
        await client.complete("s")
        assert await client.silent("s", 0.3)


async def test_replay_from_a_cursor_then_live_without_gap_or_duplicate(
    make_api: ApiFactory,
) -> None:
    api = await make_api()
    await change(api, "R-0", "OPEN", 0)
    cursor = await head_cursor(api)
    # Missed while away: three events after the cursor.
    await change(api, "R-1", "OPEN", 1)
    await change(api, "R-2", "OPEN", 2)
    await change(api, "R-1", "IN_PROGRESS", 3)
    async for client in ready(api):
        await client.subscribe("s", EVENTS, {"after": cursor})
        replayed = await client.events("s", 3)
        await change(api, "R-2", "COMPLETED", 4)
        [live] = await client.events("s", 1)
        assert await client.silent("s", 0.7)  # past a poll interval: nothing repeated
    got = [(e["order"]["remoteId"], e["newStatus"]) for e in [*replayed, live]]
    assert got == [
        ("R-1", "OPEN"),
        ("R-2", "OPEN"),
        ("R-1", "IN_PROGRESS"),
        ("R-2", "COMPLETED"),
    ]
    ids = [api.services.store.orders.event_position("acme", e["cursor"]) for e in [*replayed, live]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4


async def test_a_bad_cursor_is_an_error_not_a_stream(make_api: ApiFactory) -> None:
    api = await make_api()
    async for client in ready(api):
        await client.subscribe("s", EVENTS, {"after": "not-a-cursor"})
        message = await client.message("s")
        assert message["type"] in ("next", "error"), message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_filters_by_status_order_and_connection(make_api: ApiFactory) -> None:
    api = await make_api()
    cursor = await head_cursor(api)
    await change(api, "F-1", "OPEN", 0)
    await change(api, "F-2", "OPEN", 1)
    await change(api, "F-1", "COMPLETED", 2)
    await change(api, "F-2", "FAILED", 3)
    filters: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
        ({"statuses": ["COMPLETED", "FAILED"]}, [("F-1", "COMPLETED"), ("F-2", "FAILED")]),
        (
            {"orderIds": [gid("Order", "acme-unified:F-2")]},
            [("F-2", "OPEN"), ("F-2", "FAILED")],
        ),
        (
            {"connectionIds": [gid("ProviderConnection", "acme-unified")], "statuses": ["OPEN"]},
            [("F-1", "OPEN"), ("F-2", "OPEN")],
        ),
    ]
    async for client in ready(api):
        for number, (where, expected) in enumerate(filters):
            op = f"f{number}"
            await client.subscribe(op, EVENTS, {"after": cursor, "filter": where})
            got = await client.events(op, len(expected))
            assert [(e["order"]["remoteId"], e["newStatus"]) for e in got] == expected, where
            assert await client.silent(op, 0.2), where
            await client.complete(op)
        # Another connection's events only: none of these.
        await client.subscribe(
            "kombo",
            EVENTS,
            {
                "after": cursor,
                "filter": {"connectionIds": [gid("ProviderConnection", "acme-kombo")]},
            },
        )
        assert await client.silent("kombo", 0.3)
        # An id of the wrong type is refused, naming the argument.
        await client.subscribe(
            "bad", EVENTS, {"filter": {"orderIds": [gid("ProviderConnection", "acme-unified")]}}
        )
        message = await client.message("bad")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "INVALID_ID"


async def test_tenants_never_see_each_others_events(make_api: ApiFactory) -> None:
    api = await make_api()
    await change(api, "G-1", "OPEN", 0, tenant="globex")
    async for acme in ready(api):
        await acme.subscribe(
            "all", EVENTS, {"after": api.services.store.orders.event_cursor("acme", 0)}
        )
        # Another tenant's order id: not found, not a silent stream of its events.
        await acme.subscribe("theirs", STATUS_CHANGED, {"id": gid("Order", "globex-unified:G-1")})
        message = await acme.message("theirs")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"
        await until_subscribed(api, 1)
        await change(api, "G-1", "COMPLETED", 1, tenant="globex")
        await change(api, "A-1", "OPEN", 2)
        [only] = await acme.events("all", 1)
        assert only["order"]["id"] == gid("Order", "acme-unified:A-1")
        assert await acme.silent("all", 0.3)


async def test_order_status_changed_follows_one_order(make_api: ApiFactory) -> None:
    api = await make_api()
    await change(api, "S-1", "OPEN", 0)
    await change(api, "S-2", "OPEN", 0)
    async for client in ready(api):
        await client.subscribe("s", STATUS_CHANGED, {"id": gid("Order", "acme-unified:S-1")})
        await until_subscribed(api, 1)
        await change(api, "S-2", "COMPLETED", 1)
        await change(api, "S-1", "IN_PROGRESS", 2)
        [event] = await client.events("s", 1)
        assert event["newStatus"] == "IN_PROGRESS"
        assert event["order"] == {"id": gid("Order", "acme-unified:S-1"), "status": "IN_PROGRESS"}
        assert await client.silent("s", 0.3)


async def test_each_event_resolves_its_order_with_fresh_loaders(make_api: ApiFactory) -> None:
    # One socket context, two events of one order: a loader shared across events
    # would answer the second event's `order` from the first one's cache.
    api = await make_api()
    await change(api, "L-1", "OPEN", 0)
    async for client in ready(api):
        await client.subscribe("s", STATUS_CHANGED, {"id": gid("Order", "acme-unified:L-1")})
        await until_subscribed(api, 1)
        statuses: list[str] = []
        for minute, status in enumerate(("IN_PROGRESS", "COMPLETED"), start=1):
            await change(api, "L-1", status, minute)
            [event] = await client.events("s", 1)
            assert event["newStatus"] == status
            statuses.append(event["order"]["status"])
    assert statuses == ["IN_PROGRESS", "COMPLETED"]


# --- limits ---------------------------------------------------------------------------------


async def test_subscriptions_per_connection_are_capped(make_api: ApiFactory) -> None:
    api = await make_api({"max_per_connection": 2})
    async for client in ready(api):
        await client.subscribe("1", EVENTS)
        await client.subscribe("2", EVENTS)
        await client.subscribe("3", EVENTS)
        message = await client.message("3")
        assert message["type"] == "error"
        assert "limit" in message["payload"][0]["message"].lower()
        # Completing one frees a place (and its subscriber leaves the hub, so the count
        # below can only be reached by "4").
        await client.complete("1")
        await until_left(api, 1)
        await client.subscribe("4", EVENTS)
        await until_subscribed(api, 2)
        await change(api, "M-1", "OPEN", 0)
        assert len(await client.events("4", 1)) == 1


async def test_the_legacy_protocol_is_off_unless_configured(make_api: ApiFactory) -> None:
    api = await make_api()
    async with connect(api.session, api.url, protocols=("graphql-ws",)) as client:
        assert client.ws.protocol is None
        answer = await client.init(auth("acme"))
        assert answer["close"] == 4406
    legacy = await make_api({"legacy_graphql_ws": True})
    async with connect(legacy.session, legacy.url, protocols=("graphql-ws",)) as client:
        assert client.ws.protocol == "graphql-ws"


async def test_only_allowed_origins_may_open_a_socket(make_api: ApiFactory) -> None:
    api = await make_api(server={"cors_origins": ["https://app.example.com"]})
    for origin, allowed in (("https://app.example.com", True), ("https://evil.example", False)):
        if allowed:
            async with connect(api.session, api.url, headers={"Origin": origin}) as client:
                assert (await client.init(auth("acme")))["type"] == "connection_ack"
        else:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with connect(api.session, api.url, headers={"Origin": origin}):
                    pass
            assert refused.value.status == 403
    # Non-browser clients send no Origin and are not subject to it.
    async for client in ready(api):
        assert client is not None
    anywhere = await make_api(server={"cors_origins": ["*"]})
    async with connect(
        anywhere.session, anywhere.url, headers={"Origin": "https://any.example"}
    ) as client:
        assert (await client.init(auth("acme")))["type"] == "connection_ack"


async def test_a_slow_consumer_is_closed_and_others_keep_receiving(make_api: ApiFactory) -> None:
    api = await make_api(
        {"max_backlog": 5, "backlog_grace": 0.3, "send_buffer_bytes": 4096, "page_size": 10},
        limits=FAT_LIMITS,
    )
    # Fat events fill the socket buffers quickly.
    fat = "subscription { orderEvents { " + " ".join(f"c{i}: cursor" for i in range(40)) + " } }"
    slow = await RawSubscriber.open(api.url)
    try:
        await slow.send({"type": "connection_init", "payload": auth("acme")})
        assert (await slow.message())["type"] == "connection_ack"
        await slow.send({"id": "slow", "type": "subscribe", "payload": {"query": fat}})
        async for fast in ready(api):
            await fast.subscribe("fast", EVENTS)
            await until_subscribed(api, 2)
            received = 0
            broker = api.services.broker
            assert isinstance(broker, MemoryBroker)
            for batch in range(40):
                orders = [
                    unified_order(f"SC-{batch}-{n}", created_at=T0, status="OPEN")
                    for n in range(10)
                ]
                await deliver_unified(api, "acme-unified", orders)
                received += len(await fast.events("fast", 10))
                if api.services.hubs.subscriber_count() == 1:
                    break  # the slow one's reader gave up
            assert api.services.hubs.subscriber_count() == 1, "the slow consumer was never closed"
            # The fast one still receives after the slow one was dropped.
            await change(api, "SC-after", "OPEN", 0)
            [after] = await fast.events("fast", 1)
            assert after["order"]["remoteId"] == "SC-after"
            assert received >= 10
        # Reading at last, the slow one finds what was buffered, then the close code.
        for _ in range(1000):
            message = await asyncio.wait_for(slow.message(), 5)
            if "close" in message:
                break
        assert message["close"] == SLOW_CONSUMER_CODE, message
        assert "behind" in message["reason"]
    finally:
        await slow.close()


# --- the shared log reader (one hub per process and tenant) ---------------------------------


class StoreCalls:
    """Counts ``events_after`` and order reads (``get``) on the store, per caller kind."""

    def __init__(self, api: Api) -> None:
        orders = api.services.store.orders
        self.hub_reads = 0
        self.own_reads = 0
        self.order_reads = 0
        events_after = orders.events_after
        get = orders.get

        async def counted_events_after(*args: Any, **kwargs: Any) -> Any:
            filtered = any(
                kwargs.get(k) is not None for k in ("connection_ids", "statuses", "order_ids")
            )
            # The hub reads unfiltered pages; a subscription's own (replay) reads pass
            # its filter, or none: count those with no filter as hub-shaped too.
            if filtered:
                self.own_reads += 1
            else:
                self.hub_reads += 1
            return await events_after(*args, **kwargs)

        async def counted_get(*args: Any, **kwargs: Any) -> Any:
            self.order_reads += 1
            return await get(*args, **kwargs)

        orders.events_after = counted_events_after  # type: ignore[method-assign]
        orders.get = counted_get  # type: ignore[method-assign]

    def reset(self) -> None:
        self.hub_reads = self.own_reads = self.order_reads = 0


async def test_one_log_read_and_one_order_load_per_event_for_all_subscribers(
    make_api: ApiFactory,
) -> None:
    # No polling during the test: every read is caused by a wake-up.
    api = await make_api({"poll_interval": 30})
    calls = StoreCalls(api)
    await change(api, "H-1", "OPEN", 0)
    async for first in ready(api):
        async for second in ready(api):
            await first.subscribe("a", EVENTS)
            await second.subscribe("b", EVENTS)
            # orderStatusChanged goes through the same hub, with an orderIds filter.
            await second.subscribe("c", STATUS_CHANGED, {"id": gid("Order", "acme-unified:H-1")})
            await until_subscribed(api, 3)
            hub = api.services.hubs.get("acme")
            assert hub is not None
            calls.reset()
            changes = [("H-1", "IN_PROGRESS"), ("H-2", "OPEN"), ("H-1", "COMPLETED")]
            for minute, (remote_id, status) in enumerate(changes, start=1):
                await change(api, remote_id, status, minute)
                [a] = await first.events("a", 1)
                [b] = await second.events("b", 1)
                assert a == b
                assert (a["order"]["remoteId"], a["newStatus"]) == (remote_id, status)
                assert a["order"]["status"] == status
                if remote_id == "H-1":
                    [c] = await second.events("c", 1)
                    assert c["cursor"] == a["cursor"]
                    assert c["order"] == {"id": a["order"]["id"], "status": status}
            assert await second.silent("c", 0.2)
            # One unfiltered log read per wake-up for all three, none of their own,
            # and each event's order loaded once for all of them.
            assert calls.hub_reads == 3, calls.hub_reads
            assert calls.own_reads == 0
            assert calls.order_reads == 3, calls.order_reads
    # The hub stops with the last subscriber of its tenant.
    for _ in range(200):
        if api.services.hubs.get("acme") is None:
            break
        await asyncio.sleep(0.01)
    assert api.services.hubs.get("acme") is None


async def test_replay_hands_over_to_live_without_gap_or_duplicate(
    make_api: ApiFactory,
) -> None:
    # A live subscriber keeps the hub running ahead while another one replays a long
    # backlog in small pages, with events committed during the replay.
    api = await make_api({"page_size": 2, "poll_interval": 0.2})
    cursor = await head_cursor(api)
    for n in range(12):
        await change(api, f"HO-{n}", "OPEN", n)
    async for live in ready(api):
        await live.subscribe("live", EVENTS)
        await until_subscribed(api, 1)
        async for late in ready(api):
            await late.subscribe("late", EVENTS, {"after": cursor})

            async def more() -> None:
                for n in range(12):
                    await change(api, f"HO-{n}", "IN_PROGRESS", 20 + n)
                    await asyncio.sleep(0.01)

            writer = asyncio.create_task(more())
            got = await late.events("late", 24, within=10)
            await writer
            assert await late.silent("late", 0.5)
            live_got = await live.events("live", 12, within=10)
    ids = [api.services.store.orders.event_position("acme", e["cursor"]) for e in got]
    assert ids == sorted(ids)
    assert len(set(ids)) == 24
    assert [(e["order"]["remoteId"], e["newStatus"]) for e in got] == [
        *((f"HO-{n}", "OPEN") for n in range(12)),
        *((f"HO-{n}", "IN_PROGRESS") for n in range(12)),
    ]
    assert [e["cursor"] for e in live_got] == [e["cursor"] for e in got[12:]]


async def test_a_full_queue_never_blocks_the_hub_and_closes_only_that_subscriber(
    make_api: ApiFactory,
) -> None:
    api = await make_api(
        {"max_backlog": 3, "backlog_grace": 0.3, "send_buffer_bytes": 4096}, limits=FAT_LIMITS
    )
    fat = "subscription { orderEvents { " + " ".join(f"c{i}: cursor" for i in range(40)) + " } }"
    slow = await RawSubscriber.open(api.url)
    try:
        await slow.send({"type": "connection_init", "payload": auth("acme")})
        assert (await slow.message())["type"] == "connection_ack"
        await slow.send({"id": "slow", "type": "subscribe", "payload": {"query": fat}})
        async for fast in ready(api):
            await fast.subscribe("fast", EVENTS)
            await until_subscribed(api, 2)
            hub = api.services.hubs.get("acme")
            assert hub is not None
            delivered = 0
            for batch in range(40):
                orders = [
                    unified_order(f"FQ-{batch}-{n}", created_at=T0, status="OPEN")
                    for n in range(10)
                ]
                await deliver_unified(api, "acme-unified", orders)
                # The fast one gets every event promptly while the slow one stalls.
                delivered += len(await fast.events("fast", 10, within=3))
                if api.services.hubs.subscriber_count() == 1:
                    break
            assert api.services.hubs.subscriber_count() == 1, "the slow one was never closed"
            assert hub.task is not None
            assert not hub.task.done()
            await change(api, "FQ-after", "OPEN", 0)
            [after] = await fast.events("fast", 1)
            assert after["order"]["remoteId"] == "FQ-after"
            assert delivered >= 10
        for _ in range(1000):
            message = await asyncio.wait_for(slow.message(), 5)
            if "close" in message:
                break
        assert message["close"] == SLOW_CONSUMER_CODE, message
    finally:
        await slow.close()
    # The last subscriber gone, the hub stops.
    for _ in range(200):
        if api.services.hubs.get("acme") is None:
            break
        await asyncio.sleep(0.01)
    assert api.services.hubs.get("acme") is None


async def test_forged_order_ids_subscribe_to_nothing(make_api: ApiFactory) -> None:
    api = await make_api()
    cursor = await head_cursor(api)
    await change(api, "S-1", "OPEN", 0)
    # S-1 was indexed after signing began: its unsigned id is what a guesser writes
    forged = [legacy_gid("Order", "acme-unified:S-1"), _flipped(gid("Order", "acme-unified:S-1"))]
    async for client in ready(api):
        for number, order_id in enumerate(forged):
            # orderStatusChanged: not found, as for an id of nothing
            await client.subscribe(f"one{number}", STATUS_CHANGED, {"id": order_id})
            message = await client.message(f"one{number}")
            payload = message["payload"]
            errors = payload if message["type"] == "error" else payload["errors"]
            assert errors[0]["extensions"]["code"] == "NOT_FOUND"
            # an orderIds filter of it matches nothing (it narrows, never widens)
            await client.subscribe(
                f"f{number}", EVENTS, {"after": cursor, "filter": {"orderIds": [order_id]}}
            )
            assert await client.silent(f"f{number}", 0.3)
        # while the signed id follows the order
        where = {"orderIds": [gid("Order", "acme-unified:S-1")]}
        await client.subscribe("real", EVENTS, {"after": cursor, "filter": where})
        [event] = await client.events("real", 1)
        assert (event["order"]["remoteId"], event["newStatus"]) == ("S-1", "OPEN")


def _flipped(global_id: str) -> str:
    """``global_id`` with one character of its MAC changed."""
    parsed = relay.GlobalID.from_id(global_id)
    node_id = parsed.node_id
    return str(relay.GlobalID(parsed.type_name, node_id[:4] + "~" + node_id[5:]))
