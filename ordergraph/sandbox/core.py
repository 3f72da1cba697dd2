"""What every simulator shares: accounts, request statistics, injected faults,
webhook delivery, and the ``Simulator`` base class.

The simulators answer to the vendors' OpenAPI files, never to ordergraph's adapters:
nothing here (or in any simulator) imports ``ordergraph.providers``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import aiohttp
from aiohttp import web
from multidict import MultiMapping

__all__ = [
    "ACCOUNT_STATES",
    "Account",
    "AccountError",
    "ConnectOutcome",
    "Delivery",
    "FaultConfig",
    "Faults",
    "SandboxContext",
    "Simulator",
    "Stats",
    "WebhookSender",
    "connect_link",
    "iso",
    "json_response",
]

logger = logging.getLogger(__name__)


def iso(moment: datetime | None, *, millis: bool = False) -> str | None:
    """ISO-8601 in UTC with a ``Z``; ``millis`` gives Kombo's ``YYYY-MM-DDTHH:mm:ss.sssZ``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def json_response(payload: Any, status: int = 200, **kwargs: Any) -> web.Response:
    """A compact JSON response (vendors do not pretty-print)."""
    return web.Response(
        body=json.dumps(payload, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        **kwargs,
    )


def connect_link(request: web.Request, provider: str, token: str) -> str:
    """The customer-facing page of a connect flow, on the sandbox the client called
    (``/connect/<provider>/<token>``, outside every vendor mount)."""
    return str(request.url.origin().with_path(f"/connect/{provider}/{token}"))


@dataclass(frozen=True)
class Account:
    """One customer account at a provider, as ``GET /_sandbox/accounts`` lists it."""

    provider: str
    account: str
    headers: Mapping[str, str]
    webhook_secret: str

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": self.account,
            "headers": dict(self.headers),
            "webhook_secret": self.webhook_secret,
        }


# Account states the control API sets (``POST /_sandbox/accounts/{provider}/{account}/state``):
# Kombo's integration states, the richest of the three vendors' vocabularies.
ACCOUNT_STATES = ("ACTIVE", "INACTIVE", "INVALID")


class AccountError(Exception):
    """An account operation a control request asked for and the simulator refuses."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ConnectOutcome:
    """What a finished (or abandoned) connect flow left: the new account, if any, and
    the URL the vendor sends the customer's browser to next (Unified's redirects)."""

    provider: str
    account: str | None
    redirect: str | None = None


@dataclass
class Stats:
    """Requests served, per provider and ``"<METHOD> <route template>"``."""

    counts: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, provider: str, method: str, route: str) -> None:
        self.counts[provider][f"{method} {route}"] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "total": sum(sum(c.values()) for c in self.counts.values()),
            "requests": {p: dict(c) for p, c in sorted(self.counts.items())},
        }

    def clear(self) -> None:
        self.counts.clear()


@dataclass(frozen=True)
class FaultConfig:
    """Faults for one provider (``POST /_sandbox/faults``); every key optional."""

    error_rate: float = 0.0
    statuses: tuple[int, ...] = (503,)
    retry_after: float | None = None
    latency_ms: tuple[int, int] | None = None
    drop_rate: float = 0.0

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FaultConfig:
        known = {"error_rate", "statuses", "retry_after", "latency_ms", "drop_rate"}
        unknown = set(raw) - known
        if unknown:
            msg = f"unknown fault keys: {', '.join(sorted(unknown))}"
            raise ValueError(msg)
        error_rate = float(raw.get("error_rate", 0.0))
        drop_rate = float(raw.get("drop_rate", 0.0))
        if not (0.0 <= error_rate <= 1.0 and 0.0 <= drop_rate <= 1.0):
            msg = "error_rate and drop_rate must be between 0 and 1"
            raise ValueError(msg)
        statuses = tuple(int(s) for s in raw.get("statuses", [503]))
        if not statuses or any(not 400 <= s <= 599 for s in statuses):
            msg = "statuses must be a non-empty list of 4xx/5xx codes"
            raise ValueError(msg)
        latency = raw.get("latency_ms")
        latency_range: tuple[int, int] | None = None
        if latency is not None:
            if isinstance(latency, int | float):
                low = high = int(latency)
            else:
                low, high = (int(v) for v in latency)
            if low < 0 or high < low:
                msg = "latency_ms must be [low, high] with 0 <= low <= high"
                raise ValueError(msg)
            latency_range = (low, high)
        retry_after = None if raw.get("retry_after") is None else float(raw["retry_after"])
        if retry_after is not None and not 0.0 <= retry_after < float("inf"):
            msg = "retry_after must be a non-negative number of seconds"
            raise ValueError(msg)
        return cls(
            error_rate=error_rate,
            statuses=statuses,
            retry_after=retry_after,
            latency_ms=latency_range,
            drop_rate=drop_rate,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate,
            "statuses": list(self.statuses),
            "retry_after": self.retry_after,
            "latency_ms": list(self.latency_ms) if self.latency_ms else None,
            "drop_rate": self.drop_rate,
        }


@dataclass
class Faults:
    """Fault settings per provider, ``*`` applying to providers without their own."""

    by_provider: dict[str, FaultConfig] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def configure(self, raw: Mapping[str, Any]) -> None:
        parsed = {name: FaultConfig.from_json(value) for name, value in raw.items()}
        self.by_provider = parsed

    def for_provider(self, provider: str) -> FaultConfig | None:
        return self.by_provider.get(provider) or self.by_provider.get("*")

    def as_json(self) -> dict[str, Any]:
        return {name: config.as_json() for name, config in self.by_provider.items()}


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery attempt, kept for ``GET /_sandbox/deliveries``."""

    provider: str
    account: str | None
    url: str
    kind: str
    status: int | None
    error: str | None
    at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": self.account,
            "url": self.url,
            "kind": self.kind,
            "status": self.status,
            "error": self.error,
            "at": self.at,
        }


