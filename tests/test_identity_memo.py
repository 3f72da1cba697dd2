"""Values kept per object identity: the same object is not worked out again, an equal
new one is, and the memo holds to its bound."""

from __future__ import annotations

from ordergraph.identity_memo import IdentityMemo


def test_the_same_object_is_made_once_and_an_equal_new_one_again() -> None:
    memo: IdentityMemo[int] = IdentityMemo(8)
    made: list[tuple[str, ...]] = []

    def make(source: tuple[str, ...]) -> int:
        made.append(source)
        return len(source)

    first = ("a", "b")
    assert memo.get(first, lambda: make(first)) == 2
    assert memo.get(first, lambda: make(first)) == 2
    assert made == [first]
    replaced = tuple(["a", "b"])  # equal, but another object: a change, worked out again
    assert memo.get(replaced, lambda: make(replaced)) == 2
    assert len(made) == 2


def test_the_oldest_entries_go_past_the_bound() -> None:
    memo: IdentityMemo[int] = IdentityMemo(3)
    sources = [[n] for n in range(5)]
    for n, source in enumerate(sources):
        memo.get(source, lambda n=n: n)
    assert len(memo) == 3
    assert memo.get(sources[0], lambda: -1) == -1  # dropped, made again
    assert memo.get(sources[4], lambda: -1) == 4
