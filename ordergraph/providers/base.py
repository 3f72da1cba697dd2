"""What every provider adapter is: the protocol, its capabilities, pages and paginators.

An adapter object serves one *connection*: one customer account at one provider
(a Unified connection id, a StackOne ``x-account-id``, a Kombo ``X-Integration-Id``).
Adapters translate between the vendor's wire format and ``ordergraph.models``; the
wire models never leave the adapter's module.

``BaseProvider`` answers every operation with ``UnsupportedOperationError`` so an
adapter overrides only what its vendor can do and declares it in ``capabilities``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from ordergraph.errors import UnsupportedOperationError
from ordergraph.models import (
    CreatedOrder,
    NewOrder,
    Order,
    OrderStatus,
    Package,
    ProviderName,
    ResultSubmission,
)
from ordergraph.providers.http import ErrorDetail, HttpClient, RetryPolicy, Timeouts

__all__ = [
    "BaseProvider",
    "Capability",
    "ConnectionConfig",
    "CursorPaginator",
    "OffsetPaginator",
    "Page",
    "Provider",
    "WebhookDelivery",
    "describe_validation",
    "iterate_pages",
]

T = TypeVar("T")


def describe_validation(exc: ValidationError) -> str:
    """Where and how a payload broke a wire model, without echoing its values (a
    provider's body holds candidates' personal data)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


class Capability(StrEnum):
    """Operations an adapter may support (the README's capability table)."""

    LIST_ORDERS = "LIST_ORDERS"
    GET_ORDERS = "GET_ORDERS"
    CREATE_ORDER = "CREATE_ORDER"
    SUBMIT_RESULT = "SUBMIT_RESULT"
    LIST_PACKAGES = "LIST_PACKAGES"
    PUBLISH_PACKAGES = "PUBLISH_PACKAGES"
    RECEIVE_WEBHOOKS = "RECEIVE_WEBHOOKS"
    REGISTER_WEBHOOK = "REGISTER_WEBHOOK"


class ConnectionConfig(BaseModel):
    """Everything an adapter needs to talk to one connection.

    ``account`` is the provider-side id: Unified connection id, StackOne
    ``x-account-id``, Kombo ``X-Integration-Id``. Secrets are ``SecretStr``: their
    repr and str are masked.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    provider: ProviderName
    base_url: str
    api_key: SecretStr
    account: str
    webhook_secret: SecretStr | None = None
    # The vendor API version the connection speaks, where the vendor has several
    # (StackOne); None = the adapter's current one.
    api_version: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_attempts: int = 4
    max_retry_delay: float = 30.0
    pool_size: int = 20

    def timeouts(self) -> Timeouts:
        return Timeouts(connect=self.connect_timeout, read=self.read_timeout)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_total_delay=self.max_retry_delay,
            max_retry_after=self.max_retry_delay,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a provider list and the token for the next (None at the end)."""

    items: Sequence[T]
    next_token: str | None = None


class CursorPaginator:
    """The next token is the cursor the provider returned (Kombo ``data.next``,
    StackOne ``next``); None or empty ends the list."""

    def next_token(self, page_cursor: str | None, current: str | None, count: int) -> str | None:
        del current, count
        return page_cursor or None


class OffsetPaginator:
    """Offset paging over bare arrays (Unified): a page shorter than ``limit`` is
    the only end-of-data signal the API gives."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def next_token(self, page_cursor: str | None, current: str | None, count: int) -> str | None:
        del page_cursor
        if count < self.limit:
            return None
        return str(int(current or "0") + count)


async def iterate_pages(
    fetch: Callable[[str | None], Awaitable[Page[T]]],
    *,
    max_pages: int = 100_000,
) -> AsyncIterator[T]:
    """Yield every item of a paged list, stopping at the end or at a repeated token
    (a provider that loops would otherwise keep us paging forever)."""
    token: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page = await fetch(token)
        for item in page.items:
            yield item
        token = page.next_token
        # An empty token ends the list too: fetching with "" would restart at page one.
        if not token or token in seen:
            return
        seen.add(token)


@dataclass(frozen=True)
class WebhookDelivery:
    """A verified webhook, mapped: the orders it carries and how to recognise a replay.

    ``kind`` is the vendor's delivery type (Unified ``INITIAL-PARTIAL`` ...,
    Kombo ``assessment:order-received``); ``event_id`` is the vendor's event id where
    it sends one (Kombo), ``nonce`` Unified's per-delivery nonce; ``account`` is the
    provider-side account the orders belong to.
    """

    provider: ProviderName
    kind: str
    orders: Sequence[Order]
    account: str | None = None
    event_id: str | None = None
    nonce: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """One connection's adapter. Every method may raise a ``ProviderError``."""

    name: ClassVar[ProviderName]
    capabilities: ClassVar[frozenset[Capability]]
    config: ConnectionConfig

    def supports(self, capability: Capability) -> bool: ...

    async def list_orders(
        self,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        created_after: datetime | None = None,
    ) -> Page[Order]: ...

    def iter_orders(
        self,
        *,
        statuses: Sequence[OrderStatus] | None = None,
        created_after: datetime | None = None,
    ) -> AsyncIterator[Order]: ...

    async def get_orders(self, remote_ids: Sequence[str]) -> dict[str, Order]: ...

    async def create_order(self, order: NewOrder) -> CreatedOrder: ...

    def check_result(self, result: ResultSubmission) -> None: ...

    def result_input_field(self, message: str) -> tuple[str, ...] | None: ...

    async def submit_result(
        self, remote_id: str, result: ResultSubmission
    ) -> tuple[OrderStatus, str | None]: ...

    async def list_packages(self) -> list[Package]: ...

    async def publish_packages(self, packages: Sequence[Package]) -> list[str]: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery: ...

    async def register_webhook(self, hook_url: str, *, include_all: bool = True) -> str: ...

    async def close(self) -> None: ...


