"""The Unified.to adapter: one object per Unified connection (``config.account``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, SecretStr, ValidationError

from ordergraph.concurrency import bounded_gather
from ordergraph.errors import (
    ConfigError,
    ProviderInputError,
    ProviderNotFoundError,
    WebhookPayloadError,
    WebhookSignatureError,
)
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
    OffsetPaginator,
    Page,
    WebhookDelivery,
    describe_validation,
    iterate_pages,
)
from ordergraph.providers.http import ErrorDetail, HttpClient
from ordergraph.providers.unified.mapping import _compact, order_to_canonical, package_to_canonical
from ordergraph.providers.unified.to_wire import (
    new_order_to_wire,
    package_to_wire,
    result_input_field,
    result_to_wire,
)
from ordergraph.providers.unified.webhooks import verify_signature
from ordergraph.providers.unified.wire import (
    _PACKAGE_LIST,
    ORDER_OBJECT,
    UnifiedDelivery,
    UnifiedOrder,
    UnifiedPackage,
    UnifiedWebhook,
)

M = TypeVar("M", bound=BaseModel)


class UnifiedProvider(BaseProvider):
    """One Unified.to assessment connection (``config.account`` is the connection id)."""

    name = ProviderName.UNIFIED
    capabilities = frozenset(
        {
            Capability.GET_ORDERS,
            Capability.CREATE_ORDER,
            Capability.SUBMIT_RESULT,
            Capability.LIST_PACKAGES,
            Capability.PUBLISH_PACKAGES,
            Capability.RECEIVE_WEBHOOKS,
            Capability.REGISTER_WEBHOOK,
        }
    )
    route_templates = (
        "/assessment/{connection}/order",
        "/assessment/{connection}/order/{id}",
        "/assessment/{connection}/package",
        "/assessment/{connection}/package/{id}",
        "/unified/webhook",
    )
    # Page size for the package list (Unified's default and maximum: not found).
    package_page_size: int = 100
    # Order reads are one request per id; this bounds them per call.
    max_concurrency: int = 8

    def __init__(self, config: ConnectionConfig, *, http: HttpClient | None = None) -> None:
        super().__init__(config, http=http)
        self._workspace_id: str | None = None

    def auth_headers(self) -> dict[str, SecretStr]:
        return {"Authorization": SecretStr("Bearer " + self.config.api_key.get_secret_value())}

    @staticmethod
    def parse_error(status: int, body: object) -> ErrorDetail | None:
        """Unified's error body is not documented; read ``message`` (or ``error``)."""
        del status
        if not isinstance(body, dict):
            return None
        for key in ("message", "error"):
            text = body.get(key)
            if isinstance(text, str) and text:
                return ErrorDetail(message=text)
        return None

    # --- paths and parsing -------------------------------------------------------------

    def _base(self) -> str:
        return "/assessment/" + quote(self.config.account, safe="")

    def _order_path(self, remote_id: str | None = None) -> str:
        path = self._base() + "/order"
        return path if remote_id is None else f"{path}/{quote(remote_id, safe='')}"

    def _package_path(self, remote_id: str | None = None) -> str:
        path = self._base() + "/package"
        return path if remote_id is None else f"{path}/{quote(remote_id, safe='')}"

    def _parse(self, model: type[M], method: str, path: str, payload: Any) -> M:
        return self.parse_wire(model.model_validate, payload, method, path)

    def _remember_workspace(self, workspace_id: str | None) -> None:
        if workspace_id:
            self._workspace_id = workspace_id

    # --- orders -------------------------------------------------------------------------

    async def _get_order(self, remote_id: str) -> Order:
        path = self._order_path(remote_id)
        payload = await self.http.json("GET", path)
        wire = self._parse(UnifiedOrder, "GET", path, payload)
        self._remember_workspace(wire.workspace_id)
        return order_to_canonical(wire)

    async def get_orders(self, remote_ids: Sequence[str]) -> dict[str, Order]:
        unique = list(dict.fromkeys(remote_ids))

        async def one(remote_id: str) -> Order | None:
            try:
                return await self._get_order(remote_id)
            except ProviderNotFoundError:
                return None

        # One failure fails the call, and the reads still running stop with it.
        found = await bounded_gather((one(i) for i in unique), limit=self.max_concurrency)
        return {rid: order for rid, order in zip(unique, found, strict=True) if order is not None}

    async def create_order(self, order: NewOrder) -> CreatedOrder:
        if self._workspace_id is None:
            await self._learn_workspace_from_package(order.package.remote_id)
        path = self._order_path()
        body = new_order_to_wire(
            order, connection_id=self.config.account, workspace_id=self._workspace_id
        )
        payload = await self.http.json("POST", path, json_body=body)
        wire = self._parse(UnifiedOrder, "POST", path, payload)
        self._remember_workspace(wire.workspace_id)
        return CreatedOrder(remote_id=wire.id, test_url=None, order=order_to_canonical(wire))

    def check_result(self, result: ResultSubmission) -> None:
        result_to_wire(result)

    def result_input_field(self, message: str) -> tuple[str, ...] | None:
        return result_input_field(message)

    async def submit_result(
        self, remote_id: str, result: ResultSubmission
    ) -> tuple[OrderStatus, str | None]:
        path = self._order_path(remote_id)
        try:
            fields = result_to_wire(result)
        except ValueError as exc:
            raise ProviderInputError(
                str(exc),
                provider=self.name.value,
                connection_id=self.config.id,
                method="PATCH",
                path=path,
            ) from None
        if self._workspace_id is None:
            await self._get_order(remote_id)  # learns the workspace; 404 before writing
        body = _compact(
            {
                "workspace_id": self._workspace_id,
                "connection_id": self.config.account,
                **fields,
            }
        )
        payload = await self.http.json("PATCH", path, json_body=body, idempotent=True)
        order = order_to_canonical(self._parse(UnifiedOrder, "PATCH", path, payload))
        # Unified answers with the order as it now stands.
        return order.status, order.provider_status

    # --- packages -----------------------------------------------------------------------

    async def _learn_workspace_from_package(self, package_id: str) -> None:
        path = self._package_path(package_id)
        payload = await self.http.json("GET", path)
        self._remember_workspace(self._parse(UnifiedPackage, "GET", path, payload).workspace_id)

    async def _package_page(self, token: str | None, paginator: OffsetPaginator) -> Page[Package]:
        path = self._package_path()
        params = {"limit": str(paginator.limit), "offset": token or "0"}
        payload = await self.http.json("GET", path, params=params)
        wires = self.parse_wire(_PACKAGE_LIST.validate_python, payload, "GET", path)
        for wire in wires[:1]:
            self._remember_workspace(wire.workspace_id)
        return Page(
            items=[package_to_canonical(wire) for wire in wires],
            next_token=paginator.next_token(None, token, len(wires)),
        )

    async def list_packages(self) -> list[Package]:
        paginator = OffsetPaginator(self.package_page_size)

        async def fetch(token: str | None) -> Page[Package]:
            return await self._package_page(token, paginator)

        return [package async for package in iterate_pages(fetch)]

    async def publish_packages(self, packages: Sequence[Package]) -> list[str]:
        """Create new packages (POST) and update existing ones (PATCH, keeping fields
        we do not model such as parameters and regions)."""
        existing = {package.remote_id for package in await self.list_packages()}
        warnings: list[str] = []
        for package in packages:
            body = package_to_wire(package)
            if body is None:
                warnings.append(
                    f"package {package.remote_id} skipped: Unified requires a name and a type"
                )
                continue
            if package.remote_id in existing:
                path = self._package_path(package.remote_id)
                payload = await self.http.json("PATCH", path, json_body=body, idempotent=True)
                self._parse(UnifiedPackage, "PATCH", path, payload)
            else:
                path = self._package_path()
                payload = await self.http.json("POST", path, json_body=body)
                self._parse(UnifiedPackage, "POST", path, payload)
                existing.add(package.remote_id)
        return warnings

    # --- webhooks -----------------------------------------------------------------------

    async def _subscribe(self, hook_url: str, event: str, include_all: bool) -> str:
        path = "/unified/webhook"
        body = {
            "connection_id": self.config.account,
            "object_type": ORDER_OBJECT,
            "event": event,
            "hook_url": hook_url,
            "webhook_type": "virtual",
        }
        params = {"include_all": "true" if include_all else "false"}
        payload = await self.http.json("POST", path, params=params, json_body=body)
        webhook = self._parse(UnifiedWebhook, "POST", path, payload)
        if not webhook.id:
            raise self.http.bad_shape("POST", path, "webhook has no id")
        return webhook.id

    async def register_webhook(self, hook_url: str, *, include_all: bool = True) -> str:
        updated = await self._subscribe(hook_url, "updated", include_all=False)
        created = await self._subscribe(hook_url, "created", include_all=include_all)
        return f"{created},{updated}"

    def _secret(self) -> str:
        if self.config.webhook_secret is None:
            msg = f"connection {self.config.id} has no Unified workspace secret configured"
            raise ConfigError(msg)
        return self.config.webhook_secret.get_secret_value()

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """Verify and map one delivery. Unified signs inside the body, not in a header."""
        del headers
        secret = self._secret()
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookPayloadError("Unified webhook body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookPayloadError("Unified webhook body is not a JSON object")
        sig, nonce, data = payload.get("sig"), payload.get("nonce"), payload.get("data")
        if not isinstance(sig, str) or not sig or not isinstance(nonce, str):
            raise WebhookSignatureError("Unified webhook has no signature")
        if not isinstance(data, list):
            raise WebhookPayloadError("Unified webhook has no data array")
        try:
            verified = verify_signature(secret, data, nonce, sig)
        except UnicodeEncodeError:
            # JSON may escape a lone surrogate ("\ud800"), which has no UTF-8 form to sign.
            raise WebhookPayloadError("Unified webhook contains text that is not Unicode") from None
        if not verified:
            raise WebhookSignatureError("Unified webhook signature does not match")
        try:
            delivery = UnifiedDelivery.model_validate(payload)
        except ValidationError as exc:
            raise WebhookPayloadError(f"Unified webhook: {describe_validation(exc)}") from None
        return self._delivery(delivery)

    def _delivery(self, delivery: UnifiedDelivery) -> WebhookDelivery:
        account = self.config.account
        if delivery.webhook.connection_id != account or any(
            item.connection_id not in (None, account) for item in delivery.data
        ):
            raise WebhookPayloadError("Unified webhook is for another connection")
        for item in delivery.data[:1]:
            self._remember_workspace(item.workspace_id)
        return WebhookDelivery(
            provider=self.name,
            kind=delivery.type,
            orders=[order_to_canonical(item) for item in delivery.data],
            account=delivery.webhook.connection_id,
            nonce=delivery.nonce,
            extra={"webhook_id": delivery.webhook.id} if delivery.webhook.id else {},
        )
