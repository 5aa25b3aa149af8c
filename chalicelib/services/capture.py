"""Capturing customer payments: an `authorise_then_capture` order is charged, per delivery, when
its supplier ships.

One capture per (order, supplier): its id is derived from them (`capture_id`) and is the
gateway's idempotency key. The payment record (`ORDER#<order>` / `PAYMENT#<capture id>`) is
written `pending` (a conditional create) before the gateway is called, so a redelivered
shipment message finds it and never starts a second capture:

- `succeeded`: nothing to do; the record is returned.
- `pending` (a crash, or a gateway that did not answer, between the two writes): the gateway is
  called again with the same key and amount (it answers with the same transaction), and the
  record is finished.
- `failed` (declined): left as it is; staff handle it through the `payment_failed` exception.

The final status and the order's audit event (`order.payment_captured` / `order.payment_failed`)
are one transaction under the record's version. The record is the money area's `ports_money.Payment`;
a declined capture's retry deadline is `services.deadlines`' change (an overwrite), committed with it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..adapters import gateway
from ..config import settings
from ..domain import metrics
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict, NotFound
from ..domain.orders import Order, PaymentMode
from ..domain.permissions import SYSTEM
from ..observability import logger
from . import exceptions, uow
from .clock import new_id, now
from .deadlines import CAPTURE_RETRY, deadline_change
from .ports import Change, CountCampaign, Record, Save, Versioned
from .ports_money import Payment

CAPTURE = "capture"
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
CAPTURED_EVENT, FAILED_EVENT = "order.payment_captured", "order.payment_failed"


@dataclass
class PaymentRecord:
    id: str
    kind: str  # "capture"
    supplier_id: str
    amount_cents: int
    currency: str
    status: str  # pending, succeeded, failed
    gateway_reference: str | None
    failure: str | None
    created_at: datetime
    updated_at: datetime


class Movement(Protocol):
    """What `declined` reads of a money movement (a `Payment`, or `services.complaints`' refund item)."""

    @property
    def id(self) -> str: ...
    @property
    def order_id(self) -> str: ...
    @property
    def supplier_id(self) -> str: ...
    @property
    def amount_cents(self) -> float: ...
    @property
    def currency(self) -> str: ...


def capture_id(order_id: str, supplier_id: str) -> str:
    """The one capture of an order's delivery: the same on every run."""
    digest = hashlib.sha256(f"{order_id}\x00{supplier_id}".encode()).hexdigest()[:24]
    return f"cap_{digest}"


def payment_record(payment: Payment) -> PaymentRecord:
    return PaymentRecord(
        id=payment.id,
        kind=payment.payment_kind,
        supplier_id=payment.supplier_id,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        status=payment.status,
        gateway_reference=payment.gateway_reference,
        failure=payment.failure,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
    )


def payment_history(payments: Iterable[Payment]) -> list[PaymentRecord]:
    """An order's payments (`Store.payments_of`, or its trail's), oldest first."""
    found = [payment_record(p) for p in payments]
    return sorted(found, key=lambda r: (r.created_at, r.id))


def delivery_amount(order: Order, supplier_id: str) -> int:
    """What the supplier's delivery costs the customer (its lines are already cut to what it accepted)."""
    return sum(line.quantity * line.unit_price_cents for line in order.lines if line.supplier_id == supplier_id)


def capture_delivery(order_id: str, supplier_id: str) -> PaymentRecord | None:
    """Capture the payment for the supplier's delivery of an `authorise_then_capture` order, once.

    None for any other payment mode (no call), and for a delivery that costs nothing. Raises
    `GatewayUnavailable` (the record stays pending) so the queue retries with the same key."""
    store = uow.store()
    found = store.load(Order, order_id)
    if found is None:
        raise NotFound(f"order {order_id} not found")
    order = found.value
    if order.payment_mode is not PaymentMode.AUTHORISE_THEN_CAPTURE:
        return None
    order.delivery(supplier_id)  # RuleViolation when the order has no delivery from this supplier
    pay_id = capture_id(order_id, supplier_id)
    read = store.load(Payment, order_id, pay_id)
    if read is None:
        amount = delivery_amount(order, supplier_id)
        if amount <= 0:
            logger.warning("nothing to capture for the delivery", extra={"order_id": order_id, "supplier_id": supplier_id})
            return None
        read = _open(order, supplier_id, pay_id, amount)
    if read.value.status != PENDING:
        return payment_record(read.value)  # done before (succeeded), or left to staff (failed)
    return capture_pending(read, order.campaign_id)


def _open(order: Order, supplier_id: str, pay_id: str, amount: int) -> Versioned[Payment]:
    """Write the pending record; a concurrent run that wrote it first wins and its record is used."""
    at = now()
    payment = Payment(
        id=pay_id,
        order_id=order.id,
        payment_kind=CAPTURE,
        supplier_id=supplier_id,
        amount_cents=amount,
        currency=order.currency,
        status=PENDING,
        idempotency_key=pay_id,
        reason="captured as the delivery shipped",
        actor=SYSTEM.sub,
        created_at=at,
        updated_at=at,
    )
    try:
        uow.store().commit([Save(payment, None)], what=f"payment {pay_id}", at=at)
    except (AlreadyExists, Conflict):
        existing = uow.store().load(Payment, order.id, pay_id)
        if existing is None:
            raise
        return existing
    return Versioned(payment, 1)


def capture_pending(read: Versioned[Payment], campaign_id: str) -> PaymentRecord:
    """Send a pending capture to the gateway under its idempotency key and finish the record (under the
    version it was read at)."""
    payment = read.value
    request = gateway.CaptureRequest(
        capture_id=payment.idempotency_key,
        order_id=payment.order_id,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        reference=f"order {payment.order_id} / supplier {payment.supplier_id}",
    )
    try:
        result = gateway.capture(request)
    except gateway.GatewayDeclined as exc:
        # Raised before the record is finished: a crash in between leaves it pending, and the
        # rerun (same decline, same key) raises it again rather than never.
        reason = declined(exc, payment)
        return _finish(read, FAILED, failure=reason, data={"status": exc.status})
    except gateway.GatewayUnavailable:
        logger.warning(
            "payment gateway unavailable; the capture stays pending",
            extra={"order_id": payment.order_id, "payment_id": payment.id},
        )
        raise
    return _finish(
        read, SUCCEEDED, reference=result.transaction_id, data={"transaction_id": result.transaction_id}, campaign_id=campaign_id
    )


def declined(exc: gateway.GatewayDeclined, item: Movement, **details: Any) -> str:
    """The gateway refused a capture or refund: `payment_failed` on the order for accounting.
    Returns the reason to record on the payment."""
    reason = exc.body[:1000] or f"HTTP {exc.status}"
    exceptions.raise_or_bump(
        "payment_failed",
        "order",
        item.order_id,
        {
            "payment_id": item.id,
            "supplier_id": item.supplier_id,
            "amount_cents": int(item.amount_cents),
            "currency": item.currency,
            "status": exc.status,
            "reason": reason[:500],
            **details,
        },
    )
    return reason


def retry_deadline(payment: Payment, at: datetime) -> Change:
    """A declined capture is tried again by itself, a bounded number of times with a growing wait (a
    card may be topped up; hammering it would not help): a subject deadline the escalation sweep acts
    on (`escalations.DEADLINE_ACTIONS`). After the last one it is accounting's (`payment_failed`).
    A `services.deadlines` change (it overwrites the previous attempt's) for the payment's commit."""
    wait = settings().capture_retry_after_s * 4**payment.attempts
    return deadline_change(
        "order",
        payment.order_id,
        CAPTURE_RETRY,
        at + timedelta(seconds=wait),
        {"payment_id": payment.id, "attempt": payment.attempts + 1},
    )


def _finish(
    read: Versioned[Payment],
    status: str,
    *,
    reference: str | None = None,
    failure: str | None = None,
    data: dict[str, Any],
    campaign_id: str | None = None,
) -> PaymentRecord:
    """The final status and the order's audit event, one transaction under the record's version."""
    at = now()
    done = replace(read.value, status=status, updated_at=at, gateway_reference=reference, failure=failure)
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=done.order_id,
        type=CAPTURED_EVENT if status == SUCCEEDED else FAILED_EVENT,
        actor=SYSTEM,
        at=at,
        internal_note=None if status == SUCCEEDED else f"payment capture failed: {(failure or '')[:200]}",
        data={
            "payment_id": done.id,
            "supplier_id": done.supplier_id,
            "amount_cents": done.amount_cents,
            "currency": done.currency,
            **data,
        },
    )
    changes: list[Change] = [Save(done, read.version), Record(event)]
    if status == FAILED and done.attempts < settings().capture_auto_retries:
        changes.append(retry_deadline(done, at))
    if status == SUCCEEDED and campaign_id:  # the campaign counts money once it moved
        changes.append(CountCampaign(campaign_id, done.order_id, metrics.money_received(done.amount_cents)))
    try:
        uow.store().commit(changes, what=f"payment {done.id}", at=at)
    except Conflict:
        # A concurrent run finished it first (same key, so the same gateway answer): use its record.
        current = uow.store().load(Payment, done.order_id, done.id)
        if current is None or current.value.status == PENDING:
            raise
        return payment_record(current.value)
    return payment_record(done)
