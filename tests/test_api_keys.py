"""API keys in the settings: only hashes, each with scopes; and keys to principals."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordergraph.auth import Principal, principal_for_key, principal_from_headers
from ordergraph.errors import ConfigError
from ordergraph.keys import MIN_KEY_LENGTH, Scope, generate_api_key, hash_api_key, is_key_hash
from ordergraph.settings import Settings, load_settings
from tests.tenants import key_entry

KEY = "og_live_3mJ9vQ2xTzR8wK1pLs5dNf7bHc4yGe6a"


def _settings(*tenants: dict[str, object]) -> Settings:
    return load_settings(environ={}, overrides={"tenants": list(tenants)})


def test_a_key_hash_is_sha256_of_the_key() -> None:
    assert hash_api_key("abc") == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert is_key_hash(hash_api_key(KEY))
    assert not is_key_hash(KEY)
    generated = {generate_api_key() for _ in range(3)}
    assert len(generated) == 3
    assert all(len(key) >= MIN_KEY_LENGTH for key in generated)


def test_a_key_acts_for_its_tenant_with_its_scopes() -> None:
    settings = _settings(
        {"name": "acme", "keys": [key_entry(KEY, ["read", "pii"]), key_entry("other", ["write"])]},
        {"name": "globex", "keys": [key_entry("globex-key", ["read"])]},
    )
    assert principal_for_key(settings, KEY) == Principal(
        tenant="acme", scopes=frozenset({Scope.READ, Scope.PII})
    )
    assert principal_for_key(settings, "other") == Principal("acme", frozenset({Scope.WRITE}))
    assert principal_for_key(settings, "globex-key") == Principal("globex", frozenset({Scope.READ}))
    # the hash itself is not a key, nor is a near miss, nor nothing
    for wrong in (hash_api_key(KEY), KEY[:-1], KEY + " ", "", None):
        assert principal_for_key(settings, wrong) is None, wrong
    headers = {"Authorization": f"Bearer {KEY}"}
    assert principal_from_headers(settings, headers) == principal_for_key(settings, KEY)


def test_each_settings_keys_are_their_own_and_principals_are_made_once() -> None:
    first = _settings({"name": "acme", "keys": [key_entry(KEY, ["read"])]})
    second = _settings({"name": "globex", "keys": [key_entry(KEY, ["write"])]})
    # The same key under other settings acts as those settings say, both ways round.
    for _ in range(2):
        assert principal_for_key(first, KEY) == Principal("acme", frozenset({Scope.READ}))
        assert principal_for_key(second, KEY) == Principal("globex", frozenset({Scope.WRITE}))
    assert principal_for_key(first, KEY) is principal_for_key(first, KEY)


def test_a_toml_file_holds_hashes_and_scopes(tmp_path: Path) -> None:
    config = tmp_path / "ordergraph.toml"
    config.write_text(
        """
[[tenants]]
name = "acme"

[[tenants.keys]]
hash = "${ACME_KEY_HASH}"
scopes = ["read", "write", "read"]
"""
    )
    settings = load_settings(config, environ={"ACME_KEY_HASH": hash_api_key(KEY)})
    [key] = settings.tenants[0].keys
    assert key.hash == hash_api_key(KEY)
    assert key.scopes == (Scope.READ, Scope.WRITE)


@pytest.mark.parametrize(
    "entry",
    [{"hash": KEY, "scopes": ["read"]}, {"hash": "sha256:abc", "scopes": ["read"]}],
    ids=["plain-key", "short-hash"],
)
def test_a_plain_key_where_a_hash_belongs_is_refused_without_echoing_it(
    entry: dict[str, object],
) -> None:
    with pytest.raises(ConfigError) as raised:
        _settings({"name": "acme", "keys": [entry]})
    message = str(raised.value)
    assert "tenants.0.keys.0.hash" in message
    assert "ordergraph hash-key" in message
    assert KEY not in message


def test_the_old_plain_api_keys_setting_is_refused_with_what_to_do() -> None:
    with pytest.raises(ConfigError) as raised:
        _settings({"name": "acme", "api_keys": [KEY]})
    message = str(raised.value)
    assert "api_keys" in message
    assert "ordergraph hash-key" in message
    assert "[[tenants.keys]]" in message
    assert KEY not in message


@pytest.mark.parametrize(
    ("scopes", "problem"),
    [(None, "Field required"), ([], "at least 1"), (["read", "owner"], "'read', 'write'")],
    ids=["missing", "empty", "unknown"],
)
def test_every_key_names_known_scopes(scopes: list[str] | None, problem: str) -> None:
    entry: dict[str, object] = {"hash": hash_api_key(KEY)}
    if scopes is not None:
        entry["scopes"] = scopes
    with pytest.raises(ConfigError, match=r"tenants\.0\.keys\.0\.scopes") as raised:
        _settings({"name": "acme", "keys": [entry]})
    assert problem in str(raised.value)


def test_one_key_cannot_act_for_two_tenants() -> None:
    with pytest.raises(ConfigError, match="a key hash is listed twice"):
        _settings(
            {"name": "acme", "keys": [key_entry(KEY, ["read"])]},
            {"name": "globex", "keys": [key_entry(KEY, ["read", "write"])]},
        )
