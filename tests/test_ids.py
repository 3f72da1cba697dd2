"""The node id codec on its own: round trips, refusals, and no email inside."""

from __future__ import annotations

import base64

import pytest

from ordergraph.ids import DecodedNodeId, NodeIdCodec

CODEC = NodeIdCodec("node-id-test-secret")
KEYS = [
    ("Order", "acme-unified:ord_1"),
    ("Order", "acme-kombo:with:colons and spaces/ü"),
    ("Candidate", "e:ada.lovelace@example.org"),
    ("Candidate", "o:acme-stackone:so_7"),
    ("Job", "j:acme-kombo:job 1"),
    ("Package", "acme-unified:pkg_001"),
    ("ProviderConnection", "acme-unified"),
]


@pytest.mark.parametrize(("type_name", "key"), KEYS)
def test_a_signed_id_decodes_to_its_key(type_name: str, key: str) -> None:
    node_id = CODEC.encode(type_name, key)
    assert CODEC.decode(type_name, node_id) == DecodedNodeId(key, legacy=False)
    # the same key always has the same id (clients cache nodes by id)
    assert CODEC.encode(type_name, key) == node_id


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize(("type_name", "key"), KEYS)
def test_a_tampered_id_is_never_a_signed_one(type_name: str, key: str) -> None:
    node_id = CODEC.encode(type_name, key)
    forged = [
        _flip(node_id, 2),  # one character of the MAC
        _flip(node_id, 17),  # its last character
        NodeIdCodec("another-secret").encode(type_name, key),  # a MAC from another secret
        CODEC.encode("Package" if type_name != "Package" else "Order", key),  # another type's
        node_id[:-1] + ("x" if not node_id.endswith("x") else "y"),  # the key changed
    ]
    for candidate in forged:
        decoded = CODEC.decode(type_name, candidate)
        # at best read as an unsigned (legacy) key, which callers check against the store
        assert decoded is None or decoded.legacy, candidate
        assert decoded is None or decoded.key != key, candidate


def test_an_unsigned_key_reads_as_legacy() -> None:
    assert CODEC.decode("Order", "acme-unified:ord_1") == DecodedNodeId(
        "acme-unified:ord_1", legacy=True
    )
    assert CODEC.decode("Candidate", "e:a@b.example") == DecodedNodeId("e:a@b.example", True)


def test_a_candidate_id_holds_no_email() -> None:
    email = "ada.lovelace@example.org"
    node_id = CODEC.encode("Candidate", f"e:{email}")
    wire = base64.b64encode(f"Candidate:{node_id}".encode()).decode()
    for text in (node_id, wire):
        assert "@" not in text
        assert "lovelace" not in text.lower()
    assert CODEC.decode("Candidate", node_id) == DecodedNodeId(f"e:{email}", legacy=False)


def test_a_sealed_email_that_was_changed_does_not_open() -> None:
    node_id = CODEC.encode("Candidate", "e:ada@example.org")
    sealed = node_id.rpartition("x:")[2]
    changed = "x:" + _flip(sealed, 20)
    # even under a valid MAC (one the secret's holder made), the seal's own check fails
    remade = f"1.{CODEC._mac('Candidate', changed)}.{changed}"
    assert CODEC.decode("Candidate", remade) is None


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        NodeIdCodec("")
