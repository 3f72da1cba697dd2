"""The StackOne adapter: one object per linked account (``x-account-id``)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, SecretStr

from ordergraph.concurrency import bounded_gather
from ordergraph.errors import ProviderNotFoundError, UnsupportedOperationError
from ordergraph.models import (
    CreatedOrder,
    NewOrder,
    Order,
    OrderStatus,
    Package,
    ProviderName,
    ResultSubmission,
)
from ordergraph.providers.base import (
    BaseProvider,
    Capability,
    ConnectionConfig,
    CursorPaginator,
    Page,
    iterate_pages,
)
from ordergraph.providers.http import ErrorDetail, HttpClient
from ordergraph.providers.stackone.mapping import (
    _first,
    order_to_canonical,
    package_to_canonical,
    parse_error,
    result_input_field,
    result_status,
)
from ordergraph.providers.stackone.to_wire import new_order_to_wire, result_to_wire
from ordergraph.providers.stackone.wire import (
    API_VERSIONS,
    CURRENT_API_VERSION,
    LEGACY_API_VERSION,
    PACKAGE_PAGE_SIZE,
    PREFIX,
    READ_CONCURRENCY,
    WireCreated,
    WireOrder,
    WirePackagePage,
    WireResult,
    _Data,
)

logger = logging.getLogger(__name__)
_WireT = TypeVar("_WireT", bound=BaseModel)


class StackOneProvider(BaseProvider):
    """One StackOne linked account (``x-account-id``)."""

    name = ProviderName.STACKONE
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CREATE_ORDER,
            Capability.SUBMIT_RESULT,
            Capability.LIST_PACKAGES,
            Capability.GET_ORDERS,
        }
    )
    route_templates = (
        f"{PREFIX}/packages",
        f"{PREFIX}/orders",
        f"{PREFIX}/orders/{{id}}",
        f"{PREFIX}/orders/{{id}}/result",
    )

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        http: HttpClient | None = None,
        page_size: int = PACKAGE_PAGE_SIZE,
    ) -> None:
        api_version = config.api_version or CURRENT_API_VERSION
        if api_version not in API_VERSIONS:
            msg = f"connection {config.id!r}: StackOne api_version must be one of {API_VERSIONS}"
            raise ValueError(msg)
        super().__init__(config, http=http)
        self.page_size = page_size
        self.api_version = api_version

    @property
    def reads_orders(self) -> bool:
        """Whether this connection's API version has the order reads (2025-02 only)."""
        return self.api_version == LEGACY_API_VERSION

    def supports(self, capability: Capability) -> bool:
        # ``capabilities`` says what StackOne can do in some version; reading an order
        # back needs the legacy version's GETs.
        if capability is Capability.GET_ORDERS and not self.reads_orders:
            return False
        return super().supports(capability)

    def result_input_field(self, message: str) -> tuple[str, ...] | None:
        return result_input_field(message)

    def auth_headers(self) -> dict[str, SecretStr]:
        token = base64.b64encode(f"{self.config.api_key.get_secret_value()}:".encode()).decode()
        return {
            "Authorization": SecretStr(f"Basic {token}"),
            "x-account-id": SecretStr(self.config.account),
        }

    @staticmethod
    def parse_error(status: int, body: object) -> ErrorDetail | None:
        return parse_error(status, body)

    async def _read(
        self,
        method: str,
        path: str,
        model: type[_WireT],
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> _WireT:
        """Send, then read the answer into ``model``; a wrong shape is a ProviderResponseError."""
        body = await self.http.json(
            method, path, params=params, json_body=json_body, idempotent=idempotent
        )
        return self.parse_wire(model.model_validate, body, method, path)

    # --- packages -----------------------------------------------------------------------

    async def list_packages(self) -> list[Package]:
        paginator = CursorPaginator()
        path = f"{PREFIX}/packages"

        async def fetch(token: str | None) -> Page[Package]:
            params = {"page_size": str(self.page_size)}
            if token:
                params["next"] = token
            page = await self._read("GET", path, WirePackagePage, params=params)
            items = []
            for wire in page.data:
                if _first(wire.id, wire.remote_id) is None:
                    # Allowed by the spec, but nothing can be ordered without an id.
                    logger.warning(
                        "connection %s: StackOne listed a package without id or remote_id "
                        "(name %r); left out",
                        self.config.id,
                        wire.name,
                    )
                    continue
                items.append(package_to_canonical(wire))
            return Page(items, paginator.next_token(page.next, token, len(page.data)))

        return [package async for package in iterate_pages(fetch)]

    # --- orders -------------------------------------------------------------------------

    async def create_order(self, order: NewOrder) -> CreatedOrder:
        path = f"{PREFIX}/orders"
        body = new_order_to_wire(order)
        # Not idempotent: a POST retried after a 5xx could create the order twice.
        created = await self._read("POST", path, WireCreated, json_body=body, idempotent=False)
        order_id = _first(created.id, created.remote_id)
        if order_id is None:
            # Not retried, by us or the caller's automation: StackOne answered 2xx, so
            # the order may well exist there, and a second POST would make another.
            raise self.http.bad_shape(
                "POST",
                path,
                "StackOne accepted the order but returned no id; the order may exist at "
                "StackOne: check there before creating it again",
            )
        canonical = order_to_canonical(
            WireOrder.model_validate(body), remote_id=order_id, test_url=created.test_url
        )
        return CreatedOrder(remote_id=order_id, test_url=created.test_url, order=canonical)

    async def submit_result(
        self, remote_id: str, result: ResultSubmission
    ) -> tuple[OrderStatus, str | None]:
        path = f"{PREFIX}/orders/{quote(remote_id, safe='')}/result"
        body = result_to_wire(result)
        # Setting a result twice leaves the same result: safe to retry. The 200 body
        # (UpdateResult) only echoes the status, so it is not read: a stored result
        # must not turn into an error because of the acknowledgement's shape.
        await self.http.request("PATCH", path, json_body=body, idempotent=True)
        # StackOne orders have no status of their own: reading one back reports its
        # result's value, so that is the status the order now has.
        wire_result = body.get("result") or {}
        status, word = result_status(wire_result.get("value"), wire_result.get("source_value"))
        return (status or result.status), word

    async def get_orders(self, remote_ids: Sequence[str]) -> dict[str, Order]:
        """Orders by id through the legacy 2025-02 GETs; absent ids are left out.

        ``UnsupportedOperationError`` (no request made) when the connection speaks the
        current version, which has no order read."""
        if not self.reads_orders:
            raise UnsupportedOperationError(
                f"StackOne API {self.api_version} has no order read (connection "
                f"{self.config.id}; set api_version = {LEGACY_API_VERSION!r} to read orders)",
                provider=self.name.value,
                connection_id=self.config.id,
            )
        # One failure fails the call, and the reads still running stop with it.
        found = await bounded_gather(
            (self._get_order(i) for i in dict.fromkeys(remote_ids)), limit=READ_CONCURRENCY
        )
        return {order.remote_id: order for order in found if order is not None}

    async def _get_order(self, remote_id: str) -> Order | None:
        path = f"{PREFIX}/orders/{quote(remote_id, safe='')}"
        try:
            order = await self._read("GET", path, _Data)
        except ProviderNotFoundError:
            return None
        try:
            result: _Data | None = await self._read("GET", f"{path}/results", _Data)
        except ProviderNotFoundError:
            result = None  # no result written yet, if the vendor says so with a 404
        wire_order = self.parse_wire(WireOrder.model_validate, order.data, "GET", path)
        wire_result = (
            self.parse_wire(WireResult.model_validate, result.data, "GET", f"{path}/results")
            if result
            else None
        )
        try:
            return order_to_canonical(wire_order, remote_id=remote_id, result=wire_result)
        except ValueError as exc:
            raise self.http.bad_shape("GET", path, str(exc)) from None
