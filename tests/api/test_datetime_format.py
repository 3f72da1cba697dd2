"""One ``DateTime`` wire format on every way out: UTC, ``Z``, exactly three fractional
digits. Over HTTP (executed and from the response cache) and over the WebSocket, and
inputs with an offset read as the same instant in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from ordergraph.api.http import CACHE_HEADER
from ordergraph.schema import schema
from ordergraph.schema.values import format_datetime, parse_datetime
from tests.api.conftest import KEYS, Api
from tests.api.helpers import deliver_unified, unified_order
from tests.api.ws_client import connect

WIRE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# Microseconds that must be truncated to milliseconds, and an hour offset to undo.
CREATED = datetime(2026, 12, 3, 16, 4, 5, 123999, tzinfo=timezone(timedelta(hours=1)))
UPDATED = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
ORDER = "{ orders(first: 5) { nodes { createdAt updatedAt ingestedAt } } }"
EVENTS = "subscription { orderEvents { occurredAt order { createdAt updatedAt } } }"


def test_format_is_utc_z_and_milliseconds_truncated() -> None:
    assert format_datetime(CREATED) == "2026-12-03T15:04:05.123Z"
    assert format_datetime(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000Z"  # naive: UTC
    assert format_datetime(datetime(5, 1, 2, 3, 4, 5)) == "0005-01-02T03:04:05.000Z"
    # Truncated, never rounded past the last instant a datetime can hold.
    assert format_datetime(datetime.max) == "9999-12-31T23:59:59.999Z"


def test_input_offsets_are_converted_to_utc() -> None:
    parsed = parse_datetime("2026-12-03T17:04:05.5+02:00")
    assert parsed == datetime(2026, 12, 3, 15, 4, 5, 500000, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)
    assert parse_datetime("2026-12-03T15:04:05Z") == datetime(2026, 12, 3, 15, 4, 5, tzinfo=UTC)


def test_sdl_names_the_rfc() -> None:
    assert (
        'scalar DateTime @specifiedBy(url: "https://datatracker.ietf.org/doc/html/rfc3339")'
        in schema.as_str()
    )


async def _one_order(api: Api) -> None:
    order = unified_order("T-1", created_at=CREATED, updated_at=UPDATED)
    await deliver_unified(api, "acme-unified", [order])


async def test_http_answers_and_cache_hits_carry_the_same_format(api: Api) -> None:
    await _one_order(api)
    texts: list[tuple[str | None, str]] = []
    for _ in range(2):
        async with api.session.post(
            f"{api.url}/graphql",
            json={"query": ORDER},
            headers={"Authorization": f"Bearer {KEYS['acme']}"},
        ) as response:
            texts.append((response.headers.get(CACHE_HEADER), await response.text()))
    assert [cache for cache, _ in texts] == ["miss", "hit"]
    assert texts[0][1] == texts[1][1]
    body = await api.query(ORDER)
    [node] = body["data"]["orders"]["nodes"]
    assert node["createdAt"] == "2026-12-03T15:04:05.123Z"
    assert node["updatedAt"] == "2026-12-03T15:30:00.000Z"
    assert WIRE.fullmatch(node["ingestedAt"]), node
    assert "+00:00" not in texts[1][1]


async def test_subscription_events_carry_the_same_format(api: Api) -> None:
    async with connect(api.session, api.url) as client:
        ack = await client.init({"authorization": f"Bearer {KEYS['acme']}"})
        assert ack == {"type": "connection_ack"}, ack
        await client.subscribe("s", EVENTS)
        # The subscription is live once the server has answered nothing for a moment.
        assert await client.silent("s", 0.3)
        await _one_order(api)
        [event] = await client.events("s", 1)
    assert WIRE.fullmatch(event["occurredAt"]), event
    assert event["order"] == {
        "createdAt": "2026-12-03T15:04:05.123Z",
        "updatedAt": "2026-12-03T15:30:00.000Z",
    }


async def test_a_filter_time_with_an_offset_is_the_same_instant(api: Api) -> None:
    await _one_order(api)
    count = "query($f: OrderFilter) { orders(filter: $f) { totalCount } }"
    at_creation = {"createdAfter": "2026-12-03T16:04:05.123+01:00"}
    just_after = {"createdAfter": "2026-12-03T15:04:05.124Z"}
    assert (await api.query(count, {"f": at_creation}))["data"]["orders"]["totalCount"] == 1
    assert (await api.query(count, {"f": just_after}))["data"]["orders"]["totalCount"] == 0
