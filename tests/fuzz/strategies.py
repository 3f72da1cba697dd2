"""Hypothesis strategies for the fuzz suite: documents, JSON values, headers, ids."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import strategies as st

from tests.api.helpers import DASHBOARD

__all__ = [
    "ACCEPTS",
    "CONTENT_TYPES",
    "DOCUMENTS",
    "deep_json",
    "documents",
    "global_ids",
    "json_values",
    "mutated_documents",
    "raw_json_texts",
    "to_json",
]

# The README's examples (queries and a mutation) and the dashboard of tests/api.
DOCUMENTS = (
    DASHBOARD,
    """query Dashboard($after: String) {
  orders(first: 50, after: $after, orderBy: {direction: DESC}) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id provider status createdAt candidate { name emails }
      job { title hiringTeam { email } } package { name } result { score maxScore } } }
  }
}""",
    """query OpenForCandidate {
  orders(first: 20, filter: {statuses: [OPEN, IN_PROGRESS], providers: [KOMBO],
    candidateEmail: "ada@example.com", createdAfter: "2026-01-01T00:00:00Z"}) {
    totalCount nodes { id remoteId status providerStatus }
  }
}""",
    """query Lookup($id: ID!) {
  node(id: $id) { id
    ... on Order { status candidate { name } }
    ... on Candidate { name orders(first: 5) { totalCount } }
    ... on ProviderConnection { provider capabilities syncStatus { lastSyncedAt lastError } }
  }
}""",
    """query Search($search: String, $first: Int, $after: String) {
  candidates(first: $first, after: $after, search: $search) {
    totalCount edges { cursor node { id name emails } }
  }
  orders(first: 3, filter: {search: $search}) { totalCount }
}""",
    """mutation Result($orderId: ID!) {
  submitResult(input: {orderId: $orderId, status: COMPLETED, score: 87.5, maxScore: 100,
    url: "https://assessments.example.com/results/42", completedAt: "2026-11-22T10:00:00Z",
    idempotencyKey: "result-42"}) {
    order { id status result { score maxScore } }
    errors { code message field }
  }
}""",
    """query Two { a: connections { id provider } b: orders(last: 2) { nodes { id } } }
query Other { connections { id } }""",
)

# Characters GraphQL gives meaning to, plus a few that break lexers.
_PUNCTUATION = [*"{}()[]:!$@=|&.,\"'\\#\n\t ", "...", '"""', "\x00", "\u2028", "é"]
_WORDS = ["query", "mutation", "subscription", "fragment", "on", "orders", "node", "id",
          "first", "after", "null", "true", "1e999", "-0", "__typename", "__schema",
          "@include(if: true)", "$id", "edges", "... on Order"]  # fmt: skip


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """A valid document with a few random edits (deletes, inserts, duplications)."""
    text = draw(st.sampled_from(DOCUMENTS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "truncate"]))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif kind == "insert":
            piece = draw(st.sampled_from([*_PUNCTUATION, *_WORDS]) | st.text(max_size=5))
            text = text[:at] + piece + text[at:]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + draw(st.integers(1, 40))] + text[at:]
        else:
            text = text[:at]
    return text


def _nested_selection(depth: int) -> str:
    return "{ orders(first: 1) { nodes { candidate { " * depth + "id" + " } } } }" * depth


documents = st.one_of(
    st.sampled_from(DOCUMENTS),
    mutated_documents(),
    st.text(max_size=200),
    st.integers(1, 60).map(_nested_selection),
    st.integers(1, 3000).map(lambda n: "{ " + "a: __typename " * n + "}"),
)

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "\x00", "OPEN", "2026-01-01T00:00:00Z", "not-a-date", "9" * 400]),
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner)


json_values = st.recursive(_leaves, _containers, max_leaves=12)


def deep_json(depth: int) -> str:
    """JSON nested ``depth`` levels deep (as text: encoders refuse to nest that far)."""
    return '{"a":' * depth + "1" + "}" * depth


# JSON texts Python's own encoder would never write.
raw_json_texts = st.one_of(
    st.integers(100, 200_000).map(lambda n: "[" * n + "]" * n),
    st.integers(100, 100_000).map(deep_json),
    st.just('{"query": "{ __typename }", "variables": {"n": ' + "9" * 5000 + "}}"),
    st.just('{"query": "{ __typename }", "variables": {"n": NaN, "m": Infinity}}'),
    st.just('{"query": "{ __typename }", "query": 1}'),
    st.just('{"query": "{ __typename }", "variables": {"a": "\\ud800"}}'),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/graphql-response+json",
        "application/graphql",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        ";;;",
        "application/json; charset",
    ]
)
ACCEPTS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "*/*",
            "application/json",
            "application/graphql-response+json",
            "application/graphql-response+json;q=0.9, application/json;q=0.1",
            "application/json;q=0",
            "text/html",
            "application/xml",
            "*/*;q=abc",
            ",,,",
            "application/*;q=1e999",
        ]
    ),
    # Whatever a client can put in a header (aiohttp refuses control characters).
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)

_TYPE_NAMES = ["Order", "Candidate", "Job", "Package", "ProviderConnection", "OrderEvent", ""]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def global_ids(real: list[str]) -> st.SearchStrategy[str]:
    """Ids that are not the caller's: made up, mangled, or real ones of another tenant."""
    made_up = st.builds(
        lambda kind, key: _b64(f"{kind}:{key}"),
        st.sampled_from(_TYPE_NAMES) | st.text(max_size=10),
        st.text(max_size=30) | st.sampled_from(real or ["x"]),
    )
    return st.one_of(
        st.text(max_size=60),
        made_up,
        st.sampled_from(real or ["x"]),
        st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()),
        st.just(_b64("Order:" + "a" * 5000)),
    )


def to_json(value: Any) -> str:
    return json.dumps(value, allow_nan=False)
