"""``GET /metrics``: what a running gateway counts, read back as Prometheus parses it.

Traffic is real (GraphQL over HTTP, the sandbox's providers, the store); the
assertions read the exposition text with prometheus-client's own parser."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from ordergraph.metrics import MAX_OPERATION_NAMES, Metrics
from ordergraph.providers.registry import ADAPTERS
from ordergraph.sandbox.core import SandboxContext
from ordergraph.server import create_metrics_app
from ordergraph.settings import MetricsSettings
from ordergraph.store import SyncState
from tests.api.conftest import KEYS, Api
from tests.api.helpers import DASHBOARD, fill_index
from tests.conftest import Sandbox

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def sandbox_context() -> SandboxContext:
    return SandboxContext(seed=7, orders_per_account=6)


METRICS_TOKEN = "metrics-token-0123456789"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def api(api: Api) -> Api:
    """The gateway with a metrics token: the API port serves ``/metrics`` only with one."""
    api.services.settings = api.services.settings.model_copy(
        update={"metrics": MetricsSettings(token=SecretStr(METRICS_TOKEN))}
    )
    return api


async def _scrape(api: Api) -> tuple[str, Samples]:
    async with api.session.get(api.url + "/metrics", headers=SCRAPER) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return text, samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(key)[label] for (sample, key) in samples if sample == name and label in dict(key)}


async def _post(api: Api, body: dict[str, Any], **headers: str) -> int:
    async with api.session.post(
        api.url + "/graphql",
        json=body,
        headers={"Authorization": f"Bearer {KEYS['acme']}", **headers},
    ) as response:
        await response.read()
        return response.status


async def test_graphql_operations_are_counted_by_name_type_and_outcome(api: Api) -> None:
    await _post(api, {"query": "query Mine { connections { id } }"})
    await _post(api, {"query": "{ connections { id } }"})
    await _post(api, {"query": "{ connections { id "})  # does not parse
    await _post(api, {"query": "{ nope }"})  # does not validate
    await _post(
        api,
        {"query": "query Q($n: Int!) { orders(first: $n) { totalCount } }", "variables": {}},
    )  # a missing variable
    await _post(api, {"query": 'query Bad { node(id: "bm90LWEtZ2xvYmFsLWlk") { id } }'})
    _, samples = await _scrape(api)
    ops = "ordergraph_graphql_operations_total"
    assert _value(samples, ops, operation_name="Mine", operation_type="query", outcome="ok") == 1
    assert (
        _value(samples, ops, operation_name="anonymous", operation_type="query", outcome="ok") == 1
    )
    request_errors = sum(
        value
        for (name, labels), value in samples.items()
        if name == ops and ("outcome", "request_error") in labels
    )
    assert request_errors == 3
    assert (
        _value(samples, ops, operation_name="Q", operation_type="query", outcome="request_error")
        == 1
    )
    assert (
        _value(
            samples,
            ops,
            operation_name="anonymous",
            operation_type="unknown",
            outcome="request_error",
        )
        == 1
    )  # the document that does not parse has no type
    # a node id that is not ours is a field error: the operation ran
    assert (
        _value(samples, ops, operation_name="Bad", operation_type="query", outcome="field_error")
        == 1
    )


async def test_http_requests_are_labelled_by_route_template(api: Api) -> None:
    await _post(api, {"query": "{ connections { id } }"})
    async with api.session.post(api.url + "/webhooks/unified/acme-unified", data=b"{}") as response:
        webhook_status = response.status
    async with api.session.get(api.url + "/no/such/path/12345") as response:
        assert response.status == 404
    _, samples = await _scrape(api)
    requests = "ordergraph_http_requests_total"
    assert _value(samples, requests, method="POST", route="/graphql", status="200") == 1
    assert (
        _value(
            samples,
            requests,
            method="POST",
            route="/webhooks/unified/{connection}",
            status=str(webhook_status),
        )
        == 1
    )
    assert _value(samples, requests, method="GET", route="unmatched", status="404") == 1
    # the unsigned delivery is counted by how the intake answered it
    assert webhook_status == 401
    assert (
        _value(
            samples,
            "ordergraph_webhook_deliveries_total",
            provider="unified",
            outcome="bad_signature",
        )
        == 1
    )
    routes = _label_values(samples, requests, "route")
    assert not [r for r in routes if "acme" in r or "12345" in r]
    assert (
        _value(
            samples,
            "ordergraph_http_request_duration_seconds_count",
            method="POST",
            route="/graphql",
        )
        == 1
    )


async def test_upstream_calls_retries_and_cache_lookups(api: Api, sandbox: Sandbox) -> None:
    await fill_index(api, sandbox)
    # 429 with Retry-After 0: always retried (a backoff might exceed max_retry_delay)
    await sandbox.faults({"unified": {"error_rate": 1.0, "statuses": [429], "retry_after": 0}})
    body = {"query": DASHBOARD, "variables": {"first": 50}}
    assert await _post(api, body) == 200  # Unified's package names fail after retries
    await sandbox.faults({})
    assert await _post(api, body) == 200  # Unified's list now fetched; others cached
    assert await _post(api, body) == 200  # a repeat: the response cache answers
    text, samples = await _scrape(api)

    # every provider route is a template of its adapter: never an id, never "other"
    templates = {
        f"{method} {template}"
        for adapter in ADAPTERS.values()
        for template in adapter.route_templates
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE")
    }
    upstream = "ordergraph_upstream_requests_total"
    routes = _label_values(samples, upstream, "route")
    assert routes, text
    assert routes <= templates, routes - templates
    assert _label_values(samples, upstream, "provider") == {"unified", "stackone", "kombo"}
    retries = _value(
        samples,
        "ordergraph_upstream_retries_total",
        provider="unified",
        route="GET /assessment/{connection}/package",
        reason="429",
    )
    assert retries >= 1
    assert (
        _value(
            samples,
            upstream,
            provider="unified",
            route="GET /assessment/{connection}/package",
            status="429",
        )
        == retries + 1
    )
    # packages: the first dashboard missed every connection; the second hit all but
    # Unified's (which failed and was not cached)
    cache = "ordergraph_cache_requests_total"
    assert _value(samples, cache, cache="packages", result="miss") >= 3
    assert _value(samples, cache, cache="packages", result="hit") >= 2
    assert _value(samples, cache, cache="response", result="hit") == 1
    assert _value(samples, cache, cache="response", result="miss") == 2


async def test_scrape_time_gauges_read_the_store(api: Api) -> None:
    store = api.services.store
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    await store.sync_state.put(SyncState(connection_id="acme-kombo", last_synced_at=long_ago))
    state = await store.sync_state.get("acme-kombo")
    assert state is not None
    await store.sync_state.put(replace(state, last_error="x"))
    for n in range(3):
        await store.deliveries.enqueue("acme", f"acme-kombo:o{n}", "acme-kombo", {"score": n})
    claimed = await store.deliveries.claim(limit=1)
    assert len(claimed) == 1
    _, samples = await _scrape(api)
    lag = "ordergraph_sync_lag_seconds"
    assert _value(samples, lag, connection="acme-kombo") >= 3600
    # globex's Kombo connection never synced: its lag runs from the gateway's start
    assert 0 <= _value(samples, lag, connection="globex-kombo") < 3600
    assert _label_values(samples, lag, "connection") == {"acme-kombo", "globex-kombo"}
    backlog = "ordergraph_result_delivery_backlog"
    assert _value(samples, backlog, state="pending") == 2
    assert _value(samples, backlog, state="in_flight") == 1
    subscribers = "ordergraph_subscribers"
    assert _value(samples, subscribers, tenant="acme") == 0
    assert _label_values(samples, subscribers, "tenant") == {"acme", "globex"}


def test_operation_names_are_capped() -> None:
    metrics = Metrics(max_operation_names=3)
    for name in ("A", "B", "C", "D", "E", "x" * 65, "not a name", None):
        metrics.graphql_operation(name, "query", "ok")
    labels = {
        sample.labels["operation_name"]
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
        if sample.name == "ordergraph_graphql_operations_total"
    }
    assert labels == {"A", "B", "C", "other", "anonymous"}
    assert MAX_OPERATION_NAMES <= 1000


def test_two_applications_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.http_request("GET", "/healthz", 200, 0.01)
    assert b'route="/healthz"' in first.render()
    assert b'route="/healthz"' not in second.render()
    assert re.search(rb"ordergraph_http_requests_total\{", second.render()) is None


# --- who may scrape ------------------------------------------------------------------------


async def _get(api: Api, url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with api.session.get(url, headers=headers or {}) as response:
        return response.status, await response.text()


def _configure(api: Api, **metrics: Any) -> None:
    api.services.settings = api.services.settings.model_copy(
        update={"metrics": MetricsSettings(**metrics)}
    )


async def test_the_api_port_serves_metrics_only_to_the_token(api: Api) -> None:
    url = api.url + "/metrics"
    # with the token: served
    status, text = await _get(api, url, SCRAPER)
    assert status == 200
    assert "acme" in text  # what the metrics name, which is why they are guarded
    # without it, with another one, or with the token under another scheme: refused
    for headers in (
        None,
        {"Authorization": "Bearer metrics-token-0123456788"},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
        {"Authorization": f"Bearer {KEYS['acme']}"},  # an API key is no metrics token
    ):
        status, text = await _get(api, url, headers)
        assert status == 401, headers
        assert "acme" not in text
        assert METRICS_TOKEN not in text


async def test_without_token_or_listen_the_api_port_refuses_metrics(api: Api) -> None:
    _configure(api)
    status, text = await _get(api, api.url + "/metrics")
    assert status == 403
    assert "[metrics] token" in text
    assert "acme" not in text


async def test_metrics_on_an_address_of_their_own(api: Api) -> None:
    # given [metrics] listen: the API port no longer serves them
    _configure(api, listen="127.0.0.1:0")
    status, _ = await _get(api, api.url + "/metrics", SCRAPER)
    assert status == 404
    # and the metrics application does, over the same services
    server = TestServer(create_metrics_app(api.services), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/metrics"))
        status, text = await _get(api, url)
        assert status == 200
        assert "ordergraph_http_requests_total" in text
        # with a token as well, that listener wants it too
        _configure(api, listen="127.0.0.1:0", token=SecretStr(METRICS_TOKEN))
        assert (await _get(api, url))[0] == 401
        assert (await _get(api, url, SCRAPER))[0] == 200
        # and only /metrics is there
        assert (await _get(api, str(server.make_url("/graphql"))))[0] == 404
    finally:
        await server.close()


def test_metrics_settings_are_checked() -> None:
    assert MetricsSettings(listen="[::1]:9100").address() == ("::1", 9100)
    for listen in ("9100", "localhost", "host:port", "h:70000"):
        with pytest.raises(ValueError, match="not host:port"):
            MetricsSettings(listen=listen)
    with pytest.raises(ValueError, match="at least 16"):
        MetricsSettings(token=SecretStr("short"))
