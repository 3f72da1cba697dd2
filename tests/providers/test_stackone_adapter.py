"""The StackOne adapter against the sandbox (and a tiny server of its own) over loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
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
    UnsupportedOperationError,
)
from ordergraph.models import (
    Application,
    Attachment,
    Candidate,
    HiringTeamMember,
    Job,
    NewOrder,
    OrderStatus,
    PackageRef,
    ProviderName,
    ResultSubmission,
)
from ordergraph.providers.base import Capability, ConnectionConfig
from ordergraph.providers.http import RetryPolicy
from ordergraph.providers.stackone.client import StackOneProvider
from ordergraph.providers.stackone.wire import CURRENT_API_VERSION, LEGACY_API_VERSION
from ordergraph.settings import load_settings
from tests.conftest import Sandbox

PREFIX = "/unified/ats/assessments"
ATTEMPTS = 3


class MakeProvider(Protocol):
    def __call__(
        self,
        base_url: str,
        *,
        api_key: str = ...,
        account: str = ...,
        page_size: int = ...,
        api_version: str | None = ...,
    ) -> StackOneProvider: ...


@pytest.fixture
async def make_provider() -> AsyncIterator[MakeProvider]:
    """Adapters with fast retries whose waits are recorded in ``provider.waits``;
    they speak the legacy API version (which reads orders back) unless told otherwise."""
    made: list[StackOneProvider] = []

    def make(
        base_url: str,
        *,
        api_key: str = "v1.eu1.test-key",
        account: str = "45355976281015164504",
        page_size: int = 50,
        api_version: str | None = LEGACY_API_VERSION,
    ) -> StackOneProvider:
        config = ConnectionConfig(
            id="conn-stackone",
            provider=ProviderName.STACKONE,
            base_url=base_url,
            api_key=api_key,
            account=account,
            api_version=api_version,
        )
        provider = StackOneProvider(config, page_size=page_size)
        provider.http.retry = RetryPolicy(
            max_attempts=ATTEMPTS, backoff_base=0.001, backoff_max=0.005, max_total_delay=2
        )
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            await asyncio.sleep(0)

        provider.http.sleep = sleep
        provider.waits = waits  # type: ignore[attr-defined]
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.close()


async def sandbox_provider(
    sandbox: Sandbox, make: MakeProvider, index: int = 0, **overrides: Any
) -> StackOneProvider:
    """An adapter for a sandbox account, the key decoded from the account's Basic header."""
    account = (await sandbox.accounts("stackone"))[index]
    token = account["headers"]["Authorization"].removeprefix("Basic ")
    api_key, _, _ = base64.b64decode(token).decode().partition(":")
    options: dict[str, Any] = {"api_key": api_key, "account": account["account"], **overrides}
    return make(sandbox.base("stackone"), **options)


def counts(stats: dict[str, Any]) -> dict[str, int]:
    result: dict[str, int] = stats["requests"].get("stackone", {})
    return result


def new_order(package_id: str) -> NewOrder:
    recruiter = HiringTeamMember(
        remote_id="usr_7", first_name="Rosa", last_name="Berg", email="rosa@hr.example.com",
        roles=("RECRUITER",),
    )  # fmt: skip
    return NewOrder(
        package=PackageRef(remote_id=package_id, name="Python Backend Challenge"),
        candidate=Candidate(
            remote_id="cand_7",
            first_name="Elif",
            last_name="Yilmaz",
            emails=("elif@example.com",),
            profile_url="https://ats.example.com/candidates/7",
        ),
        job=Job(remote_id="job_7", title="Data Scientist", hiring_team=(recruiter,)),
        application=Application(remote_id="app_7", status="assessment"),
        requester=recruiter,
        results_update_url="https://vendor.example.com/results/7",
    )


RESULT = ResultSubmission(
    status=OrderStatus.COMPLETED,
    score=87.5,
    max_score=100.0,
    min_score=0.0,
    url="https://vendor.example.com/report/7",
    started_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    completed_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
    summary="Solid.",
    attachments=(
        Attachment(url="https://vendor.example.com/r.pdf", content_type="application/pdf"),
    ),
)


