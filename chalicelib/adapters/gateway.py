"""The payment-gateway port: captures (and refunds) of customer payments over HTTP (JSON),
idempotent by the caller's id.

POST `<payment_gateway_url>/captures` with {capture_id, order_id, amount_cents, currency,
reference} and the header `Idempotency-Key: <capture_id>`; refunds go to `/refunds` the same
way, keyed by the refund id. The gateway executes one transaction per key, so a retry (ours,
or a redelivered message) never charges twice. 2xx is success; 5xx answers and connection
errors are retried with backoff, then `GatewayUnavailable`; a 4xx is `GatewayDeclined` (the POST
itself: `http.post_json`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import settings
from . import http, secrets

SUCCEEDED = "succeeded"


@dataclass(frozen=True)
class CaptureRequest:
    capture_id: str  # also the idempotency key
    order_id: str
    amount_cents: int
    currency: str
    reference: str


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str  # also the idempotency key
    order_id: str
    amount_cents: int
    currency: str
    reference: str
    transaction_id: str | None = None  # the capture being refunded, when known


@dataclass(frozen=True)
class GatewayResult:
    transaction_id: str | None  # the gateway's transaction id (or its `reference`)
    status: str  # "succeeded"
    http_status: int
    body: dict[str, Any]


class GatewayUnavailable(Exception):
    """No answer (timeouts, connection errors, 5xx) after every retry: the gateway may or may not
    know the transaction; sending it again with the same key is safe."""


class GatewayDeclined(Exception):
    """The gateway answered 4xx: it will not execute this transaction."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"the payment gateway declined ({status}): {body[:500]}")
        self.status = status
        self.body = body


def capture(
    request: CaptureRequest,
    *,
    url: str | None = None,
    timeout_s: float | None = None,
    retries: int | None = None,
    backoff_s: float = 0.2,
) -> GatewayResult:
    payload = {
        "capture_id": request.capture_id,
        "order_id": request.order_id,
        "amount_cents": request.amount_cents,
        "currency": request.currency,
        "reference": request.reference,
    }
    return _post("captures", payload, request.capture_id, url=url, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s)


def refund(
    request: RefundRequest,
    *,
    url: str | None = None,
    timeout_s: float | None = None,
    retries: int | None = None,
    backoff_s: float = 0.2,
) -> GatewayResult:
    payload: dict[str, Any] = {
        "refund_id": request.refund_id,
        "order_id": request.order_id,
        "amount_cents": request.amount_cents,
        "currency": request.currency,
        "reference": request.reference,
    }
    if request.transaction_id:
        payload["transaction_id"] = request.transaction_id
    return _post("refunds", payload, request.refund_id, url=url, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s)


def _post(
    path: str,
    payload: dict[str, Any],
    key: str,
    *,
    url: str | None,
    timeout_s: float | None,
    retries: int | None,
    backoff_s: float,
) -> GatewayResult:
    s = settings()
    base = url or s.payment_gateway_url
    if not base:
        raise GatewayUnavailable("no payment gateway configured (settings.payment_gateway_url)")
    target = f"{base.rstrip('/')}/{path}"
    timeout = s.payment_gateway_timeout_s if timeout_s is None else timeout_s
    attempts = 1 + (s.payment_gateway_retries if retries is None else retries)
    try:
        answer = http.post_json(
            target,
            payload,
            idempotency_key=key,
            timeout_s=timeout,
            attempts=attempts,
            backoff_s=backoff_s,
            credentials=secrets.credential_header(s.payment_gateway_secret),
        )
    except http.Refused as exc:
        raise GatewayDeclined(exc.status, exc.body) from None
    except http.Unavailable as exc:
        raise GatewayUnavailable(f"the payment gateway did not take {path[:-1]} {key} after {exc}") from None
    txn = answer.body.get("transaction_id") or answer.body.get("reference")
    return GatewayResult(
        transaction_id=txn if isinstance(txn, str) else None, status=SUCCEEDED, http_status=answer.status, body=answer.body
    )
