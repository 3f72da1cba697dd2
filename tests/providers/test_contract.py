"""The adapter contract: what every plug-in's adapter promises, run over the registry.

Each adapter speaks to its real simulator (ordergraph/sandbox) over loopback HTTP, for
every API version its plug-in declares. Nothing here names a provider: a new plug-in
in ``PLUGINS`` is held to the same promises without a line added.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ordergraph.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderUnavailableError,
    UnsupportedOperationError,
    WebhookError,
)
from ordergraph.models import (
    Candidate,
    NewOrder,
    Order,
    OrderStatus,
    PackageRef,
    ProviderName,
    ResultSubmission,
)
from ordergraph.providers.base import BaseProvider, Capability, ConnectionConfig, WebhookDelivery
from ordergraph.providers.plugin import (
    Polling,
    ProviderPlugin,
    RawBodySignature,
    ReadCost,
    WebhookRoute,
)
from ordergraph.providers.registry import PLUGINS, capability_table, plugin_of
from ordergraph.sandbox.app import SIMULATORS_KEY, create_sandbox_app
from ordergraph.sandbox.core import SandboxContext

SECRET_KEY = "contract-secret-key-0123456789"


def _variants() -> list[Any]:
    """(plug-in, API version) pairs: every version a plug-in declares, else its one."""
    return [
        pytest.param(plugin, version, id=f"{plugin.name.value}-{version or 'default'}")
        for plugin in PLUGINS
        for version in (plugin.api_versions or (None,))
    ]


VARIANTS = _variants()


@dataclass
class World:
    """The running sandbox, its control API and the accounts each simulator offers."""

    url: str
    context: SandboxContext
    bases: dict[str, str]
    session: aiohttp.ClientSession

    async def control(self, method: str, path: str, payload: Any = None) -> Any:
        async with self.session.request(
            method, f"{self.url}/_sandbox/{path}", json=payload
        ) as response:
            body = await response.json()
            assert response.status < 300, (response.status, body)
            return body

    async def account(self, plugin: ProviderPlugin) -> dict[str, Any]:
        listed = (await self.control("GET", "accounts"))["accounts"]
        mine: dict[str, Any] = next(a for a in listed if a["provider"] == plugin.name.value)
        return mine

    async def truth(self, plugin: ProviderPlugin, account: str) -> list[dict[str, Any]]:
        query = f"orders?provider={plugin.name.value}&account={account}"
        orders: list[dict[str, Any]] = (await self.control("GET", query))["orders"]
        return orders

    async def requests(self, plugin: ProviderPlugin) -> int:
        stats = await self.control("GET", "stats")
        return sum(stats["requests"].get(plugin.name.value, {}).values())


@pytest.fixture
async def world() -> AsyncIterator[World]:
    context = SandboxContext(seed=11, orders_per_account=30)
    app = create_sandbox_app(context)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    bases = {name: url + sim.mount for name, sim in app[SIMULATORS_KEY].items()}
    async with aiohttp.ClientSession() as session:
        yield World(url=url, context=context, bases=bases, session=session)
    await server.close()


def _api_key(headers: dict[str, str]) -> str:
    """The key inside the account's ``Authorization`` header, whatever the scheme (the
    adapter is then checked to send exactly the headers the account holds)."""
    scheme, _, credentials = headers["Authorization"].partition(" ")
    if scheme == "Basic":
        return base64.b64decode(credentials).decode().partition(":")[0]
    return credentials


MakeAdapter = Callable[..., Awaitable[BaseProvider]]


@pytest.fixture
async def make_adapter(world: World) -> AsyncIterator[MakeAdapter]:
    made: list[BaseProvider] = []

    async def make(
        plugin: ProviderPlugin, version: str | None, *, api_key: str | None = None
    ) -> BaseProvider:
        account = await world.account(plugin)
        config = ConnectionConfig(
            id=f"contract-{plugin.name.value}",
            provider=plugin.name,
            base_url=world.bases[plugin.name.value],
            api_key=api_key or _api_key(account["headers"]),
            account=account["account"],
            webhook_secret=account["webhook_secret"] or None,
            api_version=version,
            # One attempt: a fault must surface as its error, not be retried away.
            max_attempts=1,
            read_timeout=5.0,
        )
        adapter = plugin.adapter(config)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.close()


# --- the declarations -------------------------------------------------------------------


def test_every_provider_has_exactly_one_plugin() -> None:
    assert sorted(p.name for p in PLUGINS) == sorted(ProviderName)
    for name in ProviderName:
        assert plugin_of(name).adapter.name is name
    assert capability_table() == {p.name: p.adapter.capabilities for p in PLUGINS}


def test_webhook_routes_are_distinct_and_name_their_connection_or_verify_the_raw_body() -> None:
    routes = [p.webhooks for p in PLUGINS if p.webhooks is not None]
    assert len({r.route for r in routes}) == len(routes)
    for route in routes:
        assert route.route.startswith("/webhooks/")
        assert route.per_connection or route.raw_signature is not None


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name.value)
def test_declarations_agree_with_capabilities(plugin: ProviderPlugin) -> None:
    capabilities = plugin.capabilities
    assert (plugin.webhooks is not None) is (Capability.RECEIVE_WEBHOOKS in capabilities)
    if plugin.polling is not None:
        assert {Capability.LIST_ORDERS, Capability.GET_ORDERS} <= capabilities
        assert plugin.polling.interval > 0
        assert plugin.polling.id_batch >= 1
    if plugin.registers_webhook:
        # A registered hook URL names its connection: the vendor calls it per connection.
        assert plugin.webhooks is not None
        assert plugin.webhooks.per_connection
    assert plugin.read_cost.calls >= 1
    assert plugin.read_cost.ids_per_call >= 1
    assert plugin.label
    if plugin.default_api_version is not None:
        assert plugin.default_api_version in plugin.api_versions


def test_an_inconsistent_declaration_is_refused() -> None:
    base = next(p for p in PLUGINS if p.webhooks is None)
    pushing = next(p for p in PLUGINS if p.webhooks is not None)
    with pytest.raises(ValueError, match="webhook"):
        ProviderPlugin(
            name=base.name,
            label=base.label,
            adapter=base.adapter,
            read_cost=ReadCost(1, 1),
            webhooks=WebhookRoute(route="/webhooks/x/{connection}"),
        )
    with pytest.raises(ValueError, match="webhook"):
        ProviderPlugin(
            name=pushing.name,
            label=pushing.label,
            adapter=pushing.adapter,
            read_cost=ReadCost(1, 1),
        )
    with pytest.raises(ValueError, match="poll"):
        ProviderPlugin(
            name=base.name,
            label=base.label,
            adapter=base.adapter,
            read_cost=ReadCost(1, 1),
            polling=Polling(interval=1.0, id_batch=1),
        )
    with pytest.raises(ValueError, match="signature"):
        WebhookRoute(route="/webhooks/shared")
    other = next(p for p in PLUGINS if p.name is not base.name)
    with pytest.raises(ValueError, match="serves"):
        ProviderPlugin(name=other.name, label="x", adapter=base.adapter, read_cost=ReadCost(1, 1))
    shared = RawBodySignature(header="X", matches=lambda s, b, g: False, account_of=lambda b: None)
    assert not WebhookRoute(route="/webhooks/shared", raw_signature=shared).per_connection


def test_read_cost_counts_batches() -> None:
    assert ReadCost(calls=1, ids_per_call=250).of(251) == 2
    assert ReadCost(calls=2, ids_per_call=1).of(3) == 6
    assert ReadCost(calls=1, ids_per_call=250).of(0) == 0


# --- what an adapter promises over HTTP --------------------------------------------------


@pytest.mark.parametrize(("plugin", "version"), VARIANTS)
async def test_sends_the_accounts_headers_and_keeps_secrets_out_of_repr(
    world: World, make_adapter: MakeAdapter, plugin: ProviderPlugin, version: str | None
) -> None:
    adapter = await make_adapter(plugin, version)
    account = await world.account(plugin)
    sent = {name: value.get_secret_value() for name, value in adapter.auth_headers().items()}
    assert sent == account["headers"]
    text = repr(adapter) + str(adapter) + repr(adapter.config)
    for secret in (adapter.config.api_key, adapter.config.webhook_secret):
        if secret is not None:
            assert secret.get_secret_value() not in text


@pytest.mark.parametrize(("plugin", "version"), VARIANTS)
async def test_get_orders_returns_known_ids_and_nothing_for_unknown_ones(
    world: World, make_adapter: MakeAdapter, plugin: ProviderPlugin, version: str | None
) -> None:
    adapter = await make_adapter(plugin, version)
    account = adapter.config.account
    if not adapter.supports(Capability.GET_ORDERS):
        before = await world.requests(plugin)
        with pytest.raises(UnsupportedOperationError) as caught:
            await adapter.get_orders(["anything"])
        assert caught.value.connection_id == adapter.config.id
        assert await world.requests(plugin) == before  # refused without a request
        return
    await world.control(
        "POST", "orders", {"provider": plugin.name.value, "account": account, "count": 2}
    )
    known = [o["id"] for o in await world.truth(plugin, account)][:3]
    assert known
    found = await adapter.get_orders([*known, "no-such-order-4711"])
    assert set(found) == set(known)
    for remote_id, order in found.items():
        assert isinstance(order, Order)
        assert order.remote_id == remote_id
        assert order.provider is plugin.name
    assert await adapter.get_orders(["no-such-order-4711"]) == {}


@pytest.mark.parametrize(("plugin", "version"), VARIANTS)
async def test_list_orders_pages_through_every_order_once(
    world: World, make_adapter: MakeAdapter, plugin: ProviderPlugin, version: str | None
) -> None:
    adapter = await make_adapter(plugin, version)
    if not adapter.supports(Capability.LIST_ORDERS):
        with pytest.raises(UnsupportedOperationError):
            await adapter.list_orders()
        return
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await adapter.list_orders(cursor=cursor, page_size=7)
        assert len(page.items) <= 7
        seen.extend(order.remote_id for order in page.items)
        pages += 1
        cursor = page.next_token
        if cursor is None:
            break
    assert pages > 1
    assert len(seen) == len(set(seen))
    truth = {o["id"] for o in await world.truth(plugin, adapter.config.account)}
    assert set(seen) == truth
    assert {order.remote_id async for order in adapter.iter_orders()} == truth
    open_only = [o async for o in adapter.iter_orders(statuses=[OrderStatus.OPEN])]
    assert all(order.status is OrderStatus.OPEN for order in open_only)


@pytest.mark.parametrize(("plugin", "version"), VARIANTS)
async def test_list_packages_when_declared(
    make_adapter: MakeAdapter, plugin: ProviderPlugin, version: str | None
) -> None:
    adapter = await make_adapter(plugin, version)
    if not adapter.supports(Capability.LIST_PACKAGES):
        with pytest.raises(UnsupportedOperationError):
            await adapter.list_packages()
        return
    packages = await adapter.list_packages()
    assert packages
    assert len({p.remote_id for p in packages}) == len(packages)


def _operations(adapter: BaseProvider) -> dict[Capability, Callable[[], Awaitable[Any]]]:
    """One call per capability (each is an operation of the adapter)."""
    order = NewOrder(package=PackageRef(remote_id="pkg"), candidate=Candidate(emails=("a@b.c",)))
    result = ResultSubmission(status=OrderStatus.COMPLETED, url="https://example.com/r")

    async def webhook() -> WebhookDelivery:
        return adapter.parse_webhook({}, b"{}")

    return {
        Capability.LIST_ORDERS: lambda: adapter.list_orders(),
        Capability.GET_ORDERS: lambda: adapter.get_orders(["x"]),
        Capability.CREATE_ORDER: lambda: adapter.create_order(order),
        Capability.SUBMIT_RESULT: lambda: adapter.submit_result("x", result),
        Capability.LIST_PACKAGES: lambda: adapter.list_packages(),
        Capability.PUBLISH_PACKAGES: lambda: adapter.publish_packages([]),
        Capability.RECEIVE_WEBHOOKS: webhook,
        Capability.REGISTER_WEBHOOK: lambda: adapter.register_webhook("https://example.com/h"),
    }


@pytest.mark.parametrize(("plugin", "version"), VARIANTS)
async def test_an_undeclared_operation_is_refused_without_a_request(
    world: World, make_adapter: MakeAdapter, plugin: ProviderPlugin, version: str | None
) -> None:
    adapter = await make_adapter(plugin, version)
    operations = _operations(adapter)
    assert set(operations) == set(Capability)
    before = await world.requests(plugin)
    for capability, call in operations.items():
        if adapter.supports(capability):
            continue
        with pytest.raises(UnsupportedOperationError) as caught:
            await call()
        assert caught.value.provider == plugin.name.value
    assert await world.requests(plugin) == before


@pytest.mark.parametrize(("plugin", "version"), VARIANTS)
async def test_a_wrong_key_is_an_auth_error_that_does_not_carry_the_key(
    make_adapter: MakeAdapter, plugin: ProviderPlugin, version: str | None
) -> None:
    adapter = await make_adapter(plugin, version, api_key=SECRET_KEY)
    with pytest.raises(ProviderAuthError) as caught:
        await adapter.list_packages()
    error = caught.value
    assert error.provider == plugin.name.value
    assert error.connection_id == adapter.config.id
    assert SECRET_KEY not in str(error) + repr(error) + json.dumps(error.__dict__, default=str)


@pytest.mark.parametrize(("plugin", "version"), VARIANTS)
@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, ProviderRateLimitedError), (503, ProviderUnavailableError)],
)
async def test_faults_map_to_the_provider_error_tree(
    world: World,
    make_adapter: MakeAdapter,
    plugin: ProviderPlugin,
    version: str | None,
    status: int,
    error_type: type[ProviderError],
) -> None:
    adapter = await make_adapter(plugin, version)
    await world.control(
        "POST", "faults", {plugin.name.value: {"error_rate": 1.0, "statuses": [status]}}
    )
    with pytest.raises(error_type) as caught:
        await adapter.list_packages()
    assert caught.value.status == status
    assert adapter.config.api_key.get_secret_value() not in str(caught.value)


# --- webhooks, as the vendor's simulator sends them ---------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[Received], asyncio.Event]]:
    """A local endpoint taking whatever the simulators deliver."""
    got: list[Received] = []
    arrived = asyncio.Event()

    async def take(request: web.Request) -> web.Response:
        got.append(Received(dict(request.headers), await request.read()))
        arrived.set()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", take)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), got, arrived
    await server.close()


async def _deliveries_of(
    got: list[Received], arrived: asyncio.Event, wanted: set[str], adapter: BaseProvider
) -> list[tuple[Received, WebhookDelivery]]:
    """Deliveries (parsed) until every ``wanted`` order id arrived."""
    taken: list[tuple[Received, WebhookDelivery]] = []
    async with asyncio.timeout(10):
        while True:
            for received in got[len(taken) :]:
                taken.append((received, adapter.parse_webhook(received.headers, received.body)))
            if wanted <= {o.remote_id for _, d in taken for o in d.orders}:
                return taken
            arrived.clear()
            await arrived.wait()


@pytest.mark.parametrize("plugin", [p for p in PLUGINS if p.webhooks], ids=lambda p: p.name.value)
async def test_webhooks_verify_map_and_route_as_declared(
    world: World,
    make_adapter: MakeAdapter,
    receiver: tuple[str, list[Received], asyncio.Event],
    plugin: ProviderPlugin,
) -> None:
    route = plugin.webhooks
    assert route is not None
    url, got, arrived = receiver
    adapter = await make_adapter(plugin, plugin.default_api_version)
    hook_url = url + route.path_for(adapter.config.id)
    if plugin.registers_webhook:
        assert await adapter.register_webhook(hook_url, include_all=False)
    else:
        world.context.webhook_targets[plugin.name.value] = hook_url
    account = adapter.config.account
    created = await world.control(
        "POST", "orders", {"provider": plugin.name.value, "account": account, "count": 1}
    )
    wanted = {o["id"] for o in created["orders"]}
    taken = await _deliveries_of(got, arrived, wanted, adapter)
    received, delivery = next((r, d) for r, d in taken if wanted & {o.remote_id for o in d.orders})
    assert delivery.provider is plugin.name
    assert delivery.event_id or delivery.nonce  # a key to recognise a re-send by
    assert all(order.provider is plugin.name for order in delivery.orders)

    # A body whose content changed after signing is refused, whatever the scheme
    # signs (raw bytes or parsed data): here the order's id.
    remote_id = next(iter(wanted & {o.remote_id for o in delivery.orders}))
    tampered = received.body.replace(remote_id.encode(), b"x" + remote_id.encode(), 1)
    assert tampered != received.body
    with pytest.raises(WebhookError):
        adapter.parse_webhook(received.headers, tampered)

    scheme = route.raw_signature
    if scheme is not None:
        # A shared route: verified on the raw bytes with the secret, then routed.
        secret = adapter.config.webhook_secret
        assert secret is not None
        signature = next(
            v for k, v in received.headers.items() if k.lower() == scheme.header.lower()
        )
        assert scheme.matches(secret.get_secret_value(), received.body, signature)
        assert not scheme.matches("another-secret", received.body, signature)
        assert not scheme.matches(secret.get_secret_value(), tampered, signature)
        assert scheme.account_of(received.body) == account


@pytest.mark.parametrize("plugin", [p for p in PLUGINS if p.webhooks], ids=lambda p: p.name.value)
async def test_a_webhook_without_a_secret_is_ours_to_fix(
    make_adapter: MakeAdapter, plugin: ProviderPlugin
) -> None:
    # The intake answers 503 (ours to fix) on a ConfigError, not 401 (the sender's).
    adapter = await make_adapter(plugin, plugin.default_api_version)
    bare = plugin.adapter(adapter.config.model_copy(update={"webhook_secret": None}))
    with pytest.raises(ConfigError):
        bare.parse_webhook({}, b'{"data": []}')
    await bare.close()
