"""Logging: one JSON object per line (or plain text), a request id, and no secret.

- ``configure_logging`` installs one stderr handler on the root logger with the
  chosen formatter (``[logging] format = "json"`` or ``"text"``) and level.
- Every line carries ``request_id`` while a request is being handled: the id in
  ``REQUEST_ID``, a context variable that tasks started by the request inherit, set by
  ``ordergraph.access_log`` (which also writes the one line per request).
- ``Redactor`` is defence in depth: the code never logs a secret on purpose, but a
  library's exception text might hold one. Any ``Bearer``/``Basic`` credential, every
  configured secret value (provider keys and the Basic header made from them, webhook
  secrets, the cursor secret, passwords in store/cache/broker URLs) and any
  ``user:password@`` in a URL is masked in the message, the exception text and string
  extras, before the line is encoded (so JSON escaping cannot hide a secret from the
  mask).

The JSON formatter is a few lines of code on purpose: redaction must run after the
exception text is rendered and before encoding, in the same pass.

Cheap on the hot path (a cache hit answers in well under a millisecond, so one log
line per request is a large share of it):

- ``BufferedStreamHandler`` collects records and writes them in one go every
  ``flush_interval`` seconds (or at ``capacity`` records, or at once for a WARNING or
  worse), from a background thread: a request never waits for a write and a flush.
- The request line is made by our own code from fields that cannot hold a secret (a
  known method, the route *template*, the status, the duration), so it is marked
  trusted (``TRUSTED``) and skips the redactor's regexes; every other line is
  redacted as before. The formatters can make that line without a record
  (``access_line``), for ``BufferedStreamHandler.emit_access``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ordergraph.settings import ConnectionSettings, ProviderSettings, Settings

__all__ = [
    "REQUEST_ID",
    "TRUSTED",
    "BufferedStreamHandler",
    "JsonFormatter",
    "Redactor",
    "TextFormatter",
    "configure_logging",
    "secrets_of",
]

REQUEST_ID: ContextVar[str | None] = ContextVar("ordergraph_request_id", default=None)

MASK = "[REDACTED]"
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")
# The server holds only hashes of its tenants' API keys, so it cannot mask a key by
# value: any bearer or basic credential in text is masked by shape instead.
_AUTH_CREDENTIAL = re.compile(r"(?P<head>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{6,}", re.I)
# Secrets shorter than this are not masked: they would mask ordinary words.
_MIN_SECRET = 6

TRUSTED = "og_trusted"
"""A record attribute (``extra={TRUSTED: True}``): the message and extras were made by
our own code from fields that cannot hold a secret, so the redactor may skip them."""

# Attributes every LogRecord has; anything else was passed as ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "rid",  # TextFormatter's, when both formatters see one record
    TRUSTED,
}
FLUSH_INTERVAL = 0.5
"""Seconds a buffered log line may wait before it is written."""
BUFFER_CAPACITY = 512
"""Buffered records that trigger a write before the interval ends."""


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
    # Provider sections too: connections kept in the store use their keys without any
    # [[connections]] entry naming them.
    holders: list[ConnectionSettings | ProviderSettings] = [
        *settings.connections,
        *settings.providers.values(),
    ]
    for holder in holders:
        if holder.api_key is not None:
            key = holder.api_key.get_secret_value()
            # StackOne sends the key as HTTP Basic (base64 of "key:"), which a library
            # error could echo.
            found.extend([key, base64.b64encode(f"{key}:".encode()).decode()])
        if holder.webhook_secret is not None:
            found.append(holder.webhook_secret.get_secret_value())
    if settings.store.cursor_secret is not None:
        found.append(settings.store.cursor_secret.get_secret_value())
    if settings.metrics.token is not None:
        found.append(settings.metrics.token.get_secret_value())
    for url in (settings.store.url, settings.cache.url, settings.broker.url):
        password = _url_password(url)
        if password:
            found.append(password)
    return found


def _timestamp(created: float) -> str:
    when = datetime.fromtimestamp(created, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, request_id,
    the record's extras, and ``exception`` when there is one."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        trusted = getattr(record, TRUSTED, False) is True
        message = record.getMessage()
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": message if trusted else self.redact(message),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in entry:
                entry[name] = value if trusted else self.redact.value(value)
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self.redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.redact(self.formatStack(record.stack_info))
        # Other objects become text here, so they are masked too.
        # The stdlib's encoder, not orjson: its ``", "``/``": "`` spacing is what log
        # pipelines already parse and grep, and lines are encoded off the request path.
        return json.dumps(entry, ensure_ascii=False, default=self._text)

    def _text(self, value: object) -> str:
        return self.redact(str(value))

    def access_line(
        self, created: float, level: int, name: str, message: str, fields: dict[str, Any]
    ) -> str:
        """What ``format`` makes of a trusted record with these fields as extras (see
        ``BufferedStreamHandler.emit_access``)."""
        entry: dict[str, Any] = {
            "timestamp": _timestamp(created),
            "level": logging.getLevelName(level),
            "logger": name,
            "message": message,
            "request_id": REQUEST_ID.get(),
        }
        for field, value in fields.items():
            entry.setdefault(field, value)
        return json.dumps(entry, ensure_ascii=False, default=self._text)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(rid)s %(message)s"


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message`` with secrets masked."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__(_TEXT_FORMAT)
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        record.rid = f" [{request_id}]" if request_id else ""
        line = super().format(record)
        return line if getattr(record, TRUSTED, False) is True else self.redact(line)

    def access_line(
        self, created: float, level: int, name: str, message: str, fields: dict[str, Any]
    ) -> str:
        """What ``format`` makes of a trusted record (see
        ``BufferedStreamHandler.emit_access``); the fields are not part of a text line."""
        request_id = REQUEST_ID.get()
        rid = f" [{request_id}]" if request_id else ""
        return f"{self._asctime(created)} {logging.getLevelName(level)} {name}{rid} {message}"

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """The standard ``asctime``, with its ``strftime`` made once per second rather than
        once per line (the access log writes a line per request)."""
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return self._asctime(record.created)

    def _asctime(self, created: float) -> str:
        second = int(created)
        cached = self._second
        if cached[0] != second:
            stamp = time.strftime(self.default_time_format, self.converter(created))
            cached = self._second = (second, stamp)
        msec_format = self.default_msec_format
        # Milliseconds as Python 3.11's LogRecord counts them, from ``created`` alone, so
        # a line made without a record (``access_line``) reads the same.
        msecs = int((created - second) * 1000)
        return msec_format % (cached[1], msecs) if msec_format else cached[1]


# This process's id, kept up to date across forks: asking the kernel for it on every
# record (``os.getpid`` is a system call) was ~3% of a cache hit's samples.
_process_id = os.getpid()


def _after_fork_in_child() -> None:
    global _process_id
    _process_id = os.getpid()


os.register_at_fork(after_in_child=_after_fork_in_child)


class BufferedStreamHandler(logging.Handler):
    """Writes records to ``stream`` in batches (see the module docstring).

    Each record is formatted when it is logged, in the logging thread (its request id
    and arguments are those of that moment); the background thread only joins and
    writes the lines, which releases the GIL, so a batch never stalls the event loop
    the way formatting a thousand records in another thread would. A WARNING or worse,
    or a record with an exception, is written at once (with what is buffered before
    it), so a crash right after it cannot lose it.
    """

    def __init__(
        self,
        stream: Any = None,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        capacity: int = BUFFER_CAPACITY,
    ) -> None:
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self.flush_interval = flush_interval
        self.capacity = capacity
        self._lines: list[str] = []
        self._stop = threading.Event()
        self._writer_pid = 0

    def _ensure_writer(self) -> None:
        # Per process: a forked worker inherits the handler but not the thread.
        if self._writer_pid != _process_id:
            self._writer_pid = _process_id
            threading.Thread(
                target=self._write_periodically, name="log-writer", daemon=True
            ).start()

    def _write_periodically(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._keep(line, at_once=record.levelno >= logging.WARNING or record.exc_info is not None)

    def emit_access(self, level: int, name: str, message: str, fields: dict[str, Any]) -> None:
        """Buffer the line a trusted record with ``fields`` as extras would make, without
        making the record: for the access log, when ``access_log.access_sink`` says this
        handler is the only place such a record would go. Half a cache hit's logging cost
        was the record's own machinery (bench/README.md)."""
        formatter = self.formatter
        assert isinstance(formatter, TextFormatter | JsonFormatter)  # access_sink checked it
        line = formatter.access_line(time.time(), level, name, message, fields)
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self._keep(line, at_once=level >= logging.WARNING)

    def _keep(self, line: str, *, at_once: bool) -> None:
        """Buffer ``line``; write what is buffered now if ``at_once`` or the buffer is
        full, else make sure the writer thread will. Under the handler's lock."""
        self._lines.append(line)
        if at_once or len(self._lines) >= self.capacity:
            self._write(self._take())
        else:
            self._ensure_writer()

    def _take(self) -> list[str]:
        lines, self._lines = self._lines, []
        return lines

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": "a batch of log lines"}))

    def flush(self) -> None:
        # Under the handler's lock, as ``emit`` writes: batches never interleave or swap.
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self._write(self._take())

    def close(self) -> None:
        self._stop.set()
        self.flush()
        super().close()


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    stream: Any = None,
) -> logging.Handler:
    """Replace the root logger's handlers with one buffered handler (returned) writing
    to ``stream`` (standard error by default)."""
    # What no line shows is not gathered for every record (the logging HOWTO's
    # "Optimization"): the caller's file and line (a walk up the stack), the thread and
    # the process. The access log makes a record per request (~10% of a cache hit's CPU
    # under wrk went to logging): 11.6 -> 6.9 µs a line (bench/access_log_bench.py).
    # Tracebacks are not affected.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    redact = Redactor(secrets)
    formatter: logging.Formatter = JsonFormatter(redact) if fmt == "json" else TextFormatter(redact)
    handler = BufferedStreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
        if isinstance(existing, BufferedStreamHandler):
            existing.close()  # writes what it still holds
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
