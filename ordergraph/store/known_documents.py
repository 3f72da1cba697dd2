"""The order documents a page read already holds, by content hash: a page asks the
database for its rows' keys and hashes, and for documents only where the hash is new.

A page used to select every row's whole ``data`` column: PostgreSQL rendered fifty
``jsonb`` documents (~2.4 KB each here) as text for every page, ~1.2 ms of its CPU per
50-order request under wrk (more than a third of the gateway's own), and the gateway
received ~120 KB to look each text up in ``decoded.DECODED_ORDERS``, only to find the
same documents as on the page before. Now the page's statement selects ``content_hash``
in place of ``data``; the documents whose hash this store has not seen are fetched in a
second statement, only for those rows.

Exact by construction: ``content_hash`` is the SHA-256 of the canonical JSON of the very
document stored with it (every write sets both from one ``rows.PreparedOrder``:
``prepare_order``, ``with_kept_result``, ``with_kept_status``), so within one store a
hash names one document. A document fetched for a hash is checked against it: a row
that changed (or went) between the two statements makes the caller read the page whole,
in one statement, as before; so a page never mixes two moments. Kept per store (its
rows only), bounded by entries and text size; the decoded models are ``DECODED_ORDERS``'
own, shared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergraph.models import Order
from ordergraph.store.decoded import DECODED_ORDERS, TextBoundedOrders, document_text
from ordergraph.store.engine import unbudgeted
from ordergraph.store.tables import orders as orders_table

__all__ = ["KnownDocuments"]

_DOCUMENTS = sa.select(
    orders_table.c.id, orders_table.c.content_hash, document_text(orders_table.c.data)
)


class KnownDocuments(TextBoundedOrders):
    """Decoded order documents by content hash, for one store, bounded as
    ``DECODED_ORDERS`` is (entries, and the text the documents were read from)."""

    def __init__(self, **bounds: int) -> None:
        super().__init__(**bounds)
        self.fetched = 0  # documents read from the database (tests, benches)

    async def orders_of(
        self, conn: AsyncConnection, tenant: str, rows: Sequence[Mapping[Any, Any]]
    ) -> dict[str, Order] | None:
        """The ``Order`` of each row (``id``, ``content_hash``), by order id; documents
        not known yet are read on ``conn``. None when a row no longer holds the document
        its hash named (changed or deleted since the rows were read)."""
        found: dict[str, Order] = {}
        missing: dict[str, str] = {}
        for row in rows:
            order = self.get(row["content_hash"])
            if order is None:
                missing[row["id"]] = row["content_hash"]
            else:
                found[row["id"]] = order
        if not missing:
            return found
        # Part of the page read that asked (one per page, bounded by its rows), so
        # charged to no operation's statement budget on its own.
        wanted = orders_table.c.tenant == tenant, orders_table.c.id.in_(list(missing))
        result = await conn.execute(unbudgeted(_DOCUMENTS.where(*wanted)))
        fetched = {row["id"]: row for row in result.mappings()}
        for order_id, content_hash in missing.items():
            document = fetched.get(order_id)
            if document is None or document["content_hash"] != content_hash:
                return None
            text = document["data"]
            order = DECODED_ORDERS.order(text)
            self.fetched += 1
            found[order_id] = order
            self.put(content_hash, order, len(text) if isinstance(text, str) else self.max_bytes)
        return found
