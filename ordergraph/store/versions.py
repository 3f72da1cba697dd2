"""Where a tenant's data version starts.

Response caches (``ordergraph.api.response_cache``) key whole answers on the tenant's
data version, in a shared cache (Redis) that outlives the store it describes: an
operator who recreates the database (a restore, a staging reset, ``migrate`` on an empty
one) while Redis keeps its entries would see the new store count 1, 2, 3 again, and
every version that matched an old entry would be answered with the old store's data
until the entry's TTL ran out. So a tenant's first write starts its count at a random
point in a space of 2**48 (still exact as a JSON number and in a JavaScript client):
a new store's versions meet an old store's only by a chance of about one in 10**14 per
version, and versions still only grow.
"""

from __future__ import annotations

import secrets
from typing import Final

__all__ = ["first_data_version"]

START_SPACE: Final = 2**48
"""Random starts are drawn below this, far below the column's 2**63 (a BigInteger)."""


def first_data_version() -> int:
    """The version a tenant's state row starts at; its first write makes it one more."""
    return 1 + secrets.randbelow(START_SPACE)