# --- the happy paths ------------------------------------------------------------------------


async def test_list_packages_pages_to_the_end(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider, page_size=2)
    packages = await provider.list_packages()
    assert len(packages) == len({p.remote_id for p in packages}) == 7
    assert packages[0].name == "Python Backend Challenge"
    assert counts(await sandbox.stats()) == {f"GET {PREFIX}/packages": 4}
    sent = [dict(e.query) for e in sandbox.recorder.for_provider("stackone")]
    assert [q.get("page_size") for q in sent] == ["2"] * 4
    assert "next" not in sent[0]
    assert all("next" in q for q in sent[1:])


async def test_list_packages_default_page_size_is_one_request(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    assert len(await provider.list_packages()) == 7
    (exchange,) = sandbox.recorder.for_provider("stackone")
    assert dict(exchange.query) == {"page_size": "50"}


async def test_create_order_then_ground_truth_and_legacy_get(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    package = (await provider.list_packages())[0]
    wanted = new_order(package.remote_id)
    created = await provider.create_order(wanted)
    assert created.test_url is not None
    assert created.remote_id in created.test_url
    order = created.order
    assert order is not None
    assert (order.status, order.provider_status, order.created_at) == (OrderStatus.OPEN, None, None)
    assert order.candidate is not None
    assert order.candidate.emails == ("elif@example.com",)
    assert order.job == wanted.job
    assert order.requester == wanted.requester
    assert order.application == wanted.application
    assert order.package == wanted.package
    truth = await sandbox.control("GET", "orders?provider=stackone")
    assert truth["orders"] == [
        {"provider": "stackone", "account": provider.config.account, "id": created.remote_id,
         "status": None}
    ]  # fmt: skip
    read = await provider.get_orders([created.remote_id])
    again = read[created.remote_id]
    # The legacy GET has no test_url, and its raw body also carries the ids.
    same = {"test_url", "raw"}
    assert again.model_dump(exclude=same) == order.model_dump(exclude=same)
    post, get_order, _ = sandbox.recorder.for_provider("stackone")[1:]
    sent = json.loads(post.body)
    served = json.loads(get_order.response_body)["data"]
    assert {k: v for k, v in served.items() if k not in ("id", "remote_id")} == sent


async def test_submit_result_lands_as_strings_and_reads_back(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    package = (await provider.list_packages())[0]
    created = await provider.create_order(new_order(package.remote_id))
    await provider.submit_result(created.remote_id, RESULT)
    patch = sandbox.recorder.for_provider("stackone")[-1]
    sent = json.loads(patch.body)
    assert sent["score"] == {"value": "87.5", "min": "0", "max": "100"}
    assert sent["result"] == {"value": "completed"}
    assert sent["submission_date"] == "2026-01-05T10:00:00.000Z"
    truth = await sandbox.control("GET", "orders?provider=stackone")
    assert truth["orders"][0]["status"] == "completed"
    order = (await provider.get_orders([created.remote_id]))[created.remote_id]
    assert (order.status, order.provider_status) == (OrderStatus.COMPLETED, "completed")
    assert order.result is not None
    assert (order.result.score, order.result.max_score) == (87.5, 100.0)
    assert order.result.completed_at == RESULT.completed_at
    assert order.result.url == RESULT.url


async def test_statuses_and_mime_types_in_source_value_read_back(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    # given: orders on a legacy connection, results written with statuses the 2025-02
    # enum lacks (served in source_value) and attachments with MIME types
    provider = await sandbox_provider(sandbox, make_provider)
    package = (await provider.list_packages())[0]
    attachments = (
        Attachment(url="https://files.example.com/report.pdf", content_type="application/pdf"),
        Attachment(url="https://files.example.com/run.json", content_type="application/json"),
        Attachment(url="https://files.example.com/notes.txt", content_type="text/plain"),
    )
    written: dict[str, OrderStatus] = {}
    for status in (OrderStatus.IN_PROGRESS, OrderStatus.OPEN, OrderStatus.REJECTED):
        created = await provider.create_order(new_order(package.remote_id))
        result = RESULT.model_copy(update={"status": status, "attachments": attachments})
        assert (await provider.submit_result(created.remote_id, result))[0] is status
        written[created.remote_id] = status

    # when
    read = await provider.get_orders(list(written))

    # then: each status reads back as written, with StackOne's word beside it
    assert {i: (o.status, o.provider_status) for i, o in read.items()} == {
        i: (s, {"IN_PROGRESS": "in_progress", "OPEN": "initiated", "REJECTED": "REJECTED"}[s])
        for i, s in written.items()
    }
    # and the MIME types come back as sent
    for order in read.values():
        assert order.result is not None
        assert [a.content_type for a in order.result.attachments] == [
            "application/pdf", "application/json", "text/plain"
        ]  # fmt: skip


async def test_the_current_api_version_never_calls_the_order_reads(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    # given: a connection speaking the current version, with an order created
    provider = await sandbox_provider(sandbox, make_provider, api_version=CURRENT_API_VERSION)
    assert provider.api_version == CURRENT_API_VERSION
    package = (await provider.list_packages())[0]
    created = await provider.create_order(new_order(package.remote_id))
    before = counts(await sandbox.stats())

    # when / then: reading it is unsupported, says why and names the connection
    assert not provider.supports(Capability.GET_ORDERS)
    with pytest.raises(UnsupportedOperationError) as caught:
        await provider.get_orders([created.remote_id])
    assert "conn-stackone" in str(caught.value)
    assert LEGACY_API_VERSION in str(caught.value)
    # and no request went out
    assert counts(await sandbox.stats()) == before
    assert provider.supports(Capability.SUBMIT_RESULT)


async def test_the_default_api_version_is_the_current_one() -> None:
    config = ConnectionConfig(
        id="c", provider=ProviderName.STACKONE, base_url="http://127.0.0.1:9", api_key="k",
        account="a",
    )  # fmt: skip
    provider = StackOneProvider(config)
    try:
        assert provider.api_version == CURRENT_API_VERSION
        assert not provider.supports(Capability.GET_ORDERS)
        with pytest.raises(ValueError, match="api_version"):
            StackOneProvider(config.model_copy(update={"api_version": "2024-01-01"}))
    finally:
        await provider.close()


async def test_unknown_order(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    with pytest.raises(ProviderNotFoundError) as caught:
        await provider.submit_result("no-such-order", RESULT)
    assert caught.value.status == 404
    assert "no-such-order" in caught.value.message
    assert await provider.get_orders(["no-such-order"]) == {}


# --- every StackOne error becomes a typed error ----------------------------------------------


async def test_wrong_key_is_an_auth_error_without_the_key(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider, api_key="v1.eu1.not-the-key")
    with pytest.raises(ProviderAuthError) as caught:
        await provider.list_packages()
    error = caught.value
    assert (error.status, error.code, error.message) == (
        401,
        "PROVIDER_AUTH_FAILED",
        "Unauthorized",
    )
    assert "not-the-key" not in str(error) + repr(error)
    assert counts(await sandbox.stats()) == {f"GET {PREFIX}/packages": 1}  # never retried


async def test_unknown_account_is_an_auth_error(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider, account="00000000000000000000")
    with pytest.raises(ProviderAuthError) as caught:
        await provider.list_packages()
    assert caught.value.status == 403


async def test_missing_account_header_is_a_400_in_stackones_body(sandbox: Sandbox) -> None:
    account = (await sandbox.accounts("stackone"))[0]
    headers = {"Authorization": account["headers"]["Authorization"]}
    url = sandbox.base("stackone") + PREFIX + "/packages"
    async with sandbox.session.get(url, headers=headers) as response:
        body = await response.json()
    assert response.status == 400
    assert body["statusCode"] == 400
    assert set(body) == {"statusCode", "message", "timestamp"}


async def test_refused_input_is_an_input_error(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    with pytest.raises(ProviderInputError) as caught:
        await provider.create_order(new_order("pkg_not_offered"))
    assert caught.value.status == 422
    too_big = await sandbox_provider(sandbox, make_provider, page_size=500)
    with pytest.raises(ProviderInputError) as caught:
        await too_big.list_packages()
    assert caught.value.status == 400
    assert "page_size" in caught.value.message


async def test_rate_limit_is_retried_then_raised(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [429], "retry_after": 0}})
    with pytest.raises(ProviderRateLimitedError) as caught:
        await provider.list_packages()
    assert (caught.value.status, caught.value.retry_after) == (429, 0.0)
    assert counts(await sandbox.stats()) == {f"GET {PREFIX}/packages": ATTEMPTS}


async def test_408_waits_out_retry_after(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [408], "retry_after": 0.25}})
    with pytest.raises(ProviderUnavailableError) as caught:
        await provider.list_packages()
    assert caught.value.status == 408
    assert provider.waits == [0.25] * (ATTEMPTS - 1)  # type: ignore[attr-defined]
    assert counts(await sandbox.stats()) == {f"GET {PREFIX}/packages": ATTEMPTS}


async def test_create_is_not_retried_on_503_but_is_on_429(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    package = (await provider.list_packages())[0]
    await sandbox.control("POST", "reset")
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [503]}})
    with pytest.raises(ProviderUnavailableError):
        await provider.create_order(new_order(package.remote_id))
    assert counts(await sandbox.stats()) == {f"POST {PREFIX}/orders": 1}
    await sandbox.control("POST", "reset")
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [429], "retry_after": 0}})
    with pytest.raises(ProviderRateLimitedError):
        await provider.create_order(new_order(package.remote_id))
    assert counts(await sandbox.stats()) == {f"POST {PREFIX}/orders": ATTEMPTS}


