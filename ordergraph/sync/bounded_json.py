"""Parsing an untrusted JSON body within bounds, without recursing on its nesting.

A webhook body that must be parsed before it can be verified (Unified signs the
parsed ``data``, not the raw bytes) is attacker-controlled input to ``json.loads``,
whose scanner recurses once per nesting level: 100,000 ``[`` end in a
``RecursionError`` deep inside the parser (a 500 with a long traceback before this
module). So the depth is measured first, by a linear pass over the bytes that never
recurses, and a body nested deeper than the bound is refused before any parse.

The size bound is the caller's (the server reads at most ``max_body_bytes``); the body
must be UTF-8, as both vendors send it (``json.loads`` would also guess UTF-16/32).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_NESTING", "JsonBodyError", "check_nesting", "parse_bounded"]

# Deepest legitimate webhook body seen: about six levels (delivery > data > order >
# addresses > address). 64 leaves room for a vendor's ``raw`` passthrough.
MAX_NESTING = 64

# Every byte except quotes and brackets: all the depth scan needs to see.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
# Every byte except the four brackets, to delete them once strings are gone.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Braces as square brackets: for depth, a bracket is a bracket.
_SQUARE = bytes.maketrans(b"{}", b"[]")


class JsonBodyError(ValueError):
    """The body is not JSON we are willing to parse; the message says why, briefly."""


def _outside_strings(body: bytes) -> bytes:
    """The quotes and brackets of ``body`` that are not inside a JSON string.

    Escapes first: each pair of backslashes is one literal backslash, and a quote still
    preceded by a backslash is text; with both gone every quote left opens or closes a
    string, so the text between quotes alternates (C-speed passes, no per-string work).
    """
    reduced = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    return b"".join(reduced.split(b'"')[0::2])


def _within_nesting(body: bytes, limit: int) -> bool:
    """Whether ``body``'s brackets outside JSON strings balance and nest at most
    ``limit`` deep. Linear passes in C, never a recursion: with strings removed and
    every bracket made ``[``/``]``, each round of deleting ``[]`` pairs peels one level
    off every innermost pair, so a pair left after ``limit`` rounds sits deeper than
    ``limit``. Whatever is left without a pair is unbalanced, and not JSON.

    A malformed string (unterminated) can only leave brackets in, so the answer errs
    towards refusing a body that is not JSON anyway.
    """
    brackets = _outside_strings(body).translate(_SQUARE, _NOT_BRACKETS)
    if b"[" * (limit + 1) in brackets:
        return False  # the common attack, found without peeling 2 MB level by level
    for _ in range(limit):
        if not brackets:
            return True
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):
            return False  # unbalanced: nothing pairs up
        brackets = peeled
    return not brackets


def check_nesting(body: bytes, *, max_nesting: int = MAX_NESTING) -> None:
    """Raise ``JsonBodyError`` unless ``body`` nests at most ``max_nesting`` deep and
    its brackets balance: after it, ``json.loads(body)`` cannot recurse past the bound."""
    # Cheap bound first: fewer opening brackets than the limit cannot nest past it.
    if body.count(b"[") + body.count(b"{") > max_nesting and not _within_nesting(body, max_nesting):
        msg = f"JSON nested deeper than {max_nesting} levels, or unbalanced"
        raise JsonBodyError(msg)


def parse_bounded(body: bytes, *, max_nesting: int = MAX_NESTING) -> Any:
    """``body`` parsed as UTF-8 JSON, refusing nesting deeper than ``max_nesting``.

    Raises ``JsonBodyError`` for anything it will not parse; never ``RecursionError``.
    """
    check_nesting(body, max_nesting=max_nesting)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("body is not UTF-8") from None
    try:
        return json.loads(text)
    except RecursionError:  # unreachable after the depth check; kept as a backstop
        raise JsonBodyError(f"JSON nested deeper than {max_nesting} levels") from None
    except ValueError:
        # JSONDecodeError, and integers past Python's digit limit.
        raise JsonBodyError("body is not JSON") from None
