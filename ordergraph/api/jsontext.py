"""Compact JSON for bodies and cache keys: orjson, with the stdlib for what it refuses.

orjson refuses integers outside 64 bits (``TypeError: Integer exceeds 64-bit range``),
which any client can send as a variable; the stdlib encodes them. The fallback runs
only for such values, so the common path keeps orjson's speed.
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

__all__ = ["dumps"]

_OPTIONS: Final = orjson.OPT_NON_STR_KEYS
_SORTED: Final = orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """``value`` as compact UTF-8 JSON; keys sorted when asked (for stable cache keys)."""
    try:
        return orjson.dumps(value, option=_SORTED if sort_keys else _OPTIONS, default=str)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys, default=str
        ).encode()
