"""Structured logs: requests that fail in many ways leave only JSON lines, each with
its request id, none with a configured secret; the id is echoed to the client."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import GraphQLError

from ordergraph.errors import ProviderRateLimitedError, ProviderUnavailableError
from ordergraph.logs import JsonFormatter, Redactor, TextFormatter, secrets_of
from ordergraph.sandbox.core import SandboxContext
from ordergraph.schema.errors import PublicError, provider_failure
from ordergraph.schema.reporting import summarise_errors
from tests.api.conftest import KEYS, NO_PII_KEY, Api
from tests.api.helpers import DASHBOARD, error_codes, fill_index
from tests.api.mutation_support import index_unified
from tests.conftest import Sandbox


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=7, orders_per_account=4)


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[str]:
        # The test server's aiohttp access log is left out: ``serve`` runs without it
        # (the request line of ordergraph.requests replaces it).
        return [
            line
            for line in self.stream.getvalue().splitlines()
            if line and '"logger": "aiohttp.access"' not in line
        ]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]


@pytest.fixture
def json_logs(api: Api) -> Iterator[Captured]:
    """Every record of the process, as ``serve`` with ``format = "json"`` writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor(secrets_of(api.services.settings))))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _request(api: Api, method: str, path: str, **kwargs: Any) -> int:
    async with api.session.request(method, api.url + path, **kwargs) as response:
        await response.read()
        return response.status


async def test_failing_requests_log_json_with_request_ids_and_no_secret(
    api: Api, sandbox: Sandbox, json_logs: Captured
) -> None:
    await fill_index(api, sandbox)
    json_logs.stream.truncate(0)
    json_logs.stream.seek(0)
    acme = {"Authorization": f"Bearer {KEYS['acme']}"}
    kombo_key = api.services.settings.connection("acme-kombo")
    assert kombo_key is not None
    statuses = [
        await _request(
            api, "POST", "/graphql", data=b"{not json",
            headers={**acme, "Content-Type": "application/json"},
        ),
        await _request(api, "POST", "/graphql", json={"query": "{ x"}, headers=acme),
        await _request(
            api, "POST", "/graphql", json={"query": "{ connections { id } }"},
            headers={"Authorization": "Bearer " + kombo_key.api_key.get_secret_value()},
        ),  # a provider key used as an API key
        await _request(
            api, "POST", "/graphql", data=io.BytesIO(b"x" * (3 * 1024 * 1024)), headers=acme
        ),
        await _request(api, "PUT", "/graphql", headers=acme),
        await _request(api, "POST", "/webhooks/unified/acme-unified", data=b"{}"),
        await _request(api, "POST", "/webhooks/unified/nobody", data=b"{}"),
        await _request(api, "POST", "/webhooks/kombo", data=b"[]"),
        await _request(api, "GET", "/nothing-here"),
    ]  # fmt: skip
    assert 500 not in statuses
    assert sum(status >= 400 for status in statuses) >= 8, statuses
    # providers failing: retries, rate limits and refused credentials in the logs
    for fault in (
        {"error_rate": 1.0, "statuses": [503]},
        {"error_rate": 1.0, "statuses": [429], "retry_after": 0},
        {"error_rate": 1.0, "statuses": [401]},
    ):
        await sandbox.faults({"*": fault})
        await _request(
            api, "POST", "/graphql", json={"query": DASHBOARD, "variables": {"first": 20}},
            headers={**acme, "Cache-Control": "no-cache"},
        )  # fmt: skip
        await _request(
            api, "POST", "/graphql",
            json={"query": 'mutation { refreshOrders(ids: ["x"]) { errors { message } } }'},
            headers=acme,
        )  # fmt: skip
    await sandbox.faults({})

    lines = json_logs.lines()
    assert len(lines) >= len(statuses) + 6
    records = json_logs.records()  # every line is one JSON object
    for record in records:
        assert {"timestamp", "level", "logger", "message", "request_id"} <= record.keys()
        assert record["request_id"], record
    secrets = [s for s in secrets_of(api.services.settings) if s]
    assert secrets
    text = "\n".join(lines)
    assert not [s for s in secrets if s in text]
    # one line per request, with its route template and status
    answered = [r for r in records if r["logger"] == "ordergraph.requests"]
    assert {"/graphql", "/webhooks/unified/{connection}", "unmatched"} <= {
        r["route"] for r in answered
    }
    assert len({r["request_id"] for r in answered}) == len(answered)


