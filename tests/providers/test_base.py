"""Paging helpers and BaseProvider's shared plumbing (with a tiny adapter of our own)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from pydantic import SecretStr

from ordergraph.errors import UnsupportedOperationError
from ordergraph.models import (
    Candidate,
    NewOrder,
    OrderStatus,
    Package,
    PackageRef,
    ProviderName,
    ResultSubmission,
)
from ordergraph.providers.base import (
    BaseProvider,
    Capability,
    ConnectionConfig,
    CursorPaginator,
    OffsetPaginator,
    Page,
    iterate_pages,
)

API_KEY = "sk_live_SECRET123"
WEBHOOK_SECRET = "whsec_HOOKSECRET456"


# --- iterate_pages -------------------------------------------------------------------


class Pages:
    """A scripted provider list: pages by token; records the tokens it was asked for."""

    def __init__(self, pages: Mapping[str | None, Page[int]]) -> None:
        self.pages = pages
        self.asked: list[str | None] = []

    async def fetch(self, token: str | None) -> Page[int]:
        self.asked.append(token)
        # A real API reads an empty cursor as "from the start".
        return self.pages[token or None]


async def collect(fetch: Callable[[str | None], Awaitable[Page[int]]], **kwargs: Any) -> list[int]:
    return [item async for item in iterate_pages(fetch, **kwargs)]


async def test_iterate_pages_stops_when_the_token_is_none() -> None:
    pages = Pages({None: Page([1, 2], "a"), "a": Page([3], None)})

    assert await collect(pages.fetch) == [1, 2, 3]
    assert pages.asked == [None, "a"]


async def test_iterate_pages_stops_at_a_repeated_token() -> None:
    # given a provider whose third page points back at the second
    pages = Pages({None: Page([1], "a"), "a": Page([2], "b"), "b": Page([3], "a")})
    # when / then each page is read once
    assert await collect(pages.fetch) == [1, 2, 3]
    assert pages.asked == [None, "a", "b"]


async def test_iterate_pages_stops_at_an_empty_token() -> None:
    pages = Pages({None: Page([1], "a"), "a": Page([2], "")})

    assert await collect(pages.fetch) == [1, 2]
    assert pages.asked == [None, "a"]


async def test_iterate_pages_reads_at_most_max_pages() -> None:
    asked: list[str | None] = []

    async def endless(token: str | None) -> Page[int]:
        asked.append(token)
        number = int(token or "0")
        return Page([number], str(number + 1))

    assert await collect(endless, max_pages=3) == [0, 1, 2]
    assert asked == [None, "1", "2"]


async def test_iterate_pages_with_an_empty_first_page() -> None:
    pages = Pages({None: Page([], None)})

    assert await collect(pages.fetch) == []
    assert pages.asked == [None]


# --- paginators ----------------------------------------------------------------------


@pytest.mark.parametrize(("page_cursor", "expected"), [("c2", "c2"), ("", None), (None, None)])
def test_cursor_paginator_passes_the_cursor_on(
    page_cursor: str | None, expected: str | None
) -> None:
    assert CursorPaginator().next_token(page_cursor, "c1", 10) == expected


@pytest.mark.parametrize(
    ("current", "count", "expected"),
    [(None, 50, "50"), ("50", 50, "100"), ("100", 49, None), ("100", 0, None)],
)
def test_offset_paginator_advances_by_the_page_size(
    current: str | None, count: int, expected: str | None
) -> None:
    assert OffsetPaginator(limit=50).next_token("ignored", current, count) == expected


@pytest.mark.parametrize(
    ("total", "offsets"),
    [(120, [None, "50", "100"]), (100, [None, "50", "100"]), (0, [None])],
)
async def test_offset_paging_over_a_bare_array_reads_everything(
    total: int, offsets: list[str | None]
) -> None:
    # given a Unified-style list: bare arrays, a short page is the end
    items = list(range(total))
    paginator = OffsetPaginator(limit=50)
    asked: list[str | None] = []

    async def fetch(token: str | None) -> Page[int]:
        asked.append(token)
        start = int(token or "0")
        chunk = items[start : start + paginator.limit]
        return Page(chunk, paginator.next_token(None, token, len(chunk)))

    # when / then
    assert await collect(fetch) == items
    assert asked == offsets


# --- BaseProvider --------------------------------------------------------------------


class TinyProvider(BaseProvider):
    """An adapter that supports nothing but listing orders (in theory)."""

    name = ProviderName.KOMBO
    capabilities = frozenset({Capability.LIST_ORDERS})

    def auth_headers(self) -> dict[str, SecretStr]:
        return {"Authorization": SecretStr("Bearer " + self.config.api_key.get_secret_value())}


def make_config(provider: ProviderName = ProviderName.KOMBO, **changes: Any) -> ConnectionConfig:
    settings: dict[str, Any] = {
        "id": "conn-7",
        "provider": provider,
        "base_url": "http://127.0.0.1:1/v1/",
        "api_key": API_KEY,
        "account": "acct-1",
        "webhook_secret": WEBHOOK_SECRET,
    }
    settings.update(changes)
    return ConnectionConfig(**settings)


NEW_ORDER = NewOrder(package=PackageRef(remote_id="pkg-1"), candidate=Candidate(name="Ada"))
RESULT = ResultSubmission(status=OrderStatus.COMPLETED, url="https://results.example/1")

UNSUPPORTED: dict[str, Callable[[BaseProvider], Awaitable[object]]] = {
    "list orders": lambda p: p.list_orders(),
    "read orders": lambda p: p.get_orders(["o-1"]),
    "create orders": lambda p: p.create_order(NEW_ORDER),
    "take results": lambda p: p.submit_result("o-1", RESULT),
    "list packages": lambda p: p.list_packages(),
    "publish packages": lambda p: p.publish_packages([Package(remote_id="pkg-1")]),
    "register webhooks": lambda p: p.register_webhook("https://hooks.example/in"),
}


@pytest.mark.parametrize("operation", list(UNSUPPORTED))
async def test_operations_not_overridden_are_unsupported(operation: str) -> None:
    provider = TinyProvider(make_config())
    try:
        with pytest.raises(UnsupportedOperationError) as caught:
            await UNSUPPORTED[operation](provider)
    finally:
        await provider.close()

    error = caught.value
    assert error.code == "UNSUPPORTED_BY_PROVIDER"
    assert (error.provider, error.connection_id) == ("kombo", "conn-7")
    assert error.message == f"kombo has no operation to {operation}"
    assert not error.retriable


async def test_iter_orders_of_an_unsupported_list_raises() -> None:
    provider = TinyProvider(make_config())

    with pytest.raises(UnsupportedOperationError, match="kombo has no operation to list orders"):
        _ = [order async for order in provider.iter_orders()]


def test_parse_webhook_is_unsupported_by_default() -> None:
    provider = TinyProvider(make_config())

    with pytest.raises(UnsupportedOperationError) as caught:
        provider.parse_webhook({}, b"{}")

    assert caught.value.code == "UNSUPPORTED_BY_PROVIDER"
    assert caught.value.provider == "kombo"


def test_supports_follows_the_capabilities() -> None:
    provider = TinyProvider(make_config())

    assert provider.supports(Capability.LIST_ORDERS)
    assert not provider.supports(Capability.CREATE_ORDER)


def test_a_provider_refuses_a_connection_of_another_provider() -> None:
    with pytest.raises(ValueError, match="TinyProvider cannot serve a stackone connection"):
        TinyProvider(make_config(ProviderName.STACKONE))


def test_the_http_client_is_built_from_the_config() -> None:
    config = make_config(
        connect_timeout=2.0, read_timeout=9.0, max_attempts=6, max_retry_delay=12.0, pool_size=3
    )

    http = TinyProvider(config).http

    assert (http.provider, http.connection_id) == ("kombo", "conn-7")
    assert http.base_url == "http://127.0.0.1:1/v1"
    assert (http.timeouts.connect, http.timeouts.read) == (2.0, 9.0)
    assert http.retry.max_attempts == 6
    assert http.retry.max_total_delay == http.retry.max_retry_after == 12.0
    assert http.pool_size == 3
    assert http.auth_headers["Authorization"].get_secret_value() == f"Bearer {API_KEY}"


def test_secrets_stay_out_of_config_and_provider_text() -> None:
    config = make_config()
    provider = TinyProvider(config)

    texts = [
        repr(config),
        str(config),
        config.model_dump_json(),
        repr(config.model_dump()),
        repr(provider),
        repr(provider.http),
        repr(provider.http.auth_headers),
    ]

    for text in texts:
        assert API_KEY not in text
        assert WEBHOOK_SECRET not in text
    assert "acct-1" in repr(provider)
