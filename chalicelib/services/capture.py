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
are one transaction under the record's version."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..adapters import gateway
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import Item, OrderItem, PaymentTxnItem
from ..config import settings
from ..domain import metrics
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, NotFound
from ..domain.orders import Order, PaymentMode
from ..domain.permissions import SYSTEM
from ..observability import logger
from . import exceptions
from .clock import new_id, now
from .deadlines import CAPTURE_RETRY, deadline_write

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


def capture_id(order_id: str, supplier_id: str) -> str:
    """The one capture of an order's delivery: the same on every run."""
    digest = hashlib.sha256(f"{order_id}\x00{supplier_id}".encode()).hexdigest()[:24]
    return f"cap_{digest}"


def payment_record(item: PaymentTxnItem) -> PaymentRecord:
    return PaymentRecord(
        id=item.id,
        kind=item.payment_kind,
        supplier_id=item.supplier_id,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        status=item.status,
        gateway_reference=item.gateway_reference,
        failure=item.failure,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def payment_history(order_items: Iterable[Item]) -> list[PaymentRecord]:
    """The payments among the items of an order's partition (its Query), oldest first."""
    found = [payment_record(i) for i in order_items if isinstance(i, PaymentTxnItem)]
    return sorted(found, key=lambda r: (r.created_at, r.id))


def delivery_amount(order: Order, supplier_id: str) -> int:
    """What the supplier's delivery costs the customer (its lines are already cut to what it accepted)."""
    return sum(line.quantity * line.unit_price_cents for line in order.lines if line.supplier_id == supplier_id)


def capture_delivery(order_id: str, supplier_id: str) -> PaymentRecord | None:
    """Capture the payment for the supplier's delivery of an `authorise_then_capture` order, once.

    None for any other payment mode (no call), and for a delivery that costs nothing. Raises
    `GatewayUnavailable` (the record stays pending) so the queue retries with the same key."""
    order_item = repo.get(keys.order(order_id), OrderItem)
    if order_item is None:
        raise NotFound(f"order {order_id} not found")
    order = repo.order_from_item(order_item)
    if order.payment_mode is not PaymentMode.AUTHORISE_THEN_CAPTURE:
        return None
    order.delivery(supplier_id)  # RuleViolation when the order has no delivery from this supplier
    pay_id = capture_id(order_id, supplier_id)
    item = repo.get(keys.order_payment(order_id, pay_id), PaymentTxnItem)
    if item is None:
        amount = delivery_amount(order, supplier_id)
        if amount <= 0:
            logger.warning("nothing to capture for the delivery", extra={"order_id": order_id, "supplier_id": supplier_id})
            return None
        item = _open(order, supplier_id, pay_id, amount)
    if item.status != PENDING:
        return payment_record(item)  # done before (succeeded), or left to staff (failed)
    return capture_pending(item, order.campaign_id)


def _open(order: Order, supplier_id: str, pay_id: str, amount: int) -> PaymentTxnItem:
    """Write the pending record; a concurrent run that wrote it first wins and its record is used."""
    at = now()
    pk, sk = keys.order_payment(order.id, pay_id)
    item = PaymentTxnItem(
        pk,
        sk,
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
        repo.commit([repo.new_item(item)], what=f"payment {pay_id}")
    except Conflict:
        existing = repo.get((pk, sk), PaymentTxnItem)
        if existing is None:
            raise
        return existing
    return item


def capture_pending(item: PaymentTxnItem, campaign_id: str) -> PaymentRecord:
    """Send a pending capture to the gateway under its idempotency key and finish the record."""
    request = gateway.CaptureRequest(
        capture_id=item.idempotency_key,
        order_id=item.order_id,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        reference=f"order {item.order_id} / supplier {item.supplier_id}",
    )
    try:
        result = gateway.capture(request)
    except gateway.GatewayDeclined as exc:
        # Raised before the record is finished: a crash in between leaves it pending, and the
        # rerun (same decline, same key) raises it again rather than never.
        reason = declined(exc, item)
        return _finish(item, FAILED, failure=reason, data={"status": exc.status})
    except gateway.GatewayUnavailable:
        logger.warning(
            "payment gateway unavailable; the capture stays pending", extra={"order_id": item.order_id, "payment_id": item.id}
        )
        raise
    return _finish(
        item, SUCCEEDED, reference=result.transaction_id, data={"transaction_id": result.transaction_id}, campaign_id=campaign_id
    )


def declined(exc: gateway.GatewayDeclined, item: PaymentTxnItem, **details: Any) -> str:
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


def retry_deadline(item: PaymentTxnItem, at: datetime) -> repo.Write:
    """A declined capture is tried again by itself, a bounded number of times with a growing wait (a
    card may be topped up; hammering it would not help): a subject deadline the escalation sweep acts
    on (`escalations.DEADLINE_ACTIONS`). After the last one it is accounting's (`payment_failed`)."""
    wait = settings().capture_retry_after_s * 4 ** int(item.attempts or 0)
    return deadline_write(
        "order",
        item.order_id,
        CAPTURE_RETRY,
        at + timedelta(seconds=wait),
        {"payment_id": item.id, "attempt": int(item.attempts or 0) + 1},
    )


def _finish(
    item: PaymentTxnItem,
    status: str,
    *,
    reference: str | None = None,
    failure: str | None = None,
    data: dict[str, Any],
    campaign_id: str | None = None,
) -> PaymentRecord:
    """The final status and the order's audit event, one transaction under the record's version."""
    at = now()
    item.status, item.updated_at = status, at
    item.gateway_reference, item.failure = reference, failure
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=item.order_id,
        type=CAPTURED_EVENT if status == SUCCEEDED else FAILED_EVENT,
        actor=SYSTEM,
        at=at,
        internal_note=None if status == SUCCEEDED else f"payment capture failed: {(failure or '')[:200]}",
        data={
            "payment_id": item.id,
            "supplier_id": item.supplier_id,
            "amount_cents": int(item.amount_cents),
            "currency": item.currency,
            **data,
        },
    )
    writes: list[repo.Write | repo.Update] = [repo.Write(item), repo.event_write(keys.order_pk(item.order_id), event)]
    if status == FAILED and int(item.attempts or 0) < settings().capture_auto_retries:
        writes.append(retry_deadline(item, at))
    if status == SUCCEEDED and campaign_id:  # the campaign counts money once it moved
        writes.append(repo.campaign_summary_update(campaign_id, item.order_id, metrics.money_received(int(item.amount_cents))))
    try:
        repo.commit(writes, what=f"payment {item.id}")
    except Conflict:
        # A concurrent run finished it first (same key, so the same gateway answer): use its record.
        current = repo.get((item.PK, item.SK), PaymentTxnItem)
        if current is None or current.status == PENDING:
            raise
        return payment_record(current)
    return payment_record(item)
