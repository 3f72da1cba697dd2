"""Stored order documents decoded once per process, not once per read.

Every read of an order used to decode its ``data`` column twice over: the driver's
JSON decode into dicts, then pydantic validating those dicts into an ``Order`` again
(~110 µs an order, ~5.5 ms of a 50-order page on these machines; the page's SQL is
~1 ms of it). The document was validated when it was ingested, and the store is the
only writer of the column, so a read may trust it: each distinct text is decoded once
and the frozen ``Order`` it gave is shared by every later read of the same text.

Keyed by the document's exact text, not by order id and version: a value is a pure
function of its key, so nothing can be served that the row does not hold now,
whichever tenant, store or backend reads it (PostgreSQL renders ``jsonb`` in its one
canonical text, SQLite hands back the text it stored). Reads select the column as text
(``document_text``): the same statements, one cast more.

Bounded by entries and by text size: an entry keeps its text and the decoded model
(a few times the text), least recently read first out.
"""

from __future__ import annotations

import json
from typing import Any, Final

import sqlalchemy as sa
from pydantic import ValidationError

from ordergraph.models import Order
from ordergraph.weighted_lru import WeightedLRU

__all__ = ["DECODED_ORDERS", "DecodedOrders", "TextBoundedOrders", "document_text"]

_MAX_ENTRIES: Final = 4096
_MAX_TEXT_BYTES: Final = 16 * 1024 * 1024


def document_text(column: sa.Column[Any]) -> sa.Label[Any]:
    """``column`` (a JSON document), under its own name, read as text. A cast, not
    only a type for the result: asyncpg decodes ``jsonb`` itself (SQLAlchemy installs
    the codec); on SQLite, whose JSON is text, the cast does nothing."""
    return sa.cast(column, sa.Text).label(column.name)


class TextBoundedOrders(WeightedLRU[str, Order]):
    """``Order`` models by a string key, an LRU bounded by entries and by the size of
    the text each model was decoded from (a model is a few times its text), a document
    over a 64th of that not kept. This cache's and ``known_documents``' bound."""

    def __init__(
        self, *, max_entries: int = _MAX_ENTRIES, max_text_bytes: int = _MAX_TEXT_BYTES
    ) -> None:
        super().__init__(
            max_entries=max_entries,
            max_bytes=max_text_bytes,
            max_entry_bytes=max_text_bytes // 64,
        )

    @property
    def text_bytes(self) -> int:
        return self.bytes


class DecodedOrders(TextBoundedOrders):
    """``Order`` models by the exact text of their stored document."""

    def __init__(self, **bounds: int) -> None:
        super().__init__(**bounds)
        self.misses = 0

    def order(self, document: str | dict[str, Any]) -> Order:
        """The ``Order`` a stored document holds. A dict (a read that let the driver
        decode it) is validated as before and not kept."""
        if not isinstance(document, str):
            return Order.model_validate(document)
        order = self.get(document)
        if order is not None:
            return order
        self.misses += 1
        try:
            # One pass from text to model in pydantic-core (no dicts in between).
            order = Order.model_validate_json(document)
        except ValidationError:
            # Whatever JSON's own parser reads that pydantic-core's does not (NaN was
            # written by json.dumps) is decoded the way it always was.
            order = Order.model_validate(json.loads(document))
        self.put(document, order, len(document))
        return order


DECODED_ORDERS: Final = DecodedOrders()
"""The process's one cache (its values depend on nothing but their keys)."""