async def test_request_id_is_taken_when_sane_and_echoed(api: Api, json_logs: Captured) -> None:
    graphql = api.url + "/graphql?query={connections{id}}"
    async with api.session.get(graphql, headers={"X-Request-Id": "abc-123"}) as r:
        assert r.status == 401
        assert r.headers["X-Request-Id"] == "abc-123"
    forged = 'x" "level": "ERROR'
    async with api.session.get(graphql, headers={"X-Request-Id": forged}) as r:
        generated = r.headers["X-Request-Id"]
    assert generated != forged
    assert len(generated) == 32
    ids = [r["request_id"] for r in json_logs.records() if r["logger"] == "ordergraph.requests"]
    assert ids == ["abc-123", generated]


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_the_redactor_masks_secrets_wherever_they_appear() -> None:
    secret = 'sk_live_"quoted\\secret'
    redact = Redactor([secret, "short"])
    basic = base64.b64encode(b"sk_live_x:").decode()
    redact_basic = Redactor([basic])
    try:
        raise RuntimeError(f"upstream said {secret}")
    except RuntimeError:
        import sys

        record = _record(
            "key=%s", secret, detail={"nested": [secret]}, error=ValueError(f"bad {secret}")
        )
        record.exc_info = sys.exc_info()
    line = JsonFormatter(redact).format(record)
    assert "sk_live" not in line  # not even JSON-escaped
    entry = json.loads(line)
    assert entry["message"] == "key=[REDACTED]"
    assert entry["detail"] == {"nested": ["[REDACTED]"]}
    assert entry["error"] == "bad [REDACTED]"
    assert "[REDACTED]" in entry["exception"]
    # passwords in URLs are masked even when not configured
    text = TextFormatter(Redactor()).format(
        _record("connect to postgresql://og:hunter22@db:5432/og failed")
    )
    assert "hunter22" not in text
    assert "postgresql://og:[REDACTED]@db:5432/og" in text
    # secrets too short to mask safely are left alone (they would mask words)
    assert redact("a short word") == "a short word"
    assert redact_basic(f"Authorization: Basic {basic}") == "Authorization: Basic [REDACTED]"


# --- error logging is bounded ------------------------------------------------------------


def _graphql_records(captured: Captured) -> list[dict[str, Any]]:
    """What a request logged besides its one ``ordergraph.requests`` line."""
    return [r for r in captured.records() if r["logger"] != "ordergraph.requests"]


_MANY_ALIASES = {"max_aliases": 600, "max_tokens": 5000, "max_cost": 100_000}


@pytest.mark.parametrize("api", [_MANY_ALIASES], indirect=True)
async def test_500_forbidden_pii_fields_write_one_record_without_traceback(
    api: Api, sandbox: Sandbox, json_logs: Captured
) -> None:
    # given four candidates and a key without pii
    await index_unified(sandbox, api, count=4)
    pii = " ".join(f"d{n}: dateOfBirth" for n in range(125))
    document = f"{{ candidates(first: 4) {{ edges {{ node {{ name {pii} }} }} }} }}"
    json_logs.stream.truncate(0)
    json_logs.stream.seek(0)
    # when it selects 125 pii fields on each (500 FORBIDDEN errors)
    body = await api.query(document, key=NO_PII_KEY)
    # then the answer has them all, and the log one INFO record without a traceback
    assert error_codes(body) == ["FORBIDDEN"] * 500
    records = _graphql_records(json_logs)
    assert [(r["level"], r["logger"]) for r in records] == [("INFO", "ordergraph.graphql")]
    assert "exception" not in records[0]
    assert records[0]["error_codes"] == {"FORBIDDEN": 500}


