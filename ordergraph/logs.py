"""Logging: one JSON object per line (or plain text), a request id, and no secret.

- ``configure_logging`` installs one stderr handler on the root logger with the
  chosen formatter (``[logging] format = "json"`` or ``"text"``) and level.
- Every line carries ``request_id`` while a request is being handled:
  ``request_id_middleware`` takes the client's ``X-Request-Id`` when it is a sane
  token (else makes one), echoes it in the response and keeps it in a context
  variable, which tasks started by the request inherit.
- ``Redactor`` is defence in depth: the code never logs a secret on purpose, but a
  library's exception text might hold one. Any ``Bearer``/``Basic`` credential, every
  configured secret value (provider keys and the Basic header made from them, webhook
  secrets, the cursor secret, passwords in store/cache/broker URLs) and any
  ``user:password@`` in a URL is masked in the message, the exception text and string
  extras, before the line is encoded (so JSON escaping cannot hide a secret from the
  mask).

The JSON formatter is a few lines of stdlib on purpose: redaction must run after the
exception text is rendered and before encoding, in the same pass.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ordergraph.metrics import route_template
from ordergraph.settings import Settings

__all__ = [
    "REQUEST_ID",
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "Redactor",
    "TextFormatter",
    "configure_logging",
    "request_id_middleware",
    "secrets_of",
]

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID: ContextVar[str | None] = ContextVar("ordergraph_request_id", default=None)

MASK = "[REDACTED]"
# A client's request id is kept only if it is short and plain (no spaces, quotes or
# control characters that could forge log structure).
_SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")
# The server holds only hashes of its tenants' API keys, so it cannot mask a key by
# value: any bearer or basic credential in text is masked by shape instead.
_AUTH_CREDENTIAL = re.compile(r"(?P<head>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{6,}", re.I)
# Secrets shorter than this are not masked: they would mask ordinary words.
_MIN_SECRET = 6

# Attributes every LogRecord has; anything else was passed as ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "rid",  # TextFormatter's, when both formatters see one record
}

# Probes and scrapes come every few seconds; their lines would drown the rest.
_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})

logger = logging.getLogger("ordergraph.requests")


class Redactor:
    """Masks known secret values and URL passwords in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = {s for s in secrets if len(s) >= _MIN_SECRET}
        # Longest first, so a secret containing another is masked whole.
        ordered = sorted(unique, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = _AUTH_CREDENTIAL.sub(rf"\g<head>{MASK}", text)
        return _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)

    def value(self, value: Any) -> Any:
        """``value`` with strings masked, through lists and dicts."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold, as it could appear in text."""
    # Tenants' API keys are not here: the settings hold only their hashes (the
    # Redactor masks bearer credentials by shape).
    found: list[str] = []
    for connection in settings.connections:
        key = connection.api_key.get_secret_value()
        # StackOne sends the key as HTTP Basic (base64 of "key:"), which a library
        # error could echo.
        found.extend([key, base64.b64encode(f"{key}:".encode()).decode()])
        if connection.webhook_secret is not None:
            found.append(connection.webhook_secret.get_secret_value())
    if settings.store.cursor_secret is not None:
        found.append(settings.store.cursor_secret.get_secret_value())
    if settings.metrics.token is not None:
        found.append(settings.metrics.token.get_secret_value())
    for url in (settings.store.url, settings.cache.url, settings.broker.url):
        password = _url_password(url)
        if password:
            found.append(password)
    return found


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, request_id,
    the record's extras, and ``exception`` when there is one."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in entry:
                entry[name] = self.redact.value(value)
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self.redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.redact(self.formatStack(record.stack_info))
        # Other objects become text here, so they are masked too.
        return json.dumps(entry, ensure_ascii=False, default=lambda o: self.redact(str(o)))


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message`` with secrets masked."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s %(message)s")
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        record.rid = f" [{request_id}]" if request_id else ""
        return self.redact(super().format(record))


def configure_logging(
    *, level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()
) -> logging.Handler:
    """Replace the root logger's handlers with one stderr handler (returned)."""
    redact = Redactor(secrets)
    formatter: logging.Formatter = JsonFormatter(redact) if fmt == "json" else TextFormatter(redact)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def request_id_for(request: web.Request) -> str:
    """The client's ``X-Request-Id`` when sane, else a fresh one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if _SANE_ID.match(given):
        return given
    return uuid.uuid4().hex


def request_id_middleware() -> Middleware:
    """Gives each request an id (see the module docstring) and logs one line when it
    is answered: method, route template, status and duration (never the query string,
    which may carry a document's values)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = request_id_for(request)
        token = REQUEST_ID.set(request_id)
        started = time.monotonic()
        status = 500
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                status = exc.status
                exc.headers[REQUEST_ID_HEADER] = request_id
                raise
            except asyncio.CancelledError:
                status = 499  # the client went away before the answer (nginx's code)
                raise
            status = response.status
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            route = route_template(request)
            logger.log(
                logging.DEBUG if route in _PROBES else logging.INFO,
                "%s %s %d",
                request.method,
                route_template(request),
                status,
                extra={
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            REQUEST_ID.reset(token)

    return middleware
