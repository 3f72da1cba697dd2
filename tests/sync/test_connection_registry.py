"""The live connection registry's per-tenant index, and the request limits' costs
worked out from it: both follow every change of the registry at once."""

from __future__ import annotations

from ordergraph.models import ProviderName
from ordergraph.schema.limits import tenant_providers
from ordergraph.settings import ConnectionSettings
from ordergraph.sync.connections import ConnectionRegistry


def _settings(connection_id: str, tenant: str, provider: ProviderName) -> ConnectionSettings:
    return ConnectionSettings(
        id=connection_id,
        tenant=tenant,
        provider=provider,
        base_url="http://127.0.0.1:9/api",
        api_key="not-a-real-key",  # type: ignore[arg-type]  # pydantic makes it a SecretStr
        account=f"account-{connection_id}",
    )


def _registry() -> ConnectionRegistry:
    return ConnectionRegistry.from_settings(
        [
            _settings("a-kombo", "acme", ProviderName.KOMBO),
            _settings("g-unified", "globex", ProviderName.UNIFIED),
            _settings("a-unified", "acme", ProviderName.UNIFIED),
        ]
    )


def _ids(registry: ConnectionRegistry, tenant: str) -> list[str]:
    return [c.id for c in registry.of_tenant(tenant)]


def test_of_tenant_lists_a_tenants_connections_in_registration_order() -> None:
    registry = _registry()
    assert _ids(registry, "acme") == ["a-kombo", "a-unified"]
    assert _ids(registry, "globex") == ["g-unified"]
    assert _ids(registry, "initech") == []
    # Unchanged registry, same answer object: what the cost memo keys on.
    assert registry.of_tenant("acme") is registry.of_tenant("acme")


def test_of_tenant_follows_every_replace() -> None:
    registry = _registry()
    before = registry.of_tenant("acme")
    added = ConnectionRegistry.from_settings(
        [_settings("a-stackone", "acme", ProviderName.STACKONE)]
    )
    connection = added.get("a-stackone")
    assert connection is not None
    registry.replace("a-stackone", connection)
    assert _ids(registry, "acme") == ["a-kombo", "a-unified", "a-stackone"]
    assert registry.of_tenant("acme") is not before
    registry.replace("a-kombo", None)
    assert _ids(registry, "acme") == ["a-unified", "a-stackone"]
    assert _ids(registry, "globex") == ["g-unified"]


def test_tenant_costs_are_worked_out_again_after_a_change() -> None:
    registry = _registry()
    first = tenant_providers(registry, "acme")
    assert {k: v.provider for k, v in first.items()} == {
        "a-kombo": "kombo",
        "a-unified": "unified",
    }
    assert tenant_providers(registry, "acme") is first  # kept while nothing changed
    registry.replace("a-kombo", None)
    after = tenant_providers(registry, "acme")
    assert {k: v.provider for k, v in after.items()} == {"a-unified": "unified"}
    assert tenant_providers(registry, "initech") == {}
