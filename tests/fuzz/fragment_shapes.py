"""Documents of generated fragment shapes: chains, diamonds and doubling spreads,
inline fragments, directives, aliases, and now and then a cycle or an unknown name.

Fragments spread only earlier ones (a DAG: chains and diamonds), except where a shape
asks for a cycle; the operation spreads the last. Shared by the linearity property
test (tests/api/test_limits_linear.py) and the gateway fuzz test.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["bomb", "fragment_documents"]

_SCALARS = ("id", "status", "remoteId", "providerStatus", "createdAt", "testUrl")
_DIRECTIVES = ("", "", " @include(if: true)", " @skip(if: $skip)", " @include(if: $show)")


def bomb(levels: int, *, leaf: str = "id") -> str:
    """The doubling bomb: ``fragment F<n> on Order { ...F<n-1> ...F<n-1> }``."""
    parts = [
        f"query Bomb {{ orders(first: 1) {{ edges {{ node {{ ...F{levels} }} }} }} }}",
        f"fragment F1 on Order {{ {leaf} }}",
    ]
    parts += [f"fragment F{n} on Order {{ ...F{n - 1} ...F{n - 1} }}" for n in range(2, levels + 1)]
    return "\n".join(parts)


@st.composite
def _item(draw: st.DrawFn, index: int, count: int, depth: int = 0) -> str:
    """One selection of fragment ``index`` (of ``count``)."""
    kinds = ["field", "alias", "spread", "spread", "twice", "inline", "nested"]
    if index == 0:
        kinds = ["field", "alias", "inline", "nested"]
    kind = draw(st.sampled_from(kinds if depth < 2 else ["field", "alias"]))
    directive = draw(st.sampled_from(_DIRECTIVES))
    if kind == "field":
        return draw(st.sampled_from(_SCALARS)) + directive
    if kind == "alias":
        return f"a{draw(st.integers(0, 40))}: {draw(st.sampled_from(_SCALARS))}{directive}"
    if kind in ("spread", "twice"):
        target = draw(st.integers(0, index - 1))
        # Now and then a name that closes a cycle or is not defined at all.
        odd = draw(st.sampled_from([None] * 12 + ["cycle", "unknown"]))
        if odd == "cycle":
            target = draw(st.integers(index, count - 1))
        name = "Missing" if odd == "unknown" else f"F{target}"
        spread = f"...{name}{directive}"
        return f"{spread} {spread}" if kind == "twice" else spread
    inner = " ".join(draw(st.lists(_item(index, count, depth + 1), min_size=1, max_size=3)))
    if kind == "inline":
        return f"... on Order{directive} {{ {inner} }}"
    return f"candidate{directive} {{ name orders(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


@st.composite
def fragment_documents(draw: st.DrawFn, max_fragments: int = 14) -> str:
    count = draw(st.integers(1, max_fragments))
    fragments = [
        f"fragment F{index} on Order {{ "
        + " ".join(draw(st.lists(_item(index, count), min_size=1, max_size=4)))
        + " }"
        for index in range(count)
    ]
    operation = (
        "query Shapes($skip: Boolean = false, $show: Boolean = true) "
        f"{{ orders(first: 2) {{ edges {{ node {{ ...F{count - 1} }} }} }} }}"
    )
    return "\n".join([operation, *fragments])