async def test_submit_result_is_retried_on_503(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [503]}})
    with pytest.raises(ProviderUnavailableError):
        await provider.submit_result("any", RESULT)
    assert counts(await sandbox.stats()) == {f"PATCH {PREFIX}/orders/{{id}}/result": ATTEMPTS}


# --- bad provider answers (a server of our own) ----------------------------------------------

Responder = Callable[[web.Request], web.Response]


@pytest.fixture
async def fake_stackone() -> AsyncIterator[Callable[[dict[str, Responder]], Any]]:
    """Start a server answering ``{"METHOD /path": responder}``; returns its base URL."""
    servers: list[TestServer] = []

    async def start(routes: dict[str, Responder]) -> str:
        app = web.Application()
        for key, responder in routes.items():
            method, path = key.split(" ", 1)

            async def handler(
                request: web.Request, responder: Responder = responder
            ) -> web.Response:
                return responder(request)

            app.router.add_route(method, path, handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


def _json(payload: Any, status: int = 200) -> Responder:
    return lambda _request: web.json_response(payload, status=status)


async def test_wrong_shape_and_non_json_are_response_errors(
    fake_stackone: Any, make_provider: MakeProvider
) -> None:
    cases: list[tuple[str, Responder]] = [
        (f"GET {PREFIX}/packages", _json({"data": "not a list"})),
        (f"GET {PREFIX}/packages", _json({"data": [{"id": 5}]})),
        (f"GET {PREFIX}/packages", _json(None)),
        (f"GET {PREFIX}/packages", lambda _r: web.Response(text="<html>ok</html>")),
    ]
    for route, responder in cases:
        provider = make_provider(await fake_stackone({route: responder}))
        with pytest.raises(ProviderResponseError) as caught:
            await provider.list_packages()
        assert caught.value.code == "PROVIDER_BAD_RESPONSE"
    provider = make_provider(
        await fake_stackone({f"POST {PREFIX}/orders": _json({"test_url": "t"})})
    )
    with pytest.raises(ProviderResponseError, match="may exist at StackOne"):
        await provider.create_order(new_order("p"))


async def test_a_package_without_any_id_is_left_out_with_a_warning(
    fake_stackone: Any, make_provider: MakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a page where one package has neither id nor remote_id (the spec allows it)
    page = {"data": [{"id": "p1", "name": "One"}, {"name": "Nameless"}, {"remote_id": "r3"}]}
    provider = make_provider(await fake_stackone({f"GET {PREFIX}/packages": _json(page)}))

    # when
    with caplog.at_level("WARNING", logger="ordergraph.providers.stackone"):
        packages = await provider.list_packages()

    # then: the others stand; the one left out is logged, naming the connection
    assert [p.remote_id for p in packages] == ["p1", "r3"]
    (record,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "conn-stackone" in record.getMessage()
    assert "Nameless" in record.getMessage()


async def test_a_create_answered_without_an_id_is_sent_once_and_says_the_order_may_exist(
    fake_stackone: Any, make_provider: MakeProvider
) -> None:
    # given: StackOne answers 200 to the POST but with no id
    posts: list[str] = []

    def answer(request: web.Request) -> web.Response:
        posts.append(request.path)
        return web.json_response({"id": None, "remote_id": None, "test_url": "https://t/1"})

    provider = make_provider(await fake_stackone({f"POST {PREFIX}/orders": answer}))

    # when / then: a bad response (not "unavailable", which invites a retry), sent once
    with pytest.raises(ProviderResponseError) as caught:
        await provider.create_order(new_order("p"))
    assert caught.value.code == "PROVIDER_BAD_RESPONSE"
    assert "may exist at StackOne" in str(caught.value)
    assert posts == [f"{PREFIX}/orders"]


async def test_unknown_result_value_is_unknown_with_raw_kept(
    fake_stackone: Any, make_provider: MakeProvider
) -> None:
    order = {"data": {"id": "o1", "candidate": {"id": "c1"}, "package": {"id": "p1"}}}
    result = {"data": {"id": "o1", "result": {"value": "graded", "source_value": "Graded"}}}
    base = await fake_stackone(
        {f"GET {PREFIX}/orders/o1": _json(order), f"GET {PREFIX}/orders/o1/results": _json(result)}
    )
    read = await make_provider(base).get_orders(["o1", "o1"])
    assert list(read) == ["o1"]
    assert (read["o1"].status, read["o1"].provider_status) == (OrderStatus.UNKNOWN, "graded")
    assert read["o1"].raw == {"id": "o1", "candidate": {"id": "c1"}, "package": {"id": "p1"}}


async def test_results_404_means_no_result_yet(
    fake_stackone: Any, make_provider: MakeProvider
) -> None:
    missing = {"statusCode": 404, "message": "Not Found", "timestamp": "2026-01-01T00:00:00.000Z"}
    base = await fake_stackone(
        {
            f"GET {PREFIX}/orders/o1": _json({"data": {"id": "o1"}}),
            f"GET {PREFIX}/orders/o1/results": _json(missing, 404),
        }
    )
    read = await make_provider(base).get_orders(["o1"])
    assert (read["o1"].status, read["o1"].result) == (OrderStatus.OPEN, None)


async def test_error_bodies_not_in_stackones_shape_still_give_typed_errors(
    fake_stackone: Any, make_provider: MakeProvider
) -> None:
    base = await fake_stackone(
        {
            f"GET {PREFIX}/packages": lambda _r: web.Response(status=409, text="conflict"),
            f"POST {PREFIX}/orders": _json({"error": "nope"}, 412),
        }
    )
    provider = make_provider(base)
    with pytest.raises(ProviderInputError) as caught:
        await provider.list_packages()
    assert caught.value.message == "stackone answered HTTP 409"
    with pytest.raises(ProviderInputError) as caught:
        await provider.create_order(new_order("p"))
    assert caught.value.status == 412


async def test_a_429_then_success_recovers(fake_stackone: Any, make_provider: MakeProvider) -> None:
    hits: list[int] = []

    def flaky(_request: web.Request) -> web.Response:
        hits.append(1)
        if len(hits) == 1:
            return web.json_response(
                {
                    "statusCode": 429,
                    "message": "Too many requests",
                    "timestamp": "2026-01-01T00:00:00Z",
                },
                status=429,
            )
        return web.json_response({"data": [{"id": "p1", "name": "SQL"}]})

    provider = make_provider(await fake_stackone({f"GET {PREFIX}/packages": flaky}))
    assert [p.remote_id for p in await provider.list_packages()] == ["p1"]
    assert len(hits) == 2


# --- the contract ------------------------------------------------------------------------------


async def test_everything_the_adapter_sends_and_the_simulator_answers_fits_the_spec(
    sandbox: Sandbox, make_provider: MakeProvider
) -> None:
    provider = await sandbox_provider(sandbox, make_provider, page_size=3)
    packages = await provider.list_packages()
    created = await provider.create_order(new_order(packages[1].remote_id))
    await provider.submit_result(created.remote_id, RESULT)
    await provider.submit_result(
        created.remote_id,
        ResultSubmission(status=OrderStatus.REJECTED, url="https://vendor.example.com/r"),
    )
    assert created.remote_id in await provider.get_orders([created.remote_id])
    wrong_key = await sandbox_provider(sandbox, make_provider, api_key="wrong")
    wrong_account = await sandbox_provider(sandbox, make_provider, account="0")
    too_big = await sandbox_provider(sandbox, make_provider, page_size=1000)
    attempts: list[Callable[[], Awaitable[Any]]] = [
        wrong_key.list_packages,
        lambda: wrong_account.create_order(new_order("x")),
        too_big.list_packages,
        lambda: provider.create_order(new_order("pkg_not_offered")),
        lambda: provider.submit_result("no-such-order", RESULT),
    ]
    failures: list[type[ProviderError]] = []
    for attempt in attempts:
        with pytest.raises(ProviderError) as caught:
            await attempt()
        failures.append(type(caught.value))
    assert failures == [
        ProviderAuthError,
        ProviderAuthError,
        ProviderInputError,
        ProviderInputError,
        ProviderNotFoundError,
    ]
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [408], "retry_after": 0}})
    with pytest.raises(ProviderUnavailableError):
        await provider.list_packages()
    await sandbox.faults({"stackone": {"error_rate": 1.0, "statuses": [429, 500, 502]}})
    with pytest.raises(ProviderError):
        await provider.list_packages()
    checked = sandbox.recorder.validate_all("stackone")
    assert checked == 19  # 8 operations, 5 refusals, 3 + 3 injected-fault attempts


