"""The ``state`` a connect link carries through a provider's authorization flow.

A Unified authorization URL sends the customer to the ATS and back to
``/connect/unified/callback?id=<connection id>&state=<state>``. The state says which
tenant asked for the link, for which provider, until when; it is signed, so a
callback cannot be pointed at another tenant, and it expires, so an old link cannot
be replayed forever. Format: ``v1.<payload>.<mac>``, both base64url; the payload is
JSON ``{"t": tenant, "p": provider, "e": expiry (unix seconds), "n": nonce}`` and the
MAC is HMAC-SHA256 over ``v1.<payload>`` with a key derived from the store's
``cursor_secret`` (a purpose label keeps it apart from cursor and node-id keys).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ordergraph.ids import b64url, unb64url
from ordergraph.models import ProviderName

__all__ = ["ConnectState", "ConnectStateSigner"]

_VERSION = "v1"
_PURPOSE = b"ordergraph connect-link state v1"
# A state is short; a longer one is refused before any decoding.
MAX_STATE_LENGTH = 1024


@dataclass(frozen=True)
class ConnectState:
    """Who asked for a connect link, for which provider, until when."""

    tenant: str
    provider: ProviderName
    expires_at: int


class ConnectStateSigner:
    """Issues and checks connect-link states (``ttl`` seconds of validity)."""

    def __init__(
        self, secret: str | bytes, *, ttl: float = 3600.0, clock: Callable[[], float] = time.time
    ) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        self._key = hmac.new(raw, _PURPOSE, hashlib.sha256).digest()
        self.ttl = ttl
        self._clock = clock

    def _mac(self, signed: str) -> str:
        return b64url(hmac.new(self._key, signed.encode(), hashlib.sha256).digest())

    def issue(self, tenant: str, provider: ProviderName) -> str:
        payload = {
            "t": tenant,
            "p": provider.value,
            "e": int(self._clock() + self.ttl),
            "n": secrets.token_urlsafe(9),
        }
        body = b64url(json.dumps(payload, separators=(",", ":")).encode())
        signed = f"{_VERSION}.{body}"
        return f"{signed}.{self._mac(signed)}"

    def verify(self, token: str) -> ConnectState | None:
        """The state behind ``token``; None when it is malformed, forged or expired."""
        if len(token) > MAX_STATE_LENGTH:
            return None
        version, _, rest = token.partition(".")
        body, _, mac = rest.partition(".")
        if version != _VERSION or not body or not mac:
            return None
        # The MAC first, in constant time: nothing of an unsigned payload is parsed.
        if not hmac.compare_digest(self._mac(f"{version}.{body}"), mac):
            return None
        raw = unb64url(body)
        try:
            payload: dict[str, Any] = json.loads(raw) if raw is not None else {}
            state = ConnectState(
                tenant=str(payload["t"]),
                provider=ProviderName(payload["p"]),
                expires_at=int(payload["e"]),
            )
        except (TypeError, KeyError, ValueError):
            return None
        if state.expires_at < self._clock():
            return None
        return state
