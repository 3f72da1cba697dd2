"""Kombo wire details: constants, the error envelope, signing and ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ordergraph.sandbox.core import json_response

ORDER_STATUSES = ("OPEN", "COMPLETED", "CANCELLED", "REJECTED")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 250
ORDER_RECEIVED = "assessment:order-received"
# Key order of a package in GET /assessment/packages.
PACKAGE_KEYS = ("id", "name", "description", "updated_at", "type")

# The tools (ATSs) sandbox integrations pretend to be connected to.
TOOLS = ("greenhouse", "recruitee", "workday", "lever", "smartrecruiters", "personio")
# Kombo ids look like base58 strings of 24 characters ("HWUTwvyx2wLoSUHphiWVrp28").
ID_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# The spec's pattern for created_after and completed_at.
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?)?Z?$")
PACKAGES_UPDATED_AT = datetime(2025, 12, 1, 8, 30, tzinfo=UTC)

AUTHENTICATION_INVALID = "PLATFORM.AUTHENTICATION_INVALID"
INPUT_INVALID = "PLATFORM.INPUT_INVALID"
INTEGRATION_NOT_FOUND = "PLATFORM.INTEGRATION_NOT_FOUND"

_TITLES = {
    "PLATFORM.RATE_LIMIT_EXCEEDED": "Rate limit exceeded",
    INTEGRATION_NOT_FOUND: "Integration not found",
    INPUT_INVALID: "Invalid input",
    "PLATFORM.UNKNOWN_ERROR": "Unknown error",
    AUTHENTICATION_INVALID: "Authentication invalid",
    "PLATFORM.TASK_TIMED_OUT": "Task timed out",
    "REMOTE.SERVICE_UNAVAILABLE": "Remote service unavailable",
}


class KomboApiError(Exception):
    """An error the simulator answers with Kombo's ``ErrorResponseATS`` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self, headers: Mapping[str, str] | None = None) -> web.Response:
        return json_response(error_body(self.code, self.message), self.status, headers=headers)


def error_body(code: str, message: str) -> dict[str, Any]:
    """Kombo's error envelope."""
    return {
        "status": "error",
        "error": {"code": code, "title": _TITLES.get(code), "message": message, "log_url": None},
    }


def code_for_status(status: int) -> str:
    """The Kombo error code an injected fault of this HTTP status carries."""
    if status == 401:
        return AUTHENTICATION_INVALID
    if status == 404:
        return INTEGRATION_NOT_FOUND
    if status == 408:
        return "PLATFORM.TASK_TIMED_OUT"
    if status == 429:
        return "PLATFORM.RATE_LIMIT_EXCEEDED"
    if status in (502, 503, 504):
        return "REMOTE.SERVICE_UNAVAILABLE"
    if status >= 500:
        return "PLATFORM.UNKNOWN_ERROR"
    return INPUT_INVALID


def sign(secret: str, body: bytes) -> str:
    """``X-Kombo-Signature``: base64url, unpadded, of HMAC-SHA256 over the raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def kombo_id(rng: random.Random) -> str:
    return "".join(rng.choice(ID_ALPHABET) for _ in range(24))


def derived_secret(seed: int, purpose: str) -> str:
    return hashlib.sha256(f"kombo:{seed}:{purpose}".encode()).hexdigest()[:40]


def success(data: Any, *, warnings: list[str] | None = None) -> web.Response:
    payload: dict[str, Any] = {"status": "success", "data": data}
    if warnings is not None:
        payload["warnings"] = [{"message": message} for message in warnings]
    return json_response(payload)
