"""Connect-link states: signed, bound to tenant and provider, expiring."""

from __future__ import annotations

import base64
import json

from ordergraph.models import ProviderName
from ordergraph.sync.connect_state import ConnectStateSigner


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_state_names_its_tenant_and_provider_until_it_expires() -> None:
    # given a signer with a one-hour lifetime
    clock = Clock()
    signer = ConnectStateSigner("secret", ttl=3600, clock=clock)
    # when a state is issued and read back
    token = signer.issue("acme", ProviderName.UNIFIED)
    state = signer.verify(token)
    # then it names who asked, for which provider
    assert state is not None
    assert (state.tenant, state.provider) == ("acme", ProviderName.UNIFIED)
    # and it is refused once expired
    clock.now += 3601
    assert signer.verify(token) is None


def test_two_states_for_one_tenant_differ() -> None:
    signer = ConnectStateSigner("secret")
    assert signer.issue("acme", ProviderName.KOMBO) != signer.issue("acme", ProviderName.KOMBO)


def test_a_changed_tenant_another_key_or_garbage_is_refused() -> None:
    # given a state signed for acme
    signer = ConnectStateSigner("secret")
    token = signer.issue("acme", ProviderName.UNIFIED)
    version, body, mac = token.split(".")
    # when its payload is rewritten to name globex, keeping the MAC
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["t"] = "globex"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    # then every tampering is refused
    assert signer.verify(f"{version}.{forged_body}.{mac}") is None
    assert ConnectStateSigner("other secret").verify(token) is None
    for garbage in ("", "v1", "v1..", "v2." + body + "." + mac, token + "x", "x" * 5000):
        assert signer.verify(garbage) is None
