"""Secret scanning for tests: no configured secret may appear in anything we captured.

``SecretScanner.from_settings`` collects every ``SecretStr`` of a ``Settings`` (provider
API keys, webhook secrets, the cursor secret) and every password in a URL setting
(store, cache, broker); tenants' API keys are held only as hashes there, so the test
passes the keys it uses as ``extra``. ``Captured`` holds what a scenario saw: HTTP
response bodies and headers, WebSocket frames, log records (``capture_logs`` installs a
DEBUG handler on the root logger) and subprocess output. ``scan`` fails naming *which*
setting leaked *where*, never the value, so the assertion message is itself safe.

Each secret is looked for in the forms it could leak in: as is, base64 (standard and
URL-safe, padded or not, also of ``secret:`` as HTTP Basic auth carries an API key),
percent-encoded and JSON-escaped.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ordergraph.settings import Settings

__all__ = ["Captured", "SecretScanner", "capture_logs", "secret_forms"]

# Shorter values are too likely to occur by chance (and are not real secrets).
_MIN_SECRET_CHARS = 6


def _b64_forms(raw: bytes) -> set[str]:
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        padded = encode(raw).decode()
        forms |= {padded, padded.rstrip("=")}
    return forms


def secret_forms(secret: str) -> set[str]:
    """The spellings under which ``secret`` could appear in captured text."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    forms |= _b64_forms(secret.encode())
    forms |= _b64_forms(f"{secret}:".encode())  # HTTP Basic: base64("key:")
    return {form for form in forms if len(form) >= _MIN_SECRET_CHARS}


def _url_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(setting path, secret value) for every SecretStr and URL password under ``value``."""
    if isinstance(value, SecretStr):
        yield path, value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    elif isinstance(value, str) and path.endswith(".url") and "://" in value:
        password = _url_password(value)
        if password:
            yield f"{path} (password)", password


@dataclass
class SecretScanner:
    """Named secrets, and a check that captured text holds none of them in any form."""

    secrets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, **extra: str) -> SecretScanner:
        scanner = cls()
        for name, value in _walk(settings, ""):
            scanner.add(name, value)
        for name, value in extra.items():
            scanner.add(name, value)
        return scanner

    def add(self, name: str, value: str) -> None:
        if len(value) >= _MIN_SECRET_CHARS:
            self.secrets[name] = value

    def leaks(self, captured: Captured) -> list[str]:
        """``"<setting> in <where>"`` for each secret found (empty when clean)."""
        found: list[str] = []
        for name, value in self.secrets.items():
            forms = secret_forms(value)
            for where, text in captured.items():
                if any(form in text for form in forms):
                    found.append(f"{name} in {where}")
        return found

    def scan(self, captured: Captured) -> None:
        assert self.secrets, "no secrets to look for: the scan could not fail"
        assert captured.count, "nothing captured: the scan could not fail"
        leaks = self.leaks(captured)
        assert not leaks, f"secrets leaked: {leaks}"


@dataclass
class Captured:
    """Everything a scenario saw, labelled by where it came from."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.texts)

    def add(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        self.texts.append((where, text))

    def response(
        self, where: str, status: int, headers: Mapping[str, str], body: str | bytes
    ) -> None:
        """An HTTP response: status line, every header, the body."""
        head = "\n".join(f"{k}: {v}" for k, v in headers.items())
        self.add(where, f"{status}\n{head}\n")
        self.add(where, body)

    def extend(self, where: str, texts: Iterable[str | bytes]) -> None:
        for text in texts:
            self.add(where, text)

    def items(self) -> Iterator[tuple[str, str]]:
        yield from self.texts


class _ListHandler(logging.Handler):
    def __init__(self, captured: Captured) -> None:
        super().__init__(logging.DEBUG)
        self.captured = captured
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # format() adds the traceback and exception text, which can leak as easily.
        self.captured.add(f"log {record.name}", self.format(record))


@contextmanager
def capture_logs(captured: Captured) -> Iterator[None]:
    """Every log record of every logger, DEBUG and up, into ``captured``."""
    root = logging.getLogger()
    handler = _ListHandler(captured)
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
