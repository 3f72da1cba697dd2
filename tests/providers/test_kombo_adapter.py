"""KomboProvider against the sandbox over real loopback HTTP, and against tiny servers
that misbehave. Every exchange with the simulator is checked against the Kombo spec."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ordergraph.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderError,
    ProviderInputError,
    ProviderNotFoundError,
    ProviderRateLimitedError,
    ProviderResponseError,
    ProviderUnavailableError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from ordergraph.models import (
    Attachment,
    AttributeType,
    OrderStatus,
    Package,
    PackageType,
    ProviderName,
    ResultAttribute,
    ResultSubmission,
)
from ordergraph.providers.base import Capability, ConnectionConfig
from ordergraph.providers.kombo.client import KomboProvider
from ordergraph.providers.kombo.webhooks import webhook_integration_id
from ordergraph.sandbox.kombo import sign
from tests.conftest import Sandbox
from tests.contract import validate_webhook

ProviderFactory = Callable[..., KomboProvider]

RESULT = ResultSubmission(
    status=OrderStatus.COMPLETED,
    score=87.5,
    max_score=100,
    url="https://vendor.example.com/results/42",
    completed_at=datetime.fromisoformat("2026-02-01T10:00:00+00:00"),
    summary="Strong on SQL.",
    attributes=(
        ResultAttribute(label="Role fit", value="High"),
        ResultAttribute(type=AttributeType.NUMBER, label="Speed", score=7, max_score=10),
        ResultAttribute(
            type=AttributeType.SUB_RESULT, label="Joins", score=9, max_score=10, reference="q-1"
        ),
    ),
    attachments=(
        Attachment(url="https://vendor.example.com/r/42.pdf", content_type="application/pdf"),
    ),
)


@pytest.fixture
async def accounts(sandbox: Sandbox) -> list[dict[str, Any]]:
    return await sandbox.accounts("kombo")


def config_for(base_url: str, entry: dict[str, Any], /, **overrides: Any) -> ConnectionConfig:
    """A connection for a sandbox account entry (``overrides`` replace config fields)."""
    api_key = entry["headers"]["Authorization"].removeprefix("Bearer ")
    settings: dict[str, Any] = {
        "id": f"conn-{entry['account']}",
        "provider": ProviderName.KOMBO,
        "base_url": base_url,
        "api_key": api_key,
        "account": entry["account"],
        "webhook_secret": entry["webhook_secret"],
        "max_retry_delay": 0.5,
        "max_attempts": 3,
    }
    return ConnectionConfig(**(settings | overrides))


@pytest.fixture
async def make_provider(
    sandbox: Sandbox, accounts: list[dict[str, Any]]
) -> AsyncIterator[ProviderFactory]:
    """Build adapters for the sandbox's Kombo integrations; all are closed afterwards."""
    made: list[KomboProvider] = []

    def make(index: int = 0, /, *, base_url: str | None = None, **overrides: Any) -> KomboProvider:
        config = config_for(base_url or sandbox.base("kombo"), accounts[index], **overrides)
        provider = KomboProvider(config)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.close()


@pytest.fixture
def provider(make_provider: ProviderFactory) -> KomboProvider:
    return make_provider()


async def truth(sandbox: Sandbox, account: str) -> list[dict[str, Any]]:
    result = await sandbox.control("GET", f"orders?provider=kombo&account={account}")
    rows: list[dict[str, Any]] = result["orders"]
    return rows


async def route_count(sandbox: Sandbox, route: str) -> int:
    stats = await sandbox.stats()
    count: int = stats["requests"].get("kombo", {}).get(route, 0)
    return count


# --- basics -----------------------------------------------------------------------------


def test_capabilities_headers_and_no_secret_in_repr(provider: KomboProvider) -> None:
    assert provider.capabilities == {
        Capability.LIST_ORDERS,
        Capability.GET_ORDERS,
        Capability.SUBMIT_RESULT,
        Capability.LIST_PACKAGES,
        Capability.PUBLISH_PACKAGES,
        Capability.RECEIVE_WEBHOOKS,
    }
    headers = provider.auth_headers()
    key = provider.config.api_key.get_secret_value()
    assert headers["Authorization"].get_secret_value() == f"Bearer {key}"
    assert headers["X-Integration-Id"].get_secret_value() == provider.config.account
    for text in (repr(provider), repr(provider.config), repr(provider.http), repr(headers)):
        assert key not in text
        assert provider.config.webhook_secret is not None
        assert provider.config.webhook_secret.get_secret_value() not in text


