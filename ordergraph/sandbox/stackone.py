"""StackOne simulator (placeholder: being written)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ordergraph.sandbox.core import Account, Simulator, json_response

__all__ = ["StackOneSimulator"]


class StackOneSimulator(Simulator):
    provider = "stackone"
    mount = "/stackone"

    def accounts(self) -> list[Account]:
        return []

    def routes(self, app: web.Application) -> None:
        pass

    def error_response(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        return json_response({"message": message}, status=status, headers=headers)

    def seed(self) -> None:
        pass

    def ground_truth(self, account: str | None) -> list[dict[str, Any]]:
        return []

    async def create_orders(self, account: str, count: int) -> list[dict[str, Any]]:
        return []

    async def set_status(self, account: str, order_id: str, status: str) -> dict[str, Any]:
        raise KeyError(order_id)
