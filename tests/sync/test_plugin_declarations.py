"""Sync and the settings act on what each plug-in declares: poll intervals, webhook
routes and registration URLs, API versions (over every plug-in in the registry)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ordergraph.errors import ConfigError
from ordergraph.providers.plugin import ProviderPlugin
from ordergraph.providers.registry import PLUGINS
from ordergraph.settings import Settings, load_settings
from ordergraph.sync.connections import ConnectionRegistry
from ordergraph.sync.poller import poll_interval
from ordergraph.sync.webhook_registration import hook_url_for


def _settings(connections: list[dict[str, Any]], sync: dict[str, Any] | None = None) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "store": {"cursor_secret": "s" * 32},
            "tenants": [{"name": "acme"}],
            "sync": sync or {},
            "connections": [
                {"tenant": "acme", "base_url": "https://api.example.com", "api_key": "k",
                 "account": "a", **connection}
                for connection in connections
            ],
        },
    )  # fmt: skip


def _one_each(**extra: Any) -> list[dict[str, Any]]:
    return [{"id": f"c-{p.name.value}", "provider": p.name.value, **extra} for p in PLUGINS]


@pytest.fixture
async def registry() -> AsyncIterator[ConnectionRegistry]:
    built = ConnectionRegistry.from_settings(_settings(_one_each()).connections)
    yield built
    await built.close()


POLLED = [p for p in PLUGINS if p.polling is not None]


def test_some_provider_is_polled_and_some_is_not() -> None:
    # Otherwise the tests below would prove nothing.
    assert POLLED
    assert len(POLLED) < len(PLUGINS)


@pytest.mark.parametrize("sync_key", ["poll_interval", "kombo_poll_interval"])
def test_the_sync_poll_interval_is_read_by_its_name_and_its_old_one(sync_key: str) -> None:
    settings = _settings([], {sync_key: 7.5})
    assert settings.sync.poll_interval == 7.5
    assert _settings([]).sync.poll_interval is None


async def test_poll_interval_connection_then_settings_then_plugin(
    registry: ConnectionRegistry,
) -> None:
    polled = registry.polled()
    assert {c.provider_name for c in polled} == {p.name for p in POLLED}
    for connection in polled:
        declared = connection.plugin.polling
        assert declared is not None
        assert poll_interval(connection, None) == declared.interval
        assert poll_interval(connection, 3.0) == 3.0
    own = ConnectionRegistry.from_settings(
        _settings([{"id": "own", "provider": POLLED[0].name.value, "poll_interval": 2.0}])
        .connections
    )  # fmt: skip
    try:
        (connection,) = own
        assert poll_interval(connection, 3.0) == 2.0
    finally:
        await own.close()
    for connection in registry:
        if connection.plugin.polling is None:
            with pytest.raises(ValueError, match="declares no polling"):
                poll_interval(connection, None)


async def test_hook_urls_follow_the_declared_routes(registry: ConnectionRegistry) -> None:
    for connection in registry:
        route = connection.plugin.webhooks
        if route is None:
            with pytest.raises(ValueError, match="no webhook route"):
                hook_url_for("https://og.example.com", connection)
            continue
        url = hook_url_for("https://og.example.com/", connection)
        assert url == "https://og.example.com" + route.path_for(connection.id)
        assert (connection.id in url) is route.per_connection


def _versioned() -> list[ProviderPlugin]:
    return [p for p in PLUGINS if p.api_versions]


def test_api_versions_are_checked_against_the_plugin() -> None:
    assert _versioned()
    for plugin in PLUGINS:
        for version in plugin.api_versions:
            (connection,) = _settings(
                [{"id": "c", "provider": plugin.name.value, "api_version": version}]
            ).connections
            assert connection.adapter_config().api_version == version
        with pytest.raises(ConfigError, match="api_version"):
            _settings([{"id": "c", "provider": plugin.name.value, "api_version": "1999-01-01"}])