def test_connection_without_integration_is_a_config_error(
    sandbox: Sandbox, accounts: list[dict[str, Any]]
) -> None:
    with pytest.raises(ConfigError):
        KomboProvider(config_for(sandbox.base("kombo"), accounts[0], account=" "))


# --- listing ----------------------------------------------------------------------------


async def test_paging_to_the_end_equals_ground_truth(
    sandbox: Sandbox, provider: KomboProvider
) -> None:
    rows = await truth(sandbox, provider.config.account)
    seen = []
    cursor = None
    while True:
        page = await provider.list_orders(cursor=cursor, page_size=7)
        assert len(page.items) <= 7
        seen.extend(page.items)
        cursor = page.next_token
        if cursor is None:
            break
    assert [o.remote_id for o in seen] == [r["id"] for r in rows]
    assert len({o.remote_id for o in seen}) == len(rows) == 30
    assert [o.provider_status for o in seen] == [r["status"] for r in rows]
    assert all(o.status.value == o.provider_status for o in seen)
    assert await route_count(sandbox, "GET /assessment/orders") == 5

    everything = [o async for o in provider.iter_orders()]
    assert [o.remote_id for o in everything] == [r["id"] for r in rows]
    sandbox.recorder.validate_all("kombo")


async def test_mapped_order_fields(provider: KomboProvider) -> None:
    order = (await provider.list_orders(page_size=1)).items[0]
    raw = order.raw
    assert raw is not None
    assert order.provider is ProviderName.KOMBO
    assert order.created_at is None
    assert order.package is not None
    assert order.package.remote_id == raw["package_id"]
    assert order.candidate is not None
    assert order.candidate.emails == (raw["candidate"]["email"],)
    assert order.candidate.phones == (raw["candidate"]["phone"],)
    assert order.candidate.remote_id == raw["candidate"]["remote_id"]
    assert order.job is not None
    assert order.job.location is not None
    assert order.job.title == raw["job"]["name"]
    assert order.job.code == raw["job"]["job_code"]
    assert order.job.location.region == raw["job"]["location"]["state"]
    assert order.job.location.postal_code == raw["job"]["location"]["zip_code"]
    assert [m.roles for m in order.job.hiring_team] == [("RECRUITER",), ("HIRING_MANAGER",)]
    assert order.application is not None
    assert order.application.remote_id == raw["application"]["remote_id"]


async def test_page_size_bounds(sandbox: Sandbox, provider: KomboProvider) -> None:
    for bad in (0, 251):
        with pytest.raises(ValueError, match="page_size"):
            await provider.list_orders(page_size=bad)
    assert await route_count(sandbox, "GET /assessment/orders") == 0
    assert len((await provider.list_orders(page_size=250)).items) == 30
    assert len((await provider.list_orders(page_size=1)).items) == 1


async def test_status_and_created_after_filters(sandbox: Sandbox, provider: KomboProvider) -> None:
    rows = await truth(sandbox, provider.config.account)
    opened = [o async for o in provider.iter_orders(statuses=[OrderStatus.OPEN])]
    assert [o.remote_id for o in opened] == [r["id"] for r in rows if r["status"] == "OPEN"]

    mixed = [o async for o in provider.iter_orders(statuses=[OrderStatus.OPEN, OrderStatus.FAILED])]
    assert [o.remote_id for o in mixed] == [o.remote_id for o in opened]

    # Statuses Kombo never reports: an empty result, without asking Kombo.
    before = await route_count(sandbox, "GET /assessment/orders")
    page = await provider.list_orders(statuses=[OrderStatus.FAILED, OrderStatus.EXPIRED])
    assert (list(page.items), page.next_token) == ([], None)
    assert await route_count(sandbox, "GET /assessment/orders") == before

    pivot = rows[12]["created_at"]
    after = [o async for o in provider.iter_orders(created_after=datetime.fromisoformat(pivot))]
    assert [o.remote_id for o in after] == [r["id"] for r in rows if r["created_at"] >= pivot]
    assert after[0].remote_id == rows[12]["id"]  # inclusive
    sandbox.recorder.validate_all("kombo")


