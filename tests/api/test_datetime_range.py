"""DateTime inputs at the edges of what a datetime can hold: year 1 and 9999, offsets
that push them past either end when converted to UTC. Each is either used or refused
with ``INVALID_ARGUMENT`` naming the argument; never a masked error, never SQL in a log."""

from __future__ import annotations

import logging

import pytest

from tests.api.conftest import Api
from tests.api.helpers import error_codes, gid
from tests.api.mutation_support import SUBMIT_RESULT, index_unified, result_input
from tests.conftest import Sandbox

ORDERS = "query($f: OrderFilter) { orders(first: 5, filter: $f) { totalCount } }"

# Values that cannot be expressed in UTC: year 0 or year 10000 once the offset is applied.
OVERFLOWING = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:59:59+01:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:00:00-01:00",
]
# The edges themselves, which are valid instants.
EDGES = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59.999999+00:00",
    "9999-12-31T23:59:59+14:00",
]


@pytest.mark.parametrize("field", ["createdAfter", "createdBefore", "updatedSince"])
@pytest.mark.parametrize("value", OVERFLOWING)
async def test_a_filter_time_past_either_end_is_invalid_argument(
    api: Api, field: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = await api.query(ORDERS, {"f": {field: value}})
    assert error_codes(body) == ["INVALID_ARGUMENT"], body
    assert field in body["errors"][0]["message"]
    assert "outside the range of DateTime" in body["errors"][0]["message"]
    assert "data" not in body  # a request error: nothing ran
    _no_sql_or_traceback(caplog)


@pytest.mark.parametrize("field", ["createdAfter", "createdBefore", "updatedSince"])
@pytest.mark.parametrize("value", EDGES)
async def test_filter_times_at_the_edges_work(
    api: Api, field: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = await api.query(ORDERS, {"f": {field: value}})
    assert "errors" not in body, body
    assert isinstance(body["data"]["orders"]["totalCount"], int)
    _no_sql_or_traceback(caplog)


def _no_sql_or_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage() + str(record.exc_text or "")
        assert "SELECT" not in text.upper(), text
        assert record.exc_info is None, text
        assert record.levelno < logging.ERROR, text


async def test_an_overflowing_literal_in_the_document_is_invalid_argument(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    document = '{ orders(filter: {createdBefore: "9999-12-31T23:59:59-14:00"}) { totalCount } }'
    body = await api.query(document)
    assert error_codes(body) == ["INVALID_ARGUMENT"], body
    assert "outside the range of DateTime" in body["errors"][0]["message"]
    _no_sql_or_traceback(caplog)


async def test_a_result_time_past_either_end_is_refused_before_anything_is_sent(
    api: Api, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    [remote_id] = await index_unified(sandbox, api, count=1)
    order_id = gid("Order", f"acme-unified:{remote_id}")
    before = (await sandbox.stats())["total"]
    for field in ("completedAt", "startedAt"):
        result = result_input(order_id, **{field: "0001-01-01T00:30:00+01:00"})
        body = await api.query(SUBMIT_RESULT, {"input": result})
        assert error_codes(body) == ["INVALID_ARGUMENT"], body
    assert (await sandbox.stats())["total"] == before
    _no_sql_or_traceback(caplog)
