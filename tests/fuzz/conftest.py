"""The fuzz suite's gateway: the API suite's (tests/api), filled the real way, with every
response and log record captured and scanned for secrets when the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.api.conftest import KEYS, Api, api, plain_api_keys  # the API suite's gateway fixture
from tests.api.helpers import fill_index
from tests.conftest import Sandbox
from tests.fuzz.probe import Probe
from tests.secrets_scan import Captured, SecretScanner, capture_logs

__all__ = ["KEYS", "Fuzzed", "api"]


@dataclass
class Fuzzed:
    """A filled gateway and a probe whose answers are scanned at the end."""

    api: Api
    probe: Probe
    sandbox: Sandbox
    counts: dict[str, int]
    # What a test computes once and reuses across its examples (seed cursors, ids).
    memo: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Fuzzed({self.api.url})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints fixtures with every falsifying example: not every capture.
        printer.text(repr(self))


@pytest.fixture
async def fuzzed(api: Api, sandbox: Sandbox) -> AsyncIterator[Fuzzed]:
    captured = Captured()
    scanner = SecretScanner.from_settings(api.services.settings, **plain_api_keys())
    with capture_logs(captured):
        counts = await fill_index(api, sandbox)
        yield Fuzzed(api, Probe(api.url, api.session, captured), sandbox, counts)
    scanner.scan(captured)