async def test_get_orders_batches_ids_and_omits_missing(
    sandbox: Sandbox, provider: KomboProvider
) -> None:
    rows = await truth(sandbox, provider.config.account)
    known = [r["id"] for r in rows]
    ids = known + [f"missing{n:04d}" for n in range(600 - len(known))]
    found = await provider.get_orders(ids)
    assert await route_count(sandbox, "GET /assessment/orders") == 3
    assert set(found) == set(known)
    assert all(found[i].remote_id == i for i in known)

    found = await provider.get_orders([known[3], "missing", known[3], "a,b"])
    assert list(found) == [known[3]]
    assert await provider.get_orders([]) == {}
    sandbox.recorder.validate_all("kombo")


# --- writes -----------------------------------------------------------------------------


async def test_submit_result_then_ground_truth_shows_it(
    sandbox: Sandbox, provider: KomboProvider
) -> None:
    rows = await truth(sandbox, provider.config.account)
    order_id = next(r["id"] for r in rows if r["status"] == "OPEN")
    await provider.submit_result(order_id, RESULT)
    await provider.submit_result(order_id, RESULT)  # idempotent: same status again
    row = next(r for r in await truth(sandbox, provider.config.account) if r["id"] == order_id)
    assert row["status"] == "COMPLETED"
    result = row["result"]
    assert result["score"] == 87.5
    assert result["result_url"] == RESULT.url
    assert result["completed_at"] == "2026-02-01T10:00:00.000Z"
    assert {a["type"] for a in result["attributes"]} == {"TEXT", "SUB_RESULT"}
    assert result["attachments"] == [
        {"name": "42.pdf", "data_url": "https://vendor.example.com/r/42.pdf",
         "content_type": "application/pdf"}
    ]  # fmt: skip
    order = (await provider.get_orders([order_id]))[order_id]
    assert order.status is OrderStatus.COMPLETED
    sandbox.recorder.validate_all("kombo")


async def test_open_only_rule_and_unknown_order(sandbox: Sandbox, provider: KomboProvider) -> None:
    rows = await truth(sandbox, provider.config.account)
    order_id = next(r["id"] for r in rows if r["status"] == "OPEN")
    await sandbox.control(
        "PATCH", "orders",
        {"provider": "kombo", "account": provider.config.account, "id": order_id,
         "status": "COMPLETED"},
    )  # fmt: skip
    cancelled = RESULT.model_copy(update={"status": OrderStatus.CANCELLED})
    with pytest.raises(ProviderInputError) as caught:
        await provider.submit_result(order_id, cancelled)
    assert caught.value.code == "PLATFORM.INPUT_INVALID"
    assert caught.value.status == 400
    assert "OPEN" in caught.value.message

    with pytest.raises(ProviderNotFoundError) as missing:
        await provider.submit_result("no-such-order", RESULT)
    assert missing.value.status == 404

    with pytest.raises(ValueError, match="UNKNOWN"):
        await provider.submit_result(
            order_id, RESULT.model_copy(update={"status": OrderStatus.UNKNOWN})
        )
    # The 400 was not retried: PUT attempts = 1 (rule) + 1 (unknown order).
    assert await route_count(sandbox, "PUT /assessment/orders/{assessment_order_id}/result") == 2
    sandbox.recorder.validate_all("kombo")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "not a url"}, ("url",)),
        ({"url": "/results/42"}, ("url",)),
        ({"url": "https://vendor.example.com/r 42"}, ("url",)),
        (
            {"attachments": (Attachment(url="https://files.example.com/a.pdf"),
                             Attachment(url="not a url"))},
            ("attachments", "1", "url"),
        ),
    ],
)  # fmt: skip
async def test_result_url_and_data_url_must_be_absolute_uris_and_nothing_is_sent(
    sandbox: Sandbox, provider: KomboProvider, change: dict[str, Any], field: tuple[str, ...]
) -> None:
    # given: an OPEN order, and a result whose URL is not a URI (the spec's format: uri)
    rows = await truth(sandbox, provider.config.account)
    order_id = next(r["id"] for r in rows if r["status"] == "OPEN")
    bad = RESULT.model_copy(update=change)

    # when / then: refused before sending, in Kombo's words, which map back to the field
    with pytest.raises(ValueError, match="absolute URI") as caught:
        provider.check_result(bad)
    assert provider.result_input_field(str(caught.value)) == field
    with pytest.raises(ValueError, match="absolute URI"):
        await provider.submit_result(order_id, bad)
    assert await route_count(sandbox, "PUT /assessment/orders/{assessment_order_id}/result") == 0


