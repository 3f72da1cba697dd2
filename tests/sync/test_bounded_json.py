"""The bounded JSON reader: its depth check agrees with the real nesting of any JSON
value, whatever its strings hold, and never recurses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergraph.sync.bounded_json import JsonBodyError, check_nesting, parse_bounded

# Strings full of what could confuse a scan: brackets, quotes, backslashes, escapes.
_TRICKY = st.text(st.sampled_from(list('[]{}"\\/ab\n\u00e9\u2028')), max_size=8)
_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=400, deadline=None, database=None)
@given(value=_VALUES, limit=st.integers(0, 6), ascii_only=st.booleans())
def test_the_depth_check_agrees_with_the_real_nesting(
    value: Any, limit: int, ascii_only: bool
) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    if _depth(value) <= limit:
        check_nesting(body, max_nesting=limit)
        assert parse_bounded(body, max_nesting=limit) == json.loads(body)
    else:
        with pytest.raises(JsonBodyError):
            check_nesting(body, max_nesting=limit)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b"{" * 100_000,
        b'{"a":' * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
        # Strings that would pair up the brackets of a naive count: true depth 100,000.
        b'["]",' * 100_000 + b'"["' + b"]" * 100_000,
        b'["\\\\",' * 100_000 + b"0" + b"]" * 100_000,
    ],
    ids=["[", "{", "obj", "closed", "string-pairs", "escaped-backslash"],
)
def test_deep_bodies_are_refused_before_parsing(body: bytes) -> None:
    with pytest.raises(JsonBodyError, match="nested deeper"):
        parse_bounded(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe[\x00]\x00", "not UTF-8"),
        (b'["\xc3\x28"]', "not UTF-8"),
        (b"[" + b"9" * 5000 + b"]", "not JSON"),
        (b'"unterminated [[[', "not JSON"),
        (b"]]][[[", "not JSON"),
    ],
)
def test_other_bad_bodies_say_why(body: bytes, reason: str) -> None:
    with pytest.raises(JsonBodyError, match=reason):
        parse_bounded(body)


def test_an_escaped_quote_does_not_end_a_string() -> None:
    body = b'{"a": "\\"[[[[[[[[", "b": [1, [2]]}'
    assert parse_bounded(body, max_nesting=3) == {"a": '"[[[[[[[[', "b": [1, [2]]}
