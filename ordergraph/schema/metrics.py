"""``OperationMetrics``: counts each GraphQL operation by name, type and outcome.

The counters belong to the application whose request this is: the extension finds
them in the request context (``Context.services.metrics``), so one schema object
serves every application in the process and each counts its own operations.

Outcomes: ``ok``; ``field_error`` (executed, some fields failed: partial data);
``request_error`` (the operation never ran: parse, validation or variable errors,
an unknown operation name, or an exception before execution); ``cancelled`` (the
client went away mid-request). A subscription is counted once, when it ends, by the
outcome of its last result.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext, PreExecutionError

from ordergraph.metrics import Metrics

__all__ = ["OperationMetrics", "metrics_of", "outcome_of"]


def metrics_of(context: Any) -> Metrics | None:
    metrics = getattr(getattr(context, "services", None), "metrics", None)
    return metrics if isinstance(metrics, Metrics) else None


def outcome_of(execution_context: ExecutionContext) -> str:
    """``ok``, ``field_error`` or ``request_error`` for a finished operation."""
    result = execution_context.result
    if result is None or isinstance(result, PreExecutionError):
        return "request_error"
    errors = result.errors or []
    if not errors:
        return "ok"
    # Variable coercion errors come back with no data and errors without a path.
    if result.data is None and all(not error.path for error in errors):
        return "request_error"
    return "field_error"


def _operation_type(execution_context: ExecutionContext) -> str:
    try:
        return execution_context.operation_type.value
    except Exception:  # no document, or no operation of that name
        return "unknown"


class OperationMetrics(SchemaExtension):
    """See the module docstring."""

    def on_operation(self) -> Iterator[None]:
        outcome = "request_error"
        try:
            yield
            outcome = outcome_of(self.execution_context)
        except Exception:
            outcome = "request_error"
            raise
        except BaseException:
            # Closed from outside: a subscription the client completed (or whose
            # socket went away), or a request whose client disconnected.
            outcome = self._closed_outcome()
            raise
        finally:
            metrics = metrics_of(self.execution_context.context)
            if metrics is not None:
                metrics.graphql_operation(
                    self.execution_context.operation_name,
                    _operation_type(self.execution_context),
                    outcome,
                )

    def _closed_outcome(self) -> str:
        if self.execution_context.result is not None:
            return outcome_of(self.execution_context)
        if _operation_type(self.execution_context) == "subscription":
            return "ok"  # ended before its first event
        return "cancelled"