class WebhookSender:
    """POSTs signed webhook bodies the way a vendor does, retrying a few times.

    Vendors retry for hours (Unified: Fibonacci minutes); the sandbox retries
    ``attempts`` times ``retry_delay`` seconds apart so tests finish. The first
    attempt is awaited by the caller, so ``POST /_sandbox/orders`` returns after the
    receiver has answered; later attempts run in the background.
    """

    def __init__(self, *, attempts: int = 3, retry_delay: float = 0.5) -> None:
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.log: list[Delivery] = []
        self._session: aiohttp.ClientSession | None = None
        self._background: set[asyncio.Task[None]] = set()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    async def _attempt(
        self, provider: str, account: str | None, url: str, kind: str, body: bytes,
        headers: Mapping[str, str],
    ) -> bool:  # fmt: skip
        status: int | None = None
        error: str | None = None
        try:
            async with self._client().post(
                url, data=body, headers={"Content-Type": "application/json", **headers}
            ) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = type(exc).__name__
        self.log.append(
            Delivery(provider, account, url, kind, status, error, iso(datetime.now(UTC)) or "")
        )
        return status is not None and 200 <= status < 300

    async def deliver(
        self,
        *,
        provider: str,
        account: str | None,
        url: str,
        kind: str,
        body: bytes,
        headers: Mapping[str, str],
    ) -> bool:
        """Deliver once now; on failure keep retrying in the background."""
        if await self._attempt(provider, account, url, kind, body, headers):
            return True
        if self.attempts > 1:
            task = asyncio.create_task(self._retry(provider, account, url, kind, body, headers))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return False

    async def _retry(
        self, provider: str, account: str | None, url: str, kind: str, body: bytes,
        headers: Mapping[str, str],
    ) -> None:  # fmt: skip
        for _ in range(self.attempts - 1):
            await asyncio.sleep(self.retry_delay)
            if await self._attempt(provider, account, url, kind, body, headers):
                return

    async def drain(self) -> None:
        """Wait for background retries (tests use this to settle)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)


@dataclass
class SandboxContext:
    """State shared by all simulators of one sandbox."""

    seed: int = 42
    orders_per_account: int = 120
    accounts_per_provider: int = 2
    stats: Stats = field(default_factory=Stats)
    faults: Faults = field(default_factory=Faults)
    webhooks: WebhookSender = field(default_factory=WebhookSender)
    # Where vendors that are configured by dashboard (Kombo) send webhooks.
    webhook_targets: dict[str, str] = field(default_factory=dict)


class Simulator(ABC):
    """One vendor's API. Subclasses add routes and vendor behaviour; the sandbox app
    wraps their app with statistics and fault injection."""

    provider: ClassVar[str]
    mount: ClassVar[str]

    def __init__(self, context: SandboxContext) -> None:
        self.context = context

    # --- what a simulator must provide -----------------------------------------------

    @abstractmethod
    def accounts(self) -> list[Account]:
        """Accounts with the exact request headers a vendor client sends."""

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """Register the vendor's routes (paths relative to ``mount``)."""

    @abstractmethod
    def error_response(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        """The vendor's error body for an injected fault."""

    @abstractmethod
    def seed(self) -> None:
        """(Re)build the initial data from ``context.seed``."""

    @abstractmethod
    def ground_truth(self, account: str | None) -> list[dict[str, Any]]:
        """``[{"provider", "account", "id", "status"}]``, status in the vendor's words."""

    @abstractmethod
    async def create_orders(self, account: str, count: int) -> list[dict[str, Any]]:
        """Create orders as the ATS would, delivering webhooks where the vendor would."""

    @abstractmethod
    async def set_status(self, account: str, order_id: str, status: str) -> dict[str, Any]:
        """Change an order's status as the ATS or candidate would (demo activity)."""

    # --- accounts and connect flows (control API) -----------------------------------
    # Defaults refuse: a simulator opts in by overriding (all three vendors do).

    async def create_account(self) -> Account:
        """A new customer account, as the vendor's dashboard or connect flow makes one."""
        raise AccountError(400, f"{self.provider} accounts cannot be created here")

    async def remove_account(self, account: str) -> None:
        """Delete an account, notifying as the vendor would."""
        raise AccountError(400, f"{self.provider} accounts cannot be removed here")

    async def set_account_state(self, account: str, state: str) -> None:
        """Move an account to one of ``ACCOUNT_STATES``, notifying as the vendor would."""
        raise AccountError(400, f"{self.provider} account states cannot be changed here")

    def connect_page(self, token: str) -> dict[str, Any] | None:
        """What the customer sees on ``/connect/<provider>/<token>``; None if unknown."""
        del token
        return None

    async def complete_connect(self, token: str, *, error: str | None = None) -> ConnectOutcome:
        """The customer finishes (or, with ``error``, abandons) the flow behind ``token``."""
        del token, error
        raise AccountError(404, f"{self.provider} has no connect flow here")

    def connect_token(self, path: str, query: MultiMapping[str]) -> str | None:
        """A connect token for a vendor URL the customer was sent to (Unified's
        authorization URL), opening the flow it starts; None if not such a URL."""
        del path, query
        return None

    # --- shared ---------------------------------------------------------------------

    def reset(self) -> None:
        self.seed()

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._stats_and_faults])
        self.routes(app)
        return app

    def _route_template(self, request: web.Request) -> str:
        resource = request.match_info.route.resource
        if resource is None:
            return request.path
        canonical = resource.canonical
        return canonical.removeprefix(self.mount) or "/"

    @web.middleware
    async def _stats_and_faults(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        self.context.stats.record(self.provider, request.method, self._route_template(request))
        fault = self.context.faults.for_provider(self.provider)
        if fault is not None:
            rng = self.context.faults.rng
            if fault.latency_ms is not None:
                await asyncio.sleep(rng.uniform(*fault.latency_ms) / 1000)
            if fault.drop_rate and rng.random() < fault.drop_rate:
                return _drop(request)
            if fault.error_rate and rng.random() < fault.error_rate:
                status = rng.choice(fault.statuses)
                headers: dict[str, str] = {}
                if fault.retry_after is not None and status in (408, 429, 503):
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                return self.error_response(status, _fault_message(status), headers=headers)
        return await handler(request)


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the socket without an answer, as a crashed proxy would.

    The bare ``StreamResponse`` is never written (aiohttp meets the closed transport
    and only logs the access); unlike a raised ``HTTPInternalServerError`` it is not a
    ``web.Response``, so outer middlewares (the contract recorder) do not see a 500
    that no client ever received.
    """
    if request.transport is not None:
        request.transport.abort()
    return web.StreamResponse(status=500, reason="Dropped by fault injection")


def _fault_message(status: int) -> str:
    return {
        408: "Request timed out",
        429: "Too many requests",
        500: "Internal server error",
        502: "Bad gateway",
        503: "Service unavailable",
        504: "Gateway timeout",
    }.get(status, "Injected error")