class BaseProvider:
    """Shared plumbing: config, the HTTP client, and 'unsupported' defaults."""

    name: ClassVar[ProviderName]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    # Page size for walking a whole list (iter_orders): the provider's maximum, so a
    # full sync costs as few round trips as the API allows. None = provider default.
    bulk_page_size: ClassVar[int | None] = None
    # The adapter's endpoint paths with ``{name}`` for each variable segment: metrics
    # label upstream calls by these, never by a path holding ids.
    route_templates: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ConnectionConfig, *, http: HttpClient | None = None) -> None:
        if config.provider is not self.name:
            msg = f"{type(self).__name__} cannot serve a {config.provider} connection"
            raise ValueError(msg)
        self.config = config
        self.http = http or HttpClient(
            provider=self.name.value,
            connection_id=config.id,
            base_url=config.base_url,
            auth_headers=self.auth_headers(),
            error_parser=self.parse_error,
            timeouts=config.timeouts(),
            retry=config.retry_policy(),
            pool_size=config.pool_size,
            routes=self.route_templates,
        )

    def __repr__(self) -> str:
        config = self.config
        return f"{type(self).__name__}(connection={config.id!r}, account={config.account!r})"

    # --- hooks an adapter defines -------------------------------------------------

    def auth_headers(self) -> dict[str, SecretStr]:
        """Headers sent on every request (credentials, account header)."""
        raise NotImplementedError

    @staticmethod
    def parse_error(status: int, body: object) -> ErrorDetail | None:
        """Read the vendor's error body; None when it is not the vendor's shape."""
        del status, body
        return None

    def parse_wire(self, validate: Callable[[Any], T], payload: Any, method: str, path: str) -> T:
        """``validate(payload)`` (a wire model's ``model_validate``), or a
        ``ProviderResponseError`` naming where the 2xx body broke the documented shape.

        Raised ``from None``: pydantic's error carries the body's values (personal
        data), which must not ride along into logs as the exception's cause.
        """
        try:
            return validate(payload)
        except ValidationError as exc:
            detail = describe_validation(exc)
        raise self.http.bad_shape(method, path, detail)

    # --- operations ---------------------------------------------------------------

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def unsupported(self, operation: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(
            f"{self.name.value} has no operation to {operation}",
            provider=self.name.value,
            connection_id=self.config.id,
        )

    async def list_orders(
        self,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        created_after: datetime | None = None,
    ) -> Page[Order]:
        raise self.unsupported("list orders")

    async def iter_orders(
        self,
        *,
        statuses: Sequence[OrderStatus] | None = None,
        created_after: datetime | None = None,
    ) -> AsyncIterator[Order]:
        async def fetch(token: str | None) -> Page[Order]:
            return await self.list_orders(
                cursor=token,
                page_size=self.bulk_page_size,
                statuses=statuses,
                created_after=created_after,
            )

        async for order in iterate_pages(fetch):
            yield order

    async def get_orders(self, remote_ids: Sequence[str]) -> dict[str, Order]:
        raise self.unsupported("read orders")

    async def create_order(self, order: NewOrder) -> CreatedOrder:
        raise self.unsupported("create orders")

    def check_result(self, result: ResultSubmission) -> None:
        """Raise ``ValueError`` when this provider cannot express ``result`` at all (a
        status it lacks): checked before a result is recorded for later delivery, so
        what can never be sent is refused at once. No I/O."""
        del result

    def result_input_field(self, message: str) -> tuple[str, ...] | None:
        """The result input field (a path below ``submitResult``'s ``input``) that a
        refusal of a result names in the vendor's words (an error body's message, or a
        ``check_result`` error); None when it names none this adapter knows."""
        del message
        return None

    async def submit_result(
        self, remote_id: str, result: ResultSubmission
    ) -> tuple[OrderStatus, str | None]:
        """Write the result; returns the order's status as the provider now holds it
        (canonical, and the provider's own word), i.e. what a later read reports: a
        provider with coarser statuses (Kombo) records less than was submitted."""
        raise self.unsupported("take results")

    async def list_packages(self) -> list[Package]:
        raise self.unsupported("list packages")

    async def publish_packages(self, packages: Sequence[Package]) -> list[str]:
        raise self.unsupported("publish packages")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        raise self.unsupported("send webhooks")

    async def register_webhook(self, hook_url: str, *, include_all: bool = True) -> str:
        raise self.unsupported("register webhooks")

    async def close(self) -> None:
        await self.http.close()