async def test_kombos_refusals_name_the_result_input_field(
    sandbox: Sandbox, provider: KomboProvider
) -> None:
    # given: an order no longer OPEN
    rows = await truth(sandbox, provider.config.account)
    order_id = next(r["id"] for r in rows if r["status"] == "OPEN")
    await sandbox.control(
        "PATCH", "orders",
        {"provider": "kombo", "account": provider.config.account, "id": order_id,
         "status": "COMPLETED"},
    )  # fmt: skip

    # when: a status change Kombo refuses
    with pytest.raises(ProviderInputError) as caught:
        await provider.submit_result(
            order_id, RESULT.model_copy(update={"status": OrderStatus.CANCELLED})
        )

    # then: the refusal's message names the field at fault
    assert provider.result_input_field(caught.value.message) == ("status",)
    # and Kombo's validation messages (``<path>: <reason>``) map the same way
    for message, field in [
        ("result_url: Value error, must be an absolute URI", ("url",)),
        ("attachments.0.data_url: Value error, must be an absolute URI",
         ("attachments", "0", "url")),
        ("max_score: Input should be a valid number", ("maxScore",)),
        ("completed_at: String should match pattern", ("completedAt",)),
        ("attributes.2.score.max: Input should be greater than or equal to 1",
         ("attributes", "2")),
        ("The X-Integration-Id header is required.", None),
    ]:  # fmt: skip
        assert provider.result_input_field(message) == field, message


async def test_publish_packages_replaces_all(
    sandbox: Sandbox, make_provider: ProviderFactory
) -> None:
    provider, other = make_provider(0), make_provider(1)
    original = await provider.list_packages()
    assert len(original) == 7
    assert all(p.type is not None and p.updated_at is not None for p in original)
    new = [
        original[0],
        Package(remote_id="grit-1", name="Grit", type=PackageType.BEHAVIORAL),
        Package(remote_id="ref-1", name="References", description="Two referees",
                type=PackageType.REFERENCE_CHECK),
    ]  # fmt: skip
    assert await provider.publish_packages(new) == []
    listed = await provider.list_packages()
    assert [(p.remote_id, p.name, p.type) for p in listed] == [
        (p.remote_id, p.name, p.type) for p in new
    ]
    assert listed[1].description == ""
    assert listed[0].updated_at == original[0].updated_at
    assert len(await other.list_packages()) == 7

    with pytest.raises(ValueError, match="grit-2"):
        await provider.publish_packages(
            [Package(remote_id="grit-2", name="Grit", type=PackageType.OTHER)]
        )
    sandbox.recorder.validate_all("kombo")


# --- errors -----------------------------------------------------------------------------


async def test_kombo_error_bodies_become_typed_errors(
    sandbox: Sandbox, make_provider: ProviderFactory
) -> None:
    wrong_key = make_provider(api_key="kombo_sandbox_wrong")
    with pytest.raises(ProviderAuthError) as auth:
        await wrong_key.list_orders()
    assert (auth.value.status, auth.value.code) == (401, "PLATFORM.AUTHENTICATION_INVALID")
    assert "kombo_sandbox_wrong" not in str(auth.value) + repr(auth.value)

    unknown = make_provider(account="greenhouse:doesnotexist")
    with pytest.raises(ProviderAuthError) as integration:
        await unknown.list_packages()
    assert integration.value.code == "PLATFORM.INTEGRATION_NOT_FOUND"
    assert integration.value.status == 404

    provider = make_provider()
    with pytest.raises(ProviderInputError) as bad_cursor:
        await provider.list_orders(cursor="not-a-cursor")
    assert (bad_cursor.value.status, bad_cursor.value.code) == (400, "PLATFORM.INPUT_INVALID")
    key = provider.config.api_key.get_secret_value()
    for error in (auth.value, integration.value, bad_cursor.value):
        assert key not in str(error)
        assert key not in repr(error)
    sandbox.recorder.validate_all("kombo")


