"""The buffered log writer: lines wait at most the flush interval, warnings none, and
each line keeps the request id of the moment it was logged."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from ordergraph.access_log import request_id_for
from ordergraph.logs import (
    REQUEST_ID,
    TRUSTED,
    BufferedStreamHandler,
    JsonFormatter,
    Redactor,
    configure_logging,
)


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"test-buffer-{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def test_info_lines_are_batched_and_written_within_the_interval() -> None:
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, flush_interval=0.2)
    handler.setFormatter(JsonFormatter())
    logger = _logger(handler)
    try:
        token = REQUEST_ID.set("req-1")
        logger.info("first")
        REQUEST_ID.reset(token)
        logger.info("second")
        assert stream.getvalue() == ""  # nothing written per line
        deadline = time.monotonic() + 5
        while stream.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        records = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [r["message"] for r in records] == ["first", "second"]
        assert [r["request_id"] for r in records] == ["req-1", None]
    finally:
        handler.close()


def test_a_warning_is_written_at_once_with_what_came_before() -> None:
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, flush_interval=60)
    handler.setFormatter(JsonFormatter())
    logger = _logger(handler)
    try:
        logger.info("before")
        logger.warning("trouble")
        assert [json.loads(x)["message"] for x in stream.getvalue().splitlines()] == [
            "before",
            "trouble",
        ]
    finally:
        handler.close()


def test_close_writes_what_is_buffered() -> None:
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, flush_interval=60)
    handler.setFormatter(JsonFormatter())
    _logger(handler).info("last words")
    handler.close()
    assert json.loads(stream.getvalue())["message"] == "last words"


def test_only_trusted_lines_skip_the_redactor() -> None:
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, flush_interval=60)
    handler.setFormatter(JsonFormatter(Redactor(["s3cret-value"])))
    logger = _logger(handler)
    logger.info("key s3cret-value", extra={"detail": "s3cret-value"})
    logger.info("GET %s 200", "/graphql", extra={"route": "/graphql", TRUSTED: True})
    handler.close()
    untrusted, trusted = (json.loads(x) for x in stream.getvalue().splitlines())
    assert "s3cret-value" not in json.dumps(untrusted)
    assert trusted["message"] == "GET /graphql 200"
    assert TRUSTED not in trusted  # the mark itself is not part of the line


def test_configured_logging_does_not_look_up_each_records_caller() -> None:
    root = logging.getLogger()
    saved = (
        root.handlers[:],
        root.level,
        logging._srcfile,
        logging.logThreads,
        logging.logProcesses,
        logging.logMultiprocessing,
    )
    stream = io.StringIO()
    seen: list[logging.LogRecord] = []
    try:
        handler = configure_logging(stream=stream)
        logger = _logger(handler)
        logger.addHandler(_Keep(seen))
        logger.warning("POST /graphql 200")  # a warning is written at once

        assert "POST /graphql 200" in stream.getvalue()
        # No stack walk, thread or process lookup per record: nothing a line shows.
        assert (seen[0].funcName, seen[0].lineno, seen[0].thread, seen[0].process) == (
            "(unknown function)",
            0,
            None,
            None,
        )
        handler.close()
    finally:
        for existing in root.handlers[:]:
            root.removeHandler(existing)
        for kept in saved[0]:
            root.addHandler(kept)
        root.setLevel(saved[1])
        (
            logging._srcfile,
            logging.logThreads,
            logging.logProcesses,
            logging.logMultiprocessing,
        ) = saved[2:]


class _Keep(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


def test_a_forked_worker_writes_its_buffered_lines_with_a_writer_of_its_own(
    tmp_path: Path,
) -> None:
    """``serve --workers`` forks after logging is configured: the child inherits the
    handler, not its writer thread, and must start one of its own."""
    path = tmp_path / "log.txt"
    with path.open("a", encoding="utf-8") as stream:
        handler = BufferedStreamHandler(stream, flush_interval=0.05)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = _logger(handler)
        try:
            logger.info("parent")  # the parent's writer runs from here on
            handler.flush()
            pid = os.fork()
            if pid == 0:  # the child: an INFO line waits for a writer to flush it
                code = 1
                try:
                    logger.info("child")
                    deadline = time.monotonic() + 5
                    while "child" not in path.read_text() and time.monotonic() < deadline:
                        time.sleep(0.02)
                    code = 0 if "child" in path.read_text() else 3
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, "the child's line was never written"
        finally:
            handler.close()
    assert path.read_text().splitlines() == ["parent", "child"]


def test_request_ids_differ_between_requests_and_between_forked_workers() -> None:
    ids = {request_id_for(_request()) for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child's next id, next to the parent's
        try:
            os.write(writer, request_id_for(_request()).encode())
        finally:
            os._exit(0)
    os.close(writer)
    mine = request_id_for(_request())
    os.waitpid(pid, 0)
    with os.fdopen(reader) as pipe:
        theirs = pipe.read()
    assert re.fullmatch(r"[0-9a-f]{32}", theirs)
    assert theirs != mine


def test_a_sane_request_id_from_the_client_is_kept() -> None:
    assert request_id_for(_request({"X-Request-Id": "abc-123"})) == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_for(_request({"X-Request-Id": "a b\n"})))


def _request(headers: dict[str, str] | None = None) -> web.Request:
    return make_mocked_request("GET", "/graphql", headers=headers or {})
