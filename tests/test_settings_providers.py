"""``[providers.<name>]`` sections: per-provider credentials and defaults that every
connection inherits, old-style connections unchanged, clear errors, no echoed secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ordergraph.errors import ConfigError
from ordergraph.logs import secrets_of
from ordergraph.models import ProviderName
from ordergraph.providers.base import ConnectionConfig
from ordergraph.settings import Settings, load_settings

TENANTS = [{"name": "acme"}, {"name": "globex"}]


def _load(
    providers: dict[str, Any] | None = None,
    *connections: dict[str, Any],
    environ: dict[str, str] | None = None,
) -> Settings:
    document: dict[str, Any] = {"tenants": TENANTS, "connections": list(connections)}
    if providers is not None:
        document["providers"] = providers
    return load_settings(environ=environ or {}, overrides=document)


def _connection(cid: str = "acme-kombo", **fields: Any) -> dict[str, Any]:
    return {"id": cid, "tenant": "acme", "provider": "kombo", "account": f"{cid}-acct", **fields}


def test_a_connection_with_its_own_credentials_loads_as_before() -> None:
    settings = _load(
        None,
        _connection(
            base_url="https://api.kombo.dev/v1",
            api_key="own-key",
            webhook_secret="own-hook",
            read_timeout=7,
        ),
    )

    assert settings.connections[0].adapter_config() == ConnectionConfig(
        id="acme-kombo",
        provider=ProviderName.KOMBO,
        base_url="https://api.kombo.dev/v1",
        api_key=SecretStr("own-key"),
        account="acme-kombo-acct",
        webhook_secret=SecretStr("own-hook"),
        read_timeout=7,
    )


def test_connections_take_what_they_leave_out_from_their_providers_section() -> None:
    settings = _load(
        {
            "kombo": {
                "base_url": "https://api.kombo.dev/v1",
                "api_key": "workspace-key",
                "webhook_secret": "workspace-hook",
                "max_attempts": 2,
            },
            "stackone": {
                "base_url": "https://api.stackone.com",
                "api_key": "stackone-key",
                "api_version": "2025-02-24",
            },
        },
        _connection("a"),
        _connection("b", tenant="globex", api_key="own-key", max_attempts=5),
        _connection("s", provider="stackone"),
    )
    a, b, s = (c.adapter_config() for c in settings.connections)

    assert (a.base_url, a.api_key.get_secret_value(), a.max_attempts) == (
        "https://api.kombo.dev/v1",
        "workspace-key",
        2,
    )
    assert a.webhook_secret == SecretStr("workspace-hook")
    assert a.read_timeout == 20.0  # neither sets it: the built-in default
    # What a connection sets wins.
    assert (b.api_key.get_secret_value(), b.max_attempts) == ("own-key", 5)
    assert b.webhook_secret == SecretStr("workspace-hook")
    assert (s.api_key.get_secret_value(), s.api_version) == ("stackone-key", "2025-02-24")
    # The store records only where a connection differs from its section.
    assert [c.stored_overrides() for c in settings.connections] == [{}, {"max_attempts": 5}, {}]


def test_the_toml_shape_and_env_references(tmp_path: Path) -> None:
    config = tmp_path / "ordergraph.toml"
    config.write_text(
        "[[tenants]]\n"
        'name = "acme"\n'
        "[providers.unified]\n"
        'base_url = "https://api.unified.to"\n'
        'api_key = "${UNIFIED_KEY}"\n'
        'webhook_secret = "${UNIFIED_HOOK}"\n'
        "manage_webhook = false\n"
        "[[connections]]\n"
        'id = "acme-unified"\n'
        'tenant = "acme"\n'
        'provider = "unified"\n'
        'account = "conn-1"\n'
        'name = "Acme Greenhouse"\n'
    )

    settings = load_settings(config, environ={"UNIFIED_KEY": "uk-1", "UNIFIED_HOOK": "uh-1"})

    [connection] = settings.connections
    assert connection.api_key.get_secret_value() == "uk-1"
    assert connection.webhook_secret == SecretStr("uh-1")
    assert (connection.manage_webhook, connection.name) == (False, "Acme Greenhouse")
    with pytest.raises(ConfigError) as unset:
        load_settings(config, environ={"UNIFIED_KEY": "uk-1"})
    assert "providers.unified.webhook_secret refers to ${UNIFIED_HOOK}" in str(unset.value)
    assert "uk-1" not in str(unset.value)


def test_provider_sections_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERGRAPH_PROVIDERS__KOMBO__BASE_URL", "https://api.kombo.dev/v1")
    monkeypatch.setenv("ORDERGRAPH_PROVIDERS__KOMBO__API_KEY", "env-key")

    settings = _load(None, _connection())

    assert settings.connections[0].api_key.get_secret_value() == "env-key"


@pytest.mark.parametrize(
    ("providers", "missing"),
    [
        (None, "base_url and api_key"),
        ({"kombo": {"base_url": "https://api.kombo.dev/v1"}}, "api_key"),
        ({"unified": {"base_url": "https://u", "api_key": "unified-key"}}, "base_url and api_key"),
    ],
)
def test_missing_credentials_name_what_is_missing_and_where(
    providers: dict[str, Any] | None, missing: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(providers, _connection())

    message = str(raised.value)
    assert f"connection 'acme-kombo' (kombo) has no {missing}" in message
    assert "[providers.kombo]" in message
    assert "unified-key" not in message


def test_section_errors_are_the_sections_and_echo_no_secret() -> None:
    with pytest.raises(ConfigError) as raised:
        _load({"kombo": {"api_key": "s3cret-key", "read_timeout": "soon"}}, _connection())

    message = str(raised.value)
    assert "providers.kombo.read_timeout" in message
    assert "s3cret-key" not in message
    assert "soon" not in message


def test_section_values_are_checked_like_a_connections() -> None:
    with pytest.raises(ConfigError, match=r"\[providers.kombo\]: .*api_version is a StackOne"):
        _load({"kombo": {"api_version": "2025-02-24"}})
    with pytest.raises(ConfigError, match=r"\[providers.stackone\]: .*api_version must be one of"):
        _load({"stackone": {"api_version": "2020-01-01"}})
    with pytest.raises(ConfigError, match=r"providers\.acme"):
        _load({"acme": {"api_key": "k"}})
    with pytest.raises(ConfigError, match=r"providers\.kombo\.apikey"):
        _load({"kombo": {"apikey": "k"}})


def test_secrets_stay_masked_and_reach_the_log_redactor() -> None:
    settings = _load(
        {
            "kombo": {
                "base_url": "https://k",
                "api_key": "kombo-key",
                "webhook_secret": "hook-s3cret",
            }
        },
        # A store-only provider: no file connection uses its key, it is still a secret.
        _connection(),
    )
    settings = settings.model_copy(
        update={
            "providers": {
                **settings.providers,
                ProviderName.UNIFIED: settings.providers[ProviderName.KOMBO].model_copy(
                    update={"api_key": SecretStr("unified-only-key")}
                ),
            }
        }
    )

    assert "kombo-key" not in repr(settings)
    assert "hook-s3cret" not in repr(settings)
    found = secrets_of(settings)
    assert {"kombo-key", "hook-s3cret", "unified-only-key"} <= set(found)


def test_a_store_connection_resolves_against_its_section() -> None:
    settings = _load({"kombo": {"base_url": "https://k", "api_key": "workspace-key"}})

    resolved = settings.resolve_connection(
        id="acme-new",
        tenant="acme",
        provider="kombo",
        account="integration-9",
        name="New customer",
        overrides={"read_timeout": 3.0},
    )

    config = resolved.adapter_config()
    assert (config.base_url, config.api_key.get_secret_value(), config.read_timeout) == (
        "https://k",
        "workspace-key",
        3.0,
    )
    assert resolved.name == "New customer"
    assert resolved.stored_overrides() == {"read_timeout": 3.0}
    with pytest.raises(ConfigError, match="api_key cannot be overridden"):
        settings.resolve_connection(
            id="x", tenant="acme", provider="kombo", account="a", overrides={"api_key": "k2"}
        )
    with pytest.raises(ConfigError, match="colour cannot be overridden"):
        settings.resolve_connection(
            id="x", tenant="acme", provider="kombo", account="a", overrides={"colour": 1}
        )
    with pytest.raises(ConfigError, match=r"has no base_url and api_key: .*\[providers.unified\]"):
        settings.resolve_connection(id="x", tenant="acme", provider="unified", account="a")
    with pytest.raises(ConfigError, match="read_timeout"):
        settings.resolve_connection(
            id="x", tenant="acme", provider="kombo", account="a", overrides={"read_timeout": -1}
        )


def test_the_readmes_production_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.index("## Production: `ordergraph serve`")
    block = readme[readme.index("```toml\n", start) + 8 : readme.index("```\n", start + 30)]
    config = tmp_path / "ordergraph.toml"
    # The README abbreviates a key hash; a real one is 64 hex digits.
    config.write_text(block.replace("sha256:9c1f...e04b", "sha256:" + "b" * 64))
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", block))
    environ = {name: f"value-of-{name.lower()}" for name in names}
    environ["ACME_REPORTING_KEY_HASH"] = "sha256:" + "a" * 64

    settings = load_settings(config, environ=environ)

    kombo = settings.connection("acme-kombo")
    stackone = settings.connection("acme-stackone")
    assert kombo is not None
    assert stackone is not None
    assert kombo.api_key.get_secret_value() == "value-of-kombo_api_key"
    assert (stackone.read_timeout, stackone.max_attempts) == (30, 2)


def test_settings_with_provider_sections_stay_hashable() -> None:
    # Frozen settings are cache keys (functools.lru_cache); sections must not break that.
    one = _load({"kombo": {"base_url": "https://k", "api_key": "k1"}}, _connection())
    two = _load({"kombo": {"base_url": "https://k", "api_key": "k2"}}, _connection())

    assert hash(one) == hash(
        _load({"kombo": {"base_url": "https://k", "api_key": "k1"}}, _connection())
    )
    assert hash(one.providers) != hash(two.providers)
