"""The bank port: payment orders over HTTP (JSON), idempotent by the proposal id.

POST `<bank_url>` with {payment_id, amount_cents, currency, supplier_id, reference} and the
header `Idempotency-Key: <payment_id>`: the bank executes one payment per key, so a retry
(ours, or a redelivered stage) never pays twice. 5xx answers and connection errors are
retried with backoff; a 4xx is the bank refusing the payment (the POST itself: `http.post_json`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import settings
from . import http, secrets


@dataclass(frozen=True)
class PaymentOrder:
    payment_id: str
    amount_cents: int
    currency: str
    supplier_id: str
    reference: str


@dataclass(frozen=True)
class PaymentAccepted:
    status: int
    body: dict[str, Any]


class BankUnavailable(Exception):
    """No answer (timeouts, connection errors, 5xx) after every retry: the payment may or may not
    be known to the bank; sending it again with the same key is safe."""


class PaymentRefused(Exception):
    """The bank answered 4xx: it will not execute this payment."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"bank refused the payment ({status}): {body[:500]}")
        self.status = status
        self.body = body


def push_payment(
    order: PaymentOrder,
    *,
    url: str | None = None,
    timeout_s: float | None = None,
    retries: int | None = None,
    backoff_s: float = 0.2,
) -> PaymentAccepted:
    s = settings()
    url = url or s.bank_url
    if not url:
        raise BankUnavailable("no bank configured (settings.bank_url)")
    timeout = s.bank_timeout_s if timeout_s is None else timeout_s
    attempts = 1 + (s.bank_retries if retries is None else retries)
    payload = {
        "payment_id": order.payment_id,
        "amount_cents": order.amount_cents,
        "currency": order.currency,
        "supplier_id": order.supplier_id,
        "reference": order.reference,
    }
    try:
        answer = http.post_json(
            url,
            payload,
            idempotency_key=order.payment_id,
            timeout_s=timeout,
            attempts=attempts,
            backoff_s=backoff_s,
            credentials=secrets.credential_header(s.bank_secret),
        )
    except http.Refused as exc:
        raise PaymentRefused(exc.status, exc.body) from None
    except http.Unavailable as exc:
        raise BankUnavailable(f"the bank did not take payment {order.payment_id} after {exc}") from None
    return PaymentAccepted(status=answer.status, body=answer.body)
