"""Content negotiation for GraphQL over HTTP: which media type a response is sent as.

The GraphQL-over-HTTP spec defines two response media types. Their status codes
differ: with ``application/graphql-response+json`` a request that fails before
execution (parse, validation, variable coercion) is a 400 with no ``data`` entry; with
``application/json`` (what older clients understand) every well-formed request gets a
200. So the media type must be chosen before anything is answered.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "APPLICATION_JSON",
    "GRAPHQL_RESPONSE_JSON",
    "accepts_html",
    "negotiate",
]

GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
APPLICATION_JSON: Final = "application/json"
_OFFERED: Final = (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)


class _Range(NamedTuple):
    """One media range of an ``Accept`` header (``type/subtype;q=...``)."""

    type: str
    subtype: str
    q: float


def _ranges(accept: str) -> list[_Range]:
    ranges: list[_Range] = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        kind, slash, sub = media.lower().partition("/")
        if not slash or not kind or not sub:
            continue  # not a media range; RFC 9110 lets us ignore it
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append(_Range(kind, sub, q))
    return ranges


def _specificity(media_range: _Range, offered: str) -> int:
    """3 for an exact match, 2 for ``type/*``, 1 for ``*/*``, 0 for no match."""
    kind, sub = offered.split("/")
    if media_range.type == kind and media_range.subtype == sub:
        return 3
    if media_range.type == kind and media_range.subtype == "*":
        return 2
    if media_range.type == "*" and media_range.subtype == "*":
        return 1
    return 0


def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or None when the client accepts neither (406).

    No ``Accept`` (or an empty one) means ``application/json``, as the spec asks for
    legacy clients. Each offered type takes the q of the most specific range that
    matches it (RFC 9110). On a tie ``application/graphql-response+json`` wins only
    when the client named it; a wildcard (``*/*``, ``application/*``) gets
    ``application/json``, which every client understands.
    """
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    ranges = _ranges(accept)
    best: tuple[float, int, int, str] | None = None
    for offered in _OFFERED:
        matches = [(r, s) for r in ranges if (s := _specificity(r, offered))]
        if not matches:
            continue
        chosen, specificity = max(matches, key=lambda match: match[1])
        if chosen.q <= 0:
            continue
        named = specificity == 3
        preferred = int(named if offered == GRAPHQL_RESPONSE_JSON else not named)
        score = (chosen.q, specificity, preferred, offered)
        if best is None or score[:3] > best[:3]:
            best = score
    return best[3] if best else None


def accepts_html(accept: str | None) -> bool:
    """True when the client names ``text/html`` (a browser asking for GraphiQL)."""
    return accept is not None and any(
        r.type == "text" and r.subtype == "html" and r.q > 0 for r in _ranges(accept)
    )