async def test_rate_limit_is_retried_then_surfaces(
    sandbox: Sandbox, provider: KomboProvider
) -> None:
    await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [429], "retry_after": 0}})
    with pytest.raises(ProviderRateLimitedError) as caught:
        await provider.list_orders()
    assert caught.value.code == "PLATFORM.RATE_LIMIT_EXCEEDED"
    assert caught.value.retry_after == 0
    assert await route_count(sandbox, "GET /assessment/orders") == 3  # max_attempts

    await sandbox.faults({"kombo": {"error_rate": 1.0, "statuses": [503], "retry_after": 0}})
    with pytest.raises(ProviderUnavailableError) as unavailable:
        await provider.list_packages()
    assert unavailable.value.code == "REMOTE.SERVICE_UNAVAILABLE"
    await sandbox.faults({})
    assert len((await provider.list_orders(page_size=2)).items) == 2
    sandbox.recorder.validate_all("kombo")


async def serve(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> TestServer:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"status":"success","data":{"next":null,"results":[{"id":1}]}}', "application/json"),
        (b'{"status":"success","data":{"results":"nope"}}', "application/json"),
        (b'{"status":"success"}', "application/json"),
        (b"[]", "application/json"),
        (b"<html>gateway</html>", "text/html"),
    ],
)
async def test_wrong_shape_is_a_response_error(
    accounts: list[dict[str, Any]], body: bytes, content_type: str
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    server = await serve(handler)
    provider = KomboProvider(config_for(str(server.make_url("/v1")), accounts[0]))
    try:
        with pytest.raises(ProviderResponseError) as caught:
            await provider.list_orders()
        assert caught.value.path == "/assessment/orders"
        with pytest.raises(ProviderResponseError):
            await provider.list_packages()
    finally:
        await provider.close()
        await server.close()


async def test_unknown_status_from_the_wire_is_kept(accounts: list[dict[str, Any]]) -> None:
    item = {
        "id": "o1", "package_id": "p1", "status": "ON_HOLD",
        "candidate": {"remote_id": None, "email": "a@example.com", "first_name": None,
                      "last_name": None, "phone": None},
        "application": {"remote_id": None},
        "job": {"remote_id": None, "name": None, "job_code": None, "description": None,
                "location": None, "hiring_team": [], "new_kombo_field": 1},
    }  # fmt: skip
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers["X-Integration-Id"])
        payload = {"status": "success", "data": {"next": None, "results": [item]}}
        return web.json_response(payload)

    server = await serve(handler)
    provider = KomboProvider(config_for(str(server.make_url("/v1")), accounts[0]))
    try:
        order = (await provider.list_orders()).items[0]
    finally:
        await provider.close()
        await server.close()
    assert (order.status, order.provider_status) == (OrderStatus.UNKNOWN, "ON_HOLD")
    assert order.job is not None
    assert order.job.location is None
    assert seen == [accounts[0]["account"]]


# --- webhooks ---------------------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=200)

    server = await serve(hook)
    yield str(server.make_url("/hooks/kombo")), received
    await server.close()


