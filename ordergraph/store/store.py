"""``Store``: every part of the store over one engine, opened and closed together."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncEngine

from ordergraph.store.connections import ConnectionStore
from ordergraph.store.deliveries import DeliveryQueue
from ordergraph.store.engine import create_engine
from ordergraph.store.id_signing import NodeIds
from ordergraph.store.idempotency import IdempotencyStore
from ordergraph.store.migrate import ensure_schema
from ordergraph.store.orders import DEFAULT_PAGE_SIZE, OrderStore
from ordergraph.store.receipts import WebhookReceipts
from ordergraph.store.results import ResultLedger
from ordergraph.store.sync_state import SyncStateStore

__all__ = ["Store"]


@dataclass(frozen=True, slots=True)
class Store:
    """The order index, connections, sync state, idempotency keys, delivery queue and
    webhook receipts of one database; ``results`` writes an order's result together
    with its delivery."""

    engine: AsyncEngine
    orders: OrderStore
    sync_state: SyncStateStore
    idempotency: IdempotencyStore
    deliveries: DeliveryQueue
    webhook_receipts: WebhookReceipts
    results: ResultLedger
    # Signs the node ids handed out (ordergraph/ids.py) with the cursor secret.
    ids: NodeIds
    # Customer accounts (file, admin API, provider events) and their changes.
    connections: ConnectionStore

    @classmethod
    def from_engine(
        cls,
        engine: AsyncEngine,
        *,
        cursor_secret: str | bytes,
        default_page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Store:
        """Build every part over an existing engine (the caller keeps ownership)."""
        orders = OrderStore(
            engine, cursor_secret=cursor_secret, default_page_size=default_page_size
        )
        deliveries = DeliveryQueue(engine)
        return cls(
            engine=engine,
            orders=orders,
            sync_state=SyncStateStore(engine),
            idempotency=IdempotencyStore(engine),
            deliveries=deliveries,
            webhook_receipts=WebhookReceipts(engine),
            results=ResultLedger(engine, orders, deliveries),
            ids=NodeIds(engine, cursor_secret),
            connections=ConnectionStore(engine, orders),
        )

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        cursor_secret: str | bytes,
        auto_migrate: bool = False,
        default_page_size: int = DEFAULT_PAGE_SIZE,
        pool_size: int | None = None,
        max_overflow: int | None = None,
    ) -> Store:
        """Open the store at ``url`` after checking (or, if told, bringing) it up to date;
        ``pool_size`` and ``max_overflow`` size its connection pool (None: SQLAlchemy's).

        Raises ``StoreNotMigratedError`` naming the command to run when it is not.
        """
        await ensure_schema(url, auto_migrate=auto_migrate)
        pool: dict[str, int] = {}
        if pool_size is not None:
            pool["pool_size"] = pool_size
        if max_overflow is not None:
            pool["max_overflow"] = max_overflow
        return cls.from_engine(
            create_engine(url, **pool),
            cursor_secret=cursor_secret,
            default_page_size=default_page_size,
        )

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
