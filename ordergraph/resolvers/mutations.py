"""Writes: results, new orders, packages, refreshes.

``createOrder``, ``publishPackages`` and ``refreshOrders`` go to the provider through
its adapter first; what the provider confirmed is then ingested (one transaction,
events, wake-up) so reads and subscriptions see it. ``submitResult`` checks the result
(ordergraph/resolvers/result_checks.py, then the adapter's ``check_result``: a broken
rule is INVALID_INPUT on ``["input", <field>]`` and nothing is kept), then records first
(the result on the order and its delivery, in one transaction) and then delivers
(ordergraph/sync/deliverer.py): a provider that is down, slow or rate-limited delays
the result, never loses it. The order's status stays what the provider holds until
the provider has taken the result; then the status it reports is ingested with a
MUTATION event, as before. Failures the caller can act on are ``UserIssue``s
(returned as data, Saleor style), never exceptions.

Idempotency: with a key, the first request *claims* it (a pending record with a lease,
``mutations.idempotency_claim_lease``), performs the write, and stores its answer; a
repeat with the same key and the same input gets that answer without writing again;
the same key with different input, or while the first is still running, is refused.
A write that failed releases its claim so the client may retry with the same key, and
a claim whose process died mid-write may be taken over once its lease has run out.
What the take-over repeats is safe for ``submitResult`` (an identical result queues
nothing new, and result writes are PUT/PATCH) and ``publishPackages`` (the list is
set, not added to); for ``createOrder`` the dead request may have created its order at
the provider already, so the retry can create a second one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from strawberry.dataloader import DataLoader

from ordergraph.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderInputError,
    ProviderNotFoundError,
    ProviderRateLimitedError,
    ProviderResponseError,
    UnsupportedOperationError,
)
from ordergraph.models import (
    NewOrder,
    Order,
    OrderStatus,
    Package,
    ResultSubmission,
)
from ordergraph.providers.base import Capability
from ordergraph.resolvers.context import Context
from ordergraph.resolvers.result_checks import check_submission
from ordergraph.resolvers.user_errors import UserErrorCode
from ordergraph.services import Services
from ordergraph.store import EventSource, StoredOrder
from ordergraph.store.types import as_utc, utcnow
from ordergraph.sync.connections import LiveConnection

__all__ = [
    "MutationOutcome",
    "UserIssue",
    "create_order",
    "create_order_for_connection",
    "publish_packages",
    "refresh_orders",
    "submit_result",
]


@dataclass(frozen=True)
class UserIssue:
    """Why a write did not happen, for ``UserError {code, message, field}``."""

    code: UserErrorCode
    message: str
    field: tuple[str, ...] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "field": list(self.field or ())}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> UserIssue:
        return cls(
            UserErrorCode(raw["code"]), raw["message"], tuple(raw.get("field") or ()) or None
        )


@dataclass
class MutationOutcome:
    """What a mutation did: the orders (keys) and packages it touched, and its issues."""

    order_keys: list[str] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    issues: list[UserIssue] = field(default_factory=list)
    # The admin mutations: the connections touched, and orders deleted with one.
    connection_ids: list[str] = field(default_factory=list)
    purged_orders: int = 0
    # createConnectLink: the link made.
    link_url: str | None = None

    @property
    def wrote(self) -> bool:
        """Whether anything was written (else an idempotency key is released)."""
        return bool(self.order_keys or self.packages or self.connection_ids or self.link_url)

    def as_json(self) -> dict[str, Any]:
        return {
            "order_keys": self.order_keys,
            "packages": [p.model_dump(mode="json") for p in self.packages],
            "warnings": self.warnings,
            "issues": [i.as_json() for i in self.issues],
            "connection_ids": self.connection_ids,
            "purged_orders": self.purged_orders,
            "link_url": self.link_url,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MutationOutcome:
        return cls(
            order_keys=list(raw.get("order_keys", [])),
            packages=[Package.model_validate(p) for p in raw.get("packages", [])],
            warnings=list(raw.get("warnings", [])),
            issues=[UserIssue.from_json(i) for i in raw.get("issues", [])],
            connection_ids=list(raw.get("connection_ids", [])),
            purged_orders=int(raw.get("purged_orders", 0)),
            link_url=raw.get("link_url"),
        )

    @classmethod
    def failed(cls, code: UserErrorCode, message: str, *path: str) -> MutationOutcome:
        return cls(issues=[UserIssue(code, message, path or None)])


def issue_for_provider_error(exc: ProviderError, *path: str) -> UserIssue:
    """A provider's refusal or failure, in words the caller can act on."""
    if isinstance(exc, UnsupportedOperationError):
        code = UserErrorCode.UNSUPPORTED_BY_PROVIDER
    elif isinstance(exc, ProviderNotFoundError):
        code = UserErrorCode.NOT_FOUND
    elif isinstance(exc, ProviderInputError):
        code = UserErrorCode.PROVIDER_REJECTED
    elif isinstance(exc, ProviderRateLimitedError):
        code = UserErrorCode.PROVIDER_RATE_LIMITED
    elif isinstance(exc, ProviderAuthError):
        code = UserErrorCode.PROVIDER_AUTH_FAILED
    elif isinstance(exc, ProviderResponseError):
        # A success we cannot read: the write may have happened, so no "retry" code.
        code = UserErrorCode.PROVIDER_BAD_RESPONSE
    else:
        code = UserErrorCode.PROVIDER_UNAVAILABLE
    # Named like a field's provider failure (schema/errors.py): with several orders of
    # several connections in one call, the caller must know whose provider failed.
    message = f"{exc.provider} could not answer for connection {exc.connection_id}: {exc.message}"
    return UserIssue(code, message, path or None)