async def test_webhooks_are_verified_and_mapped(
    sandbox: Sandbox,
    make_provider: ProviderFactory,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = receiver
    provider = make_provider(1)
    await sandbox.control("POST", "webhooks", {"kombo": url})
    created = await sandbox.control(
        "POST", "orders", {"provider": "kombo", "account": provider.config.account, "count": 3}
    )
    assert len(received) == 3
    for (headers, body), row in zip(received, created["orders"], strict=True):
        validate_webhook("kombo", "assessment:order-received", json.loads(body))
        assert webhook_integration_id(body) == provider.config.account
        delivery = provider.parse_webhook(headers, body)
        assert delivery.provider is ProviderName.KOMBO
        assert delivery.kind == "assessment:order-received"
        assert delivery.account == provider.config.account
        assert delivery.event_id == json.loads(body)["id"]
        assert [o.remote_id for o in delivery.orders] == [row["id"]]
        assert delivery.orders[0].status is OrderStatus.OPEN
    event_ids = {json.loads(body)["id"] for _, body in received}
    assert len(event_ids) == 3

    headers, body = received[0]
    signature = headers["X-Kombo-Signature"]
    padded = signature + "=" * (-len(signature) % 4)
    assert provider.parse_webhook({"x-kombo-signature": padded}, body).orders

    secret = provider.config.webhook_secret
    assert secret is not None
    refused: list[tuple[dict[str, str], bytes]] = [
        ({}, body),
        ({"X-Kombo-Signature": ""}, body),
        ({"X-Kombo-Signature": sign("another-secret", body)}, body),
        ({"X-Kombo-Signature": signature}, body.replace(b'"OPEN"', b'"CANCELLED"')),
        ({"X-Kombo-Signature": "%%%not base64%%%"}, body),
        ({"X-Kombo-Signature": base64.b64encode(b"short").decode()}, body),
    ]
    for bad_headers, bad_body in refused:
        with pytest.raises(WebhookSignatureError):
            provider.parse_webhook(bad_headers, bad_body)

    def signed(raw: bytes) -> dict[str, str]:
        return {"X-Kombo-Signature": sign(secret.get_secret_value(), raw)}

    payload = json.loads(body)
    for bad_payload in (
        b"{not json",
        b"[1, 2]",
        json.dumps({"id": "e", "type": "assessment:order-received", "data": {"id": 1}}).encode(),
        json.dumps(
            payload | {"data": payload["data"] | {"integration_id": "lever:other"}}
        ).encode(),
    ):
        with pytest.raises(WebhookPayloadError):
            provider.parse_webhook(signed(bad_payload), bad_payload)

    other_event = json.dumps({"id": "e2", "type": "connection-flow:finished", "data": {}}).encode()
    delivery = provider.parse_webhook(signed(other_event), other_event)
    assert (delivery.kind, list(delivery.orders)) == ("connection-flow:finished", [])

    no_secret = make_provider(1, webhook_secret=None)
    with pytest.raises(ConfigError):
        no_secret.parse_webhook(headers, body)


# --- the whole contract -----------------------------------------------------------------


async def test_every_operation_and_error_matches_the_spec(
    sandbox: Sandbox, make_provider: ProviderFactory
) -> None:
    provider = make_provider()
    rows = await truth(sandbox, provider.config.account)
    open_ids = [r["id"] for r in rows if r["status"] == "OPEN"]
    done_id = next(r["id"] for r in rows if r["status"] != "OPEN")

    assert [o async for o in provider.iter_orders()]
    await provider.list_orders(
        page_size=3,
        statuses=[OrderStatus.OPEN, OrderStatus.REJECTED],
        created_after=datetime.fromisoformat(rows[3]["created_at"]),
    )
    await provider.get_orders([*open_ids, "missing"])
    await provider.submit_result(open_ids[0], RESULT)
    await provider.submit_result(
        open_ids[1],
        ResultSubmission(status=OrderStatus.EXPIRED, url="https://vendor.example.com/r/2"),
    )
    await provider.submit_result(
        open_ids[2],
        ResultSubmission(status=OrderStatus.IN_PROGRESS, url="https://vendor.example.com/r/3"),
    )
    packages = await provider.list_packages()
    await provider.publish_packages(packages[:3])

    failures: list[Callable[[], Awaitable[Any]]] = [
        lambda: make_provider(api_key="wrong").list_orders(),  # 401
        lambda: make_provider(account="recruitee:unknown").get_orders(["x"]),  # 404
        lambda: provider.submit_result("missing", RESULT),  # 404
        lambda: provider.submit_result(  # 400: OPEN-only
            done_id, ResultSubmission(status=OrderStatus.OPEN, url="https://vendor.example.com")
        ),
        lambda: provider.list_orders(cursor="broken"),  # 400
    ]
    for failure in failures:
        with pytest.raises(ProviderError):
            await failure()

    statuses = {e.status for e in sandbox.recorder.for_provider("kombo")}
    assert {200, 400, 401, 404} <= statuses
    assert sandbox.recorder.validate_all("kombo") >= 12
