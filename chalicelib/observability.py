"""Logs, traces and metrics, each made once for the whole app (Powertools).

`logger` is the one structured logger every module imports; `traced` puts the one Tracer on the
Lambda handlers in app.py (off outside Lambda: tests, the local stack); `metrics` holds
the technical figures (invocations, errors, events published: app.py's middleware flushes them
once per invocation) and, beside them, the business figures below, one small function each so a
service marks the moment in one line."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from .topology import APP_NAME

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

NAMESPACE = "Waybill"

logger = Logger(service=APP_NAME)
metrics = Metrics(namespace=NAMESPACE, service=APP_NAME)

Handler = TypeVar("Handler", bound=Callable[..., Any])
_tracer: list[Tracer] = []  # made at the first traced call in Lambda


def tracer() -> Tracer | None:
    """The one Tracer, or None where tracing is off (Powertools' own rule: POWERTOOLS_TRACE_DISABLED,
    or not in Lambda, or in SAM / Chalice local). Made on first use, not at import: the X-Ray SDK
    builds botocore clients as it loads, which `import app` (the cold-import figure) must not pay."""
    from aws_lambda_powertools import Tracer

    if Tracer._is_tracer_disabled():
        return None
    if not _tracer:
        _tracer.append(Tracer(service=APP_NAME))
    return _tracer[0]


def traced(handler: Handler) -> Handler:
    """A Lambda handler run inside a traced segment (`Tracer.capture_method`) when tracing is on;
    Chalice's handlers take one argument or two, so not `capture_lambda_handler`."""
    wrapped: list[Callable[..., Any]] = []

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not wrapped:
            t = tracer()
            wrapped.append(t.capture_method(handler) if t is not None else handler)
        return wrapped[0](*args, **kwargs)

    return run  # type: ignore[return-value]  # functools.wraps keeps the handler's signature


ORDERS_PLACED = "OrdersPlaced"
PO_STAGES_LATE = "POStagesLate"
REFUNDS_SUCCEEDED = "RefundsSucceeded"
REFUNDS_FAILED = "RefundsFailed"


def order_placed() -> None:
    """A customer's order was stored (not an idempotent replay of it)."""
    metrics.add_metric(name=ORDERS_PLACED, unit=MetricUnit.Count, value=1)


def po_late() -> None:
    """A purchase order's open stage passed its deadline (each pass: a reminder or an escalation)."""
    metrics.add_metric(name=PO_STAGES_LATE, unit=MetricUnit.Count, value=1)


def refund_finished(succeeded: bool) -> None:
    """A customer refund reached the gateway's final answer (or ran out of attempts)."""
    metrics.add_metric(name=REFUNDS_SUCCEEDED if succeeded else REFUNDS_FAILED, unit=MetricUnit.Count, value=1)
