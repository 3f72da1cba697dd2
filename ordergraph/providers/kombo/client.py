"""The Kombo adapter: one object per integration (``X-Integration-Id``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, SecretStr, ValidationError

from ordergraph.concurrency import bounded_gather
from ordergraph.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderError,
    WebhookPayloadError,
)
from ordergraph.models import (
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
    WebhookDelivery,
    describe_validation,
    iterate_pages,
)
from ordergraph.providers.http import ErrorDetail, HttpClient
from ordergraph.providers.kombo.mapping import (
    format_datetime,
    order_to_canonical,
    package_to_canonical,
    status_filter,
    status_to_canonical,
)
from ordergraph.providers.kombo.to_wire import package_to_wire, result_input_field, result_to_wire
from ordergraph.providers.kombo.webhooks import (
    ORDER_EVENTS,
    SIGNATURE_HEADER,
    _header,
    verify_signature,
)
from ordergraph.providers.kombo.wire import (
    MAX_PAGE_SIZE,
    KomboOrdersResponse,
    KomboPackagesResponse,
    KomboWebhookEvent,
    KomboWebhookOrder,
    KomboWriteResponse,
)

logger = logging.getLogger(__name__)
# Concurrent ``ids`` lookups per get_orders call: fast, without tripping rate limits.
GET_ORDERS_CONCURRENCY = 4
_AUTH_CODES = frozenset({"PLATFORM.INTEGRATION_NOT_FOUND", "PLATFORM.AUTHENTICATION_INVALID"})
M = TypeVar("M", bound=BaseModel)


class KomboProvider(BaseProvider):
    """One Kombo integration (see the module docstring for the choices made)."""

    name = ProviderName.KOMBO
    capabilities = frozenset(
        {
            Capability.LIST_ORDERS,
            Capability.GET_ORDERS,
            Capability.SUBMIT_RESULT,
            Capability.LIST_PACKAGES,
            Capability.PUBLISH_PACKAGES,
            Capability.RECEIVE_WEBHOOKS,
        }
    )
    bulk_page_size = MAX_PAGE_SIZE
    route_templates = (
        "/assessment/orders",
        "/assessment/orders/{id}/result",
        "/assessment/packages",
    )

    def __init__(self, config: ConnectionConfig, *, http: HttpClient | None = None) -> None:
        if not config.account.strip():
            msg = f"connection {config.id!r}: a Kombo connection needs its integration id"
            raise ConfigError(msg)
        super().__init__(config, http=http)
        self._paginator = CursorPaginator()

    def auth_headers(self) -> dict[str, SecretStr]:
        return {
            "Authorization": SecretStr("Bearer " + self.config.api_key.get_secret_value()),
            "X-Integration-Id": SecretStr(self.config.account),
        }

    @staticmethod
    def parse_error(status: int, body: object) -> ErrorDetail | None:
        """``{"status": "error", "error": {code, title, message, log_url}}``."""
        del status
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None
        message, code, log_url = error.get("message"), error.get("code"), error.get("log_url")
        if not isinstance(message, str) or not message:
            return None
        return ErrorDetail(
            message=message,
            code=code if isinstance(code, str) else None,
            log_url=log_url if isinstance(log_url, str) else None,
        )

    # --- plumbing -------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        """``http.json`` with Kombo's auth codes made a ``ProviderAuthError``."""
        try:
            return await self.http.json(method, path, params=params, json_body=json_body)
        except ProviderError as exc:
            if exc.code not in _AUTH_CODES or isinstance(exc, ProviderAuthError):
                raise
            raise ProviderAuthError(
                exc.message,
                provider=exc.provider,
                connection_id=exc.connection_id,
                status=exc.status,
                code=exc.code,
                method=exc.method,
                path=exc.path,
                log_url=exc.log_url,
            ) from exc

    def _parse(self, model: type[M], payload: Any, method: str, path: str) -> M:
        return self.parse_wire(model.model_validate, payload, method, path)

    async def _orders_page(self, params: Mapping[str, str], cursor: str | None) -> Page[Order]:
        path = "/assessment/orders"
        payload = await self._json("GET", path, params=params)
        data = self._parse(KomboOrdersResponse, payload, "GET", path).data
        raw_items = payload["data"]["results"]  # the shape was just checked
        orders = [
            order_to_canonical(wire, raw) for wire, raw in zip(data.results, raw_items, strict=True)
        ]
        return Page(orders, self._paginator.next_token(data.next, cursor, len(orders)))

    # --- orders ---------------------------------------------------------------------

    async def list_orders(
        self,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        created_after: datetime | None = None,
    ) -> Page[Order]:
        params: dict[str, str] = {}
        if page_size is not None:
            if not 1 <= page_size <= MAX_PAGE_SIZE:
                msg = f"Kombo page_size must be from 1 to {MAX_PAGE_SIZE}, got {page_size}"
                raise ValueError(msg)
            params["page_size"] = str(page_size)
        wanted = status_filter(statuses)
        if wanted == []:
            return Page([], None)  # no Kombo order can be in the statuses asked for
        if wanted:
            params["statuses"] = ",".join(wanted)
        if created_after is not None:
            params["created_after"] = format_datetime(created_after)
        if cursor:
            params["cursor"] = cursor
        return await self._orders_page(params, cursor)

    async def get_orders(self, remote_ids: Sequence[str]) -> dict[str, Order]:
        """Orders by id: one ``ids`` lookup per 250 ids, a few at a time; ids Kombo
        does not know are absent from the result. An id with a comma cannot be put in
        the ``ids`` list (no Kombo id has one) and is reported missing."""
        unique = list(dict.fromkeys(i for i in remote_ids if i and "," not in i))
        batches = [unique[i : i + MAX_PAGE_SIZE] for i in range(0, len(unique), MAX_PAGE_SIZE)]
        # One failure fails the call, and the lookups still running stop with it.
        pages = await bounded_gather(
            (self._orders_by_ids(batch) for batch in batches), limit=GET_ORDERS_CONCURRENCY
        )
        wanted = set(unique)
        return {
            order.remote_id: order for page in pages for order in page if order.remote_id in wanted
        }

    async def _orders_by_ids(self, ids: list[str]) -> list[Order]:
        params = {"ids": ",".join(ids), "page_size": str(MAX_PAGE_SIZE)}

        async def fetch(token: str | None) -> Page[Order]:
            return await self._orders_page(params | ({"cursor": token} if token else {}), token)

        return [order async for order in iterate_pages(fetch)]

    # --- writes ---------------------------------------------------------------------

    def check_result(self, result: ResultSubmission) -> None:
        result_to_wire(result)

    def result_input_field(self, message: str) -> tuple[str, ...] | None:
        return result_input_field(message)

    async def submit_result(
        self, remote_id: str, result: ResultSubmission
    ) -> tuple[OrderStatus, str | None]:
        """``PUT`` the result (idempotent, so the HTTP layer may retry it); the order's
        status becomes the result status Kombo was sent."""
        body = result_to_wire(result)
        path = f"/assessment/orders/{quote(remote_id, safe='')}/result"
        payload = await self._json("PUT", path, json_body=body)
        self._log_warnings(self._parse(KomboWriteResponse, payload, "PUT", path), path)
        written = str(body["status"])
        return status_to_canonical(written), written

    async def list_packages(self) -> list[Package]:
        path = "/assessment/packages"
        payload = await self._json("GET", path)
        data = self._parse(KomboPackagesResponse, payload, "GET", path).data
        return [package_to_canonical(package) for package in data.packages]

    async def publish_packages(self, packages: Sequence[Package]) -> list[str]:
        """Replace the whole package list (missing packages become deleted at Kombo);
        returns Kombo's warnings."""
        body = {"packages": [package_to_wire(package) for package in packages]}
        path = "/assessment/packages"
        payload = await self._json("PUT", path, json_body=body)
        response = self._parse(KomboWriteResponse, payload, "PUT", path)
        self._log_warnings(response, path)
        return [warning.message for warning in response.warnings]

    def _log_warnings(self, response: KomboWriteResponse, path: str) -> None:
        for warning in response.warnings:
            logger.info(
                "kombo warning on %s (connection %s): %s", path, self.config.id, warning.message
            )

    # --- webhooks -------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """Verify ``X-Kombo-Signature``, then map the event (rules in the module docstring)."""
        secret = self.config.webhook_secret
        if secret is None:
            msg = f"connection {self.config.id!r} has no Kombo webhook secret configured"
            raise ConfigError(msg)
        verify_signature(secret.get_secret_value(), body, _header(headers, SIGNATURE_HEADER))
        try:
            event = KomboWebhookEvent.model_validate_json(body)
        except ValidationError as exc:
            detail = describe_validation(exc)
            raise WebhookPayloadError(f"not a Kombo webhook: {detail}") from None
        if event.type not in ORDER_EVENTS:
            account = event.data.get("integration_id")
            return WebhookDelivery(
                provider=self.name,
                kind=event.type,
                orders=[],
                account=account if isinstance(account, str) else None,
                event_id=event.id,
            )
        try:
            order = KomboWebhookOrder.model_validate(event.data)
        except ValidationError as exc:
            msg = f"not a Kombo {event.type} order: {describe_validation(exc)}"
            raise WebhookPayloadError(msg) from None
        if order.integration_id != self.config.account:
            msg = "the event belongs to another integration than this connection's"
            raise WebhookPayloadError(msg)
        return WebhookDelivery(
            provider=self.name,
            kind=event.type,
            orders=[order_to_canonical(order, event.data)],
            account=order.integration_id,
            event_id=event.id,
        )
