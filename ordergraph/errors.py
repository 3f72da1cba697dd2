"""One error tree for ordergraph.

    OrdergraphError
    ├── ConfigError                      settings that cannot work
    ├── ProviderError                    anything a provider call ended in
    │   ├── ProviderTransportError       no usable HTTP answer        (retriable)
    │   │   └── ProviderTimeoutError     connect or read timed out    (retriable)
    │   ├── ProviderUnavailableError     408 / 5xx                     (retriable)
    │   ├── ProviderRateLimitedError     429                           (retriable)
    │   ├── ProviderAuthError            401 / 403: credentials refused
    │   ├── ProviderNotFoundError        404
    │   ├── ProviderInputError           400 / 409 / 412 / 422: the provider refused what we sent
    │   ├── ProviderResponseError        2xx we cannot read (bad JSON, wrong shape), or a 3xx
    │   └── UnsupportedOperationError    the provider has no such operation
    └── WebhookError                     an incoming webhook we refuse
        ├── WebhookSignatureError        missing or wrong signature
        └── WebhookPayloadError          not JSON, or not the vendor's shape

Every ``ProviderError`` names the provider, the connection (when known), the HTTP
method and the path, never a header, so an API key cannot leak through ``str()``,
``repr()`` or a log line. ``code`` is the provider's own error code where it sends one
(Kombo ``error.code``) or a stable code of ours; ``retry_after`` is in seconds.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConfigError",
    "OrdergraphError",
    "ProviderAuthError",
    "ProviderError",
    "ProviderInputError",
    "ProviderNotFoundError",
    "ProviderRateLimitedError",
    "ProviderResponseError",
    "ProviderTimeoutError",
    "ProviderTransportError",
    "ProviderUnavailableError",
    "UnsupportedOperationError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookSignatureError",
]


class OrdergraphError(Exception):
    """Root of every error ordergraph raises on purpose."""


class ConfigError(OrdergraphError):
    """The settings cannot work (missing secret, unknown provider, bad URL)."""


class ProviderError(OrdergraphError):
    """A call to a provider did not give a usable answer."""

    retriable: ClassVar[bool] = False
    default_code: ClassVar[str] = "PROVIDER_ERROR"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        connection_id: str | None = None,
        status: int | None = None,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        log_url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.connection_id = connection_id
        self.status = status
        self.code = code or self.default_code
        self.method = method
        self.path = path
        self.retry_after = retry_after
        self.log_url = log_url

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method and self.path else None
        parts = [f"{self.provider}"]
        if self.connection_id:
            parts.append(f"connection {self.connection_id}")
        if where:
            parts.append(where)
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        parts.append(self.code)
        return f"{self.message} ({', '.join(parts)})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ProviderTransportError(ProviderError):
    """The connection failed or dropped before a complete answer arrived."""

    retriable = True
    default_code = "PROVIDER_UNREACHABLE"


class ProviderTimeoutError(ProviderTransportError):
    """Connecting or reading took longer than the configured timeout."""

    default_code = "PROVIDER_TIMEOUT"


class ProviderUnavailableError(ProviderError):
    """The provider answered 408 or 5xx: worth trying again later."""

    retriable = True
    default_code = "PROVIDER_UNAVAILABLE"


class ProviderRateLimitedError(ProviderError):
    """The provider answered 429; ``retry_after`` says how long to wait, if it said."""

    retriable = True
    default_code = "PROVIDER_RATE_LIMITED"


class ProviderAuthError(ProviderError):
    """The provider refused our credentials or the account header (401/403)."""

    default_code = "PROVIDER_AUTH_FAILED"


class ProviderNotFoundError(ProviderError):
    """The provider does not know the object (404)."""

    default_code = "PROVIDER_NOT_FOUND"


class ProviderInputError(ProviderError):
    """The provider refused what we sent (400, 409, 412, 422, or a rule like Kombo's OPEN-only)."""

    default_code = "PROVIDER_REJECTED_INPUT"


class ProviderResponseError(ProviderError):
    """A success status with a body we cannot read (not JSON, or not the documented
    shape), or a redirect, which is never followed."""

    default_code = "PROVIDER_BAD_RESPONSE"


class UnsupportedOperationError(ProviderError):
    """The provider's API has no such operation (for example listing StackOne orders)."""

    default_code = "UNSUPPORTED_BY_PROVIDER"


class WebhookError(OrdergraphError):
    """An incoming webhook delivery we refuse; nothing from it is stored."""

    http_status: ClassVar[int] = 400


class WebhookSignatureError(WebhookError):
    """The signature is missing or does not match the body."""

    http_status = 401


class WebhookPayloadError(WebhookError):
    """The body is not JSON or not the vendor's documented shape."""

    http_status = 400