async def test_sessions_close(sandbox: Sandbox, make_provider: MakeProvider) -> None:
    provider = await sandbox_provider(sandbox, make_provider)
    await provider.list_packages()
    session = provider.http.session
    assert isinstance(session, aiohttp.ClientSession)
    await provider.close()
    assert session.closed


def _settings_with(connection: dict[str, Any]) -> Any:
    return load_settings(
        environ={},
        overrides={
            "store": {"cursor_secret": "s" * 32},
            "tenants": [{"name": "acme"}],
            "connections": [
                {"id": "c", "tenant": "acme", "base_url": "https://api.example.com",
                 "api_key": "k", "account": "a", **connection}
            ],
        },
    )  # fmt: skip


def test_the_api_version_setting_reaches_the_adapter_and_is_checked() -> None:
    legacy = _settings_with({"provider": "stackone", "api_version": LEGACY_API_VERSION})
    assert legacy.connections[0].adapter_config().api_version == LEGACY_API_VERSION
    default = _settings_with({"provider": "stackone"})
    assert default.connections[0].adapter_config().api_version is None
    with pytest.raises(ConfigError, match="api_version must be one of"):
        _settings_with({"provider": "stackone", "api_version": "2024-01-01"})
    with pytest.raises(ConfigError, match="api_version is a StackOne setting"):
        _settings_with({"provider": "kombo", "api_version": LEGACY_API_VERSION})
