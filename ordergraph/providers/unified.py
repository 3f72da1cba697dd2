"""Unified adapter (placeholder: being written)."""

from __future__ import annotations

from pydantic import SecretStr

from ordergraph.models import ProviderName
from ordergraph.providers.base import BaseProvider

__all__ = ["UnifiedProvider"]


class UnifiedProvider(BaseProvider):
    name = ProviderName.UNIFIED

    def auth_headers(self) -> dict[str, SecretStr]:
        return {"Authorization": SecretStr("Bearer " + self.config.api_key.get_secret_value())}