@pytest.mark.parametrize("api", [_MANY_ALIASES], indirect=True)
async def test_bad_ids_and_cursors_and_invalid_documents_log_a_bounded_number_of_records(
    api: Api, json_logs: Captured
) -> None:
    bad_ids = " ".join(f'n{n}: node(id: "garbage{n}") {{ id }}' for n in range(200))
    bad_cursors = " ".join(f'o{n}: orders(after: "nope{n}") {{ totalCount }}' for n in range(50))
    cases = {
        bad_ids: "INVALID_ID",
        bad_cursors: "INVALID_CURSOR",
        "{ " + " ".join(f"x{n}: nothing" for n in range(300)) + " }": "GRAPHQL_VALIDATION_FAILED",
        "{ connections { id ": "GRAPHQL_PARSE_FAILED",
    }
    for document, code in cases.items():
        json_logs.stream.truncate(0)
        json_logs.stream.seek(0)
        query = document if document.startswith("{") else "{ " + document + " }"
        body = await api.query(query)
        assert set(error_codes(body)) == {code}, body["errors"][:2]
        records = _graphql_records(json_logs)
        assert len(records) == 1, records
        assert records[0]["level"] == "INFO"
        assert "exception" not in records[0]


def test_unexpected_errors_log_once_at_error_with_one_traceback() -> None:
    # given a request whose 50 fields each failed unexpectedly, plus 10 client errors
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor()))
    log = logging.getLogger("ordergraph.graphql")
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    errors: list[GraphQLError] = []
    for n in range(50):
        try:
            raise RuntimeError(f"bug {n}")
        except RuntimeError as exc:
            errors.append(GraphQLError(f"bug {n}", path=["orders", n], original_error=exc))
    errors += [PublicError("bad", code="INVALID_ARGUMENT") for _ in range(10)]
    try:
        # when they are summarised
        summarise_errors(errors, "Dashboard")
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    # then one INFO summary and one ERROR with the first traceback only
    assert [r["level"] for r in records] == ["INFO", "ERROR"]
    assert records[0]["error_codes"] == {"INVALID_ARGUMENT": 10}
    assert "50 unexpected errors" in records[1]["message"]
    assert "orders.0" in records[1]["message"]
    assert records[1]["exception"].count("Traceback") == 1
    assert "bug 0" in records[1]["exception"]
    assert "bug 1" not in records[1]["exception"]


def test_provider_refusals_log_once_at_warning_without_traceback() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor()))
    log = logging.getLogger("ordergraph.graphql")
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    down = ProviderUnavailableError(
        "503 from the provider", provider="kombo", connection_id="acme-kombo", status=503
    )
    limited = ProviderRateLimitedError("slow down", provider="unified", retry_after=3)
    errors: list[GraphQLError] = []
    for n in range(40):
        failure = provider_failure(down if n % 2 else limited)
        errors.append(GraphQLError(failure.message, path=["orders", n], original_error=failure))
    try:
        summarise_errors(errors, None)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["level"] for r in records] == ["WARNING"]
    assert records[0]["error_codes"] == {"PROVIDER_UNAVAILABLE": 20, "PROVIDER_RATE_LIMITED": 20}
    assert "exception" not in records[0]


def test_the_text_lines_time_is_the_standard_one_across_seconds() -> None:
    ours, standard = TextFormatter(), logging.Formatter("%(asctime)s")
    for created in (1_700_000_000.123, 1_700_000_000.987, 1_700_000_001.5, 1_699_999_999.25):
        record = logging.makeLogRecord({"msg": "x", "created": created})
        record.msecs = (created - int(created)) * 1000
        assert ours.formatTime(record) == standard.formatTime(record)
    dated = logging.makeLogRecord({"msg": "x", "created": 1_700_000_000.0})
    assert ours.formatTime(dated, "%Y") == standard.formatTime(dated, "%Y")