# --- idempotency -------------------------------------------------------------------------

_PENDING = "pending"


def _request_hash(operation: str, request: Any) -> str:
    text = json.dumps([operation, request], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _claim_expired(stored: dict[str, Any], created_at: datetime, lease: timedelta) -> bool:
    """Whether a pending claim's lease has run out (its request died mid-write).

    A claim written before claims had leases carries no ``until``: it is taken to
    have started when its record was made.
    """
    until = stored.get("until")
    try:
        expires = datetime.fromisoformat(until) if isinstance(until, str) else None
    except ValueError:
        expires = None
    return utcnow() >= (as_utc(expires) if expires else as_utc(created_at) + lease)


async def idempotent(
    context: Context,
    *,
    key: str | None,
    operation: str,
    request: Any,
    perform: Callable[[], Awaitable[MutationOutcome]],
) -> MutationOutcome:
    """Run ``perform`` once per (tenant, key); see the module docstring."""
    if key is None:
        return await perform()
    if not 1 <= len(key) <= 200:
        return MutationOutcome.failed(
            UserErrorCode.INVALID_INPUT,
            "idempotencyKey must be 1 to 200 characters",
            "idempotencyKey",
        )
    tenant = context.require_tenant()
    keys = context.services.store.idempotency
    digest = _request_hash(operation, request)
    claim = uuid.uuid4().hex
    lease = timedelta(seconds=context.services.settings.mutations.idempotency_claim_lease)
    pending = {"state": _PENDING, "claim": claim, "until": (utcnow() + lease).isoformat()}
    record = await keys.put(tenant, key, operation=operation, request_hash=digest, response=pending)
    if record.operation != operation or record.request_hash != digest:
        return MutationOutcome.failed(
            UserErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was used for a different request",
            "idempotencyKey",
        )
    stored = record.response if isinstance(record.response, dict) else {}
    if stored.get("state") != _PENDING:
        return MutationOutcome.from_json(stored.get("outcome", {}))
    if stored.get("claim") != claim and not (
        _claim_expired(stored, record.created_at, lease)
        and await keys.take_over(tenant, key, claim=str(stored.get("claim")), response=pending)
    ):
        return MutationOutcome.failed(
            UserErrorCode.IDEMPOTENCY_KEY_IN_USE,
            "a request with this idempotency key is still running; retry shortly",
            "idempotencyKey",
        )
    try:
        outcome = await perform()
    except BaseException:
        await keys.release(tenant, key)
        raise
    if outcome.issues and not outcome.wrote:
        # Nothing was written: let the client retry with the same key.
        await keys.release(tenant, key)
    else:
        await keys.complete(tenant, key, {"state": "done", "outcome": outcome.as_json()})
    return outcome


# --- helpers -----------------------------------------------------------------------------


def _connection_for(context: Context, connection_id: str) -> LiveConnection | None:
    return context.connection(connection_id)


def _forget(loader: DataLoader[Any, Any], key: Any) -> None:
    """Drop ``key`` from this request's loader (``clear`` raises for a key never loaded)."""
    with contextlib.suppress(KeyError):
        loader.clear(key)


def _unsupported(connection: LiveConnection, what: str, *path: str) -> MutationOutcome:
    return MutationOutcome.failed(
        UserErrorCode.UNSUPPORTED_BY_PROVIDER,
        f"{connection.provider_name.value} cannot {what}",
        *path,
    )


# --- operations --------------------------------------------------------------------------


# Where submitResult's issues point: its fields live below the ``input`` argument.
_INPUT = "input"


def _result_issue(exc: ProviderError, connection: LiveConnection) -> UserIssue:
    """A delivery that ended for good, naming the input field the provider named (a
    refusal's message, read by the adapter); a provider naming none points at no field."""
    named = (
        connection.provider.result_input_field(exc.message)
        if isinstance(exc, ProviderInputError)
        else None
    )
    return issue_for_provider_error(exc, *((_INPUT, *named) if named else ()))


def _invalid_result(
    connection: LiveConnection, submission: ResultSubmission
) -> MutationOutcome | None:
    """The first rule ``submission`` breaks, as INVALID_INPUT on its field; None if none.

    The general rules first (ordergraph/resolvers/result_checks.py), then what the
    provider alone cannot take (its ``check_result``): either way nothing is recorded.
    """
    problems = check_submission(submission)
    if problems:
        first = problems[0]
        return MutationOutcome.failed(
            UserErrorCode.INVALID_INPUT, first.message, _INPUT, *first.field
        )
    try:
        connection.provider.check_result(submission)
    except ValueError as exc:
        message = str(exc)
        field = connection.provider.result_input_field(message) or ("status",)
        return MutationOutcome.failed(UserErrorCode.INVALID_INPUT, message, _INPUT, *field)
    return None


async def submit_result(
    context: Context,
    order_key: str,
    submission: ResultSubmission,
    *,
    idempotency_key: str | None = None,
) -> MutationOutcome:
    """Check a result, record it for the order and deliver it to the order's provider.

    A result that breaks a rule is refused before anything is stored or sent
    (INVALID_INPUT on the field at fault). Otherwise the answer names the order
    whenever the result was recorded, whatever the delivery did; its ``resultDelivery``
    tells where the delivery stands. When the first attempt ends the delivery for good
    (the provider refused it, ``PROVIDER_REJECTED`` on the field it named, or the
    attempts allowed are used up) that is an issue too, and the order shows the result
    the provider accepted before (ordergraph/store/results.py).
    """

    async def perform() -> MutationOutcome:
        stored = await context.loaders.order_by_id.load(order_key)
        if stored is None:
            return MutationOutcome.failed(
                UserErrorCode.NOT_FOUND, "no such order", _INPUT, "orderId"
            )
        connection = _connection_for(context, stored.connection_id)
        if connection is None:
            return MutationOutcome.failed(
                UserErrorCode.NOT_FOUND,
                "the order's connection is no longer configured",
                _INPUT,
                "orderId",
            )
        if not connection.provider.supports(Capability.SUBMIT_RESULT):
            return _unsupported(connection, "take results", _INPUT, "orderId")
        invalid = _invalid_result(connection, submission)
        if invalid is not None:
            return invalid
        submitted = await context.services.deliverer.submit(connection, order_key, submission)
        _forget(context.loaders.order_by_id, order_key)
        if submitted is None:
            return MutationOutcome.failed(
                UserErrorCode.NOT_FOUND, "no such order", _INPUT, "orderId"
            )
        outcome = MutationOutcome(order_keys=[order_key])
        refusal = submitted.outcome.refusal if submitted.outcome else None
        if refusal is not None:
            outcome.issues.append(_result_issue(refusal, connection))
        return outcome

    return await idempotent(
        context,
        key=idempotency_key,
        operation="submitResult",
        request={"order": order_key, "result": submission.model_dump(mode="json")},
        perform=perform,
    )


async def create_order_for_connection(
    services: Services, connection: LiveConnection, new_order: NewOrder
) -> StoredOrder:
    """Create an order through the provider and index it (also used by the demo).

    Raises ``ProviderError`` when the provider refuses or fails.
    """
    created = await connection.provider.create_order(new_order)
    order = created.order or Order(
        provider=connection.provider_name,
        remote_id=created.remote_id,
        status=OrderStatus.OPEN,
        candidate=new_order.candidate,
        job=new_order.job,
        application=new_order.application,
        package=new_order.package,
        requester=new_order.requester,
        test_url=created.test_url,
        target_url=new_order.target_url,
        results_update_url=new_order.results_update_url,
    )
    if created.test_url and order.test_url is None:
        order = order.model_copy(update={"test_url": created.test_url})
    await services.ingestor.ingest(connection, [order], EventSource.CREATE)
    key = f"{connection.id}:{order.remote_id}"
    found = await services.store.orders.get(connection.tenant, [key])
    return found[key]


async def create_order(
    context: Context,
    connection_id: str,
    new_order: NewOrder,
    *,
    idempotency_key: str | None = None,
) -> MutationOutcome:
    """Create an order on a connection whose provider takes orders from us."""

    async def perform() -> MutationOutcome:
        connection = _connection_for(context, connection_id)
        if connection is None:
            return MutationOutcome.failed(
                UserErrorCode.NOT_FOUND, "no such connection", "connectionId"
            )
        if not connection.provider.supports(Capability.CREATE_ORDER):
            return _unsupported(connection, "create orders", "connectionId")
        try:
            stored = await create_order_for_connection(context.services, connection, new_order)
        except ProviderError as exc:
            return MutationOutcome(issues=[issue_for_provider_error(exc)])
        except ValueError as exc:
            return MutationOutcome.failed(UserErrorCode.INVALID_INPUT, str(exc))
        return MutationOutcome(order_keys=[stored.id])

    return await idempotent(
        context,
        key=idempotency_key,
        operation="createOrder",
        request={"connection": connection_id, "order": new_order.model_dump(mode="json")},
        perform=perform,
    )


async def publish_packages(
    context: Context,
    connection_id: str,
    packages: Sequence[Package],
    *,
    idempotency_key: str | None = None,
) -> MutationOutcome:
    """Publish the vendor's packages on a connection (Kombo replaces the whole list)."""

    async def perform() -> MutationOutcome:
        connection = _connection_for(context, connection_id)
        if connection is None:
            return MutationOutcome.failed(
                UserErrorCode.NOT_FOUND, "no such connection", "connectionId"
            )
        if not connection.provider.supports(Capability.PUBLISH_PACKAGES):
            return _unsupported(connection, "publish packages", "connectionId")
        try:
            warnings = await connection.provider.publish_packages(list(packages))
        except ProviderError as exc:
            return MutationOutcome(issues=[issue_for_provider_error(exc, "packages")])
        except ValueError as exc:
            return MutationOutcome.failed(UserErrorCode.INVALID_INPUT, str(exc), "packages")
        finally:
            # Also after a failure: Unified publishes one package per request, so a
            # failed call may have changed some; the cached list must not hide that.
            cache = context.services.cache
            await cache.delete(cache.key(connection.tenant, "packages", connection.id))
            _forget(context.loaders.packages_by_connection, connection.id)
        return MutationOutcome(packages=list(packages), warnings=list(warnings))

    return await idempotent(
        context,
        key=idempotency_key,
        operation="publishPackages",
        request={
            "connection": connection_id,
            "packages": [p.model_dump(mode="json") for p in packages],
        },
        perform=perform,
    )


async def refresh_orders(context: Context, order_keys: Sequence[str | None]) -> MutationOutcome:
    """Read orders from their providers now and record what changed.

    ``order_keys`` are in the caller's order; ``None`` stands for an id that is not an
    order id, so every NOT_FOUND names the caller's own index.
    """
    outcome = MutationOutcome()
    wanted = [key for key in order_keys if key is not None]
    loaded = iter(await context.loaders.order_by_id.load_many(wanted))
    found = [None if key is None else next(loaded) for key in order_keys]
    by_connection: dict[str, list[StoredOrder]] = {}
    for index, stored in enumerate(found):
        if stored is None:
            outcome.issues.append(
                UserIssue(UserErrorCode.NOT_FOUND, "no such order", ("ids", str(index)))
            )
            continue
        by_connection.setdefault(stored.connection_id, []).append(stored)
    for connection_id, orders in by_connection.items():
        connection = _connection_for(context, connection_id)
        if connection is None:
            continue
        if not connection.provider.supports(Capability.GET_ORDERS):
            # Said, never answered with the stored copy as if it were fresh.
            outcome.issues.append(
                UserIssue(
                    UserErrorCode.UNSUPPORTED_BY_PROVIDER,
                    f"{connection.provider_name.value} cannot read orders back on "
                    f"connection {connection.id}; the stored orders were not refreshed",
                    ("ids",),
                )
            )
            continue
        # When the read began: one begun before a result was delivered must not put
        # the old status back (the store's rule, ordergraph/store/ingest_plan.py).
        read_at = utcnow()
        try:
            fresh = await connection.provider.get_orders([o.order.remote_id for o in orders])
        except ProviderError as exc:
            outcome.issues.append(issue_for_provider_error(exc, "ids"))
            continue
        # A read without a result keeps the one we hold: the store's ingestion rule.
        read = [
            fresh[stored.order.remote_id]
            for stored in {o.id: o for o in orders}.values()
            if stored.order.remote_id in fresh
        ]
        await context.services.ingestor.ingest(connection, read, EventSource.POLL, read_at=read_at)
        for stored in orders:
            _forget(context.loaders.order_by_id, stored.id)
            outcome.order_keys.append(stored.id)
    return outcome
