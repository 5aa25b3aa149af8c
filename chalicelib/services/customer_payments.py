"""Customer money outside complaints: what checkout records, an offline order's payment deadline,
the cash collected on delivery, and refunds, carried out by the payments consumer.

A refund is written `pending` in the transaction that makes it due (a supplier refused lines of
a prepaid order: `services.refunds`), with an `order.refund_due` event. The payments consumer
sends it to the gateway with the refund id as idempotency key, so a redelivered event, a
retry or a second worker never pays twice; the record is finished under its version:

- `succeeded`: the order's history shows it, the customer is told (`order.refund_succeeded`), and
  the campaign's `refunded_cents` counts it (money that moved, not money promised).
- the gateway declined (4xx): `failed`, and a `refund_failed` exception to accounting.
- no answer after the adapter's own retries (with backoff): the attempt is counted and the message
  goes back to the queue, which redelivers it after its visibility timeout; after
  `refund_max_attempts` the refund is `failed` and `refund_failed` raised.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import observability
from ..adapters import gateway
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import DeadlineItem, OrderItem, PaymentTxnItem
from ..config import settings
from ..domain import metrics
from ..domain import payments as money
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, NotFound
from ..domain.orders import Order, OrderStatus, PaymentMode
from ..domain.permissions import SYSTEM, Principal
from ..observability import logger
from . import deadlines, exceptions
from .capture import capture_id
from .clock import new_id, now

REFUND_SUCCEEDED, REFUND_FAILED = "order.refund_succeeded", "order.refund_failed"
OFFLINE_DUE_KIND = "payment_overdue"


def offline_deadline_writes(order: Order, at: datetime) -> list[repo.Write]:
    """An offline order waiting for its payment gets a deadline: past it, the sweep raises
    `payment_overdue` for accounting and the customer is reminded (a notification rule)."""
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return []
    due = at + timedelta(seconds=settings().offline_payment_due_s)
    return [
        deadlines.deadline_write(
            "order",
            order.id,
            OFFLINE_DUE_KIND,
            due,
            {
                "order_id": order.id,
                "campaign_id": order.campaign_id,
                "customer_email": order.customer_email,
                "amount_cents": order.payable_cents,
                "currency": order.currency,
            },
        )
    ]


def cash_on_delivery_writes(order: Order, supplier_id: str, at: datetime) -> list[repo.Write | repo.Update]:
    """A pay-on-delivery delivery arrived: the carrier collected its amount (the record is created once,
    its id derived from order and supplier; the delivery's own version guards the step)."""
    amount = order.delivery_cents(supplier_id)
    if order.payment_mode is not PaymentMode.PAY_ON_DELIVERY or amount <= 0:
        return []
    pay_id = money.cash_id(order.id, supplier_id)
    pk, sk = keys.order_payment(order.id, pay_id)
    return [
        repo.new_item(
            PaymentTxnItem(
                pk,
                sk,
                id=pay_id,
                order_id=order.id,
                payment_kind=money.PaymentKind.CASH_COLLECTED.value,
                supplier_id=supplier_id,
                amount_cents=amount,
                currency=order.currency,
                status=money.SUCCEEDED,
                idempotency_key=pay_id,
                reason="collected on delivery",
                actor=SYSTEM.sub,
                created_at=at,
                updated_at=at,
            )
        ),
        repo.campaign_summary_update(order.campaign_id, order.id, metrics.money_received(amount)),
    ]


def offline_deadline_delete(order_id: str) -> repo.Delete:
    pk, sk = keys.deadline(keys.order_pk(order_id), OFFLINE_DUE_KIND)
    return repo.Delete(DeadlineItem(pk, sk))


REFUND_DUE = "order.refund_due"
MANUAL_REFUND_KIND = "manual_refund_due"


def refund_due_writes(
    order: Order,
    refund_id: str,
    amount_cents: int,
    at: datetime,
    *,
    supplier_id: str | None,
    reason: str,
    po_id: str | None = None,
    actor: Principal = SYSTEM,
    sku: str | None = None,
) -> list[repo.Write]:
    """A pending refund record (conditional create: a retried step names the same id) and the
    `order.refund_due` event the payments consumer carries out. Part of the caller's transaction."""
    pk, sk = keys.order_payment(order.id, refund_id)
    item = PaymentTxnItem(
        pk,
        sk,
        id=refund_id,
        order_id=order.id,
        payment_kind=money.PaymentKind.REFUND.value,
        supplier_id=supplier_id or "",
        sku=sku,
        amount_cents=amount_cents,
        currency=order.currency,
        status=money.PENDING,
        idempotency_key=refund_id,
        reason=reason,
        actor=actor.sub,
        created_at=at,
        updated_at=at,
    )
    # 1 ms after the step that made it due, so the order's history reads cause, then consequence.
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type=REFUND_DUE,
        actor=actor,
        at=at + timedelta(milliseconds=1),
        internal_note=reason,
        data={
            "order_id": order.id,
            "refund_id": refund_id,
            "amount_cents": amount_cents,
            "currency": order.currency,
            "po_id": po_id,
            "supplier_id": supplier_id,
        },
    )
    return [repo.new_item(item), repo.event_write(keys.order_pk(order.id), event)]


def money_back_writes(
    order: Order,
    refund_id: str,
    amount_cents: int,
    at: datetime,
    *,
    reason: str,
    actor: Principal = SYSTEM,
    supplier_id: str | None = None,
    po_id: str | None = None,
) -> list[repo.Write]:
    """Money going back to the customer, the one place that decides how: through the gateway (a pending
    refund the payments consumer sends), or, for money received offline, a refund `awaiting_transfer`
    that accounting makes and then records (`order_payments.record_transfer`; `flag_transfers` brings it
    to them). Either way the order's history shows it from the moment it is promised."""
    if amount_cents <= 0:
        return []
    if not money.back_by_transfer(order.payment_mode):
        return refund_due_writes(
            order, refund_id, amount_cents, at, supplier_id=supplier_id, reason=reason, po_id=po_id, actor=actor
        )
    pk, sk = keys.order_payment(order.id, refund_id)
    return [
        repo.new_item(
            PaymentTxnItem(
                pk,
                sk,
                id=refund_id,
                order_id=order.id,
                payment_kind=money.PaymentKind.REFUND.value,
                supplier_id=supplier_id or "",
                amount_cents=amount_cents,
                currency=order.currency,
                status=money.AWAITING_TRANSFER,
                idempotency_key=refund_id,
                reason=reason,
                actor=actor.sub,
                created_at=at,
                updated_at=at,
            )
        )
    ]


def flag_transfers(order: Order, writes: list[Any]) -> None:
    """After the commit: a transfer promised in `writes` is brought to accounting (`manual_refund_due`),
    resolved when the last one is recorded as made."""
    due = [i for i in payment_items(writes) if i.status == money.AWAITING_TRANSFER]
    if due:
        exceptions.raise_or_bump(
            MANUAL_REFUND_KIND,
            "order",
            order.id,
            {
                "order_id": order.id,
                "campaign_id": order.campaign_id,
                "currency": order.currency,
                "amount_cents": sum(int(i.amount_cents) for i in due),
                "refund_ids": [i.id for i in due],
                "reason": due[0].reason,
            },
        )


def payment_items(writes: list[Any]) -> list[PaymentTxnItem]:
    """The payment records among a transaction's writes (what the caller returns as the order's history)."""
    return [w.item for w in writes if isinstance(getattr(w, "item", None), PaymentTxnItem)]


REFUND_ON_WITHDRAWAL = "We are refunding the {amount} you paid to your original payment method."
TRANSFER_ON_WITHDRAWAL = "We will pay the {amount} you paid back to you by bank transfer."


def received_at_checkout(order: Order) -> dict[str, int]:
    """What checkout adds to the campaign's money received (in the order's own summary update: a
    transaction may touch the summary shard once)."""
    return metrics.money_received(order.total_cents) if money.at_checkout(order.payment_mode) is money.PaymentKind.PAYMENT else {}


def checkout_writes(order: Order, actor: Principal, at: datetime) -> list[repo.Write]:
    """What checkout did with the customer's money, recorded in the placing transaction: a prepaid
    order's payment, an authorise-then-capture order's hold on the card (it moves nothing)."""
    kind = money.at_checkout(order.payment_mode)
    if kind is None:
        return []
    pay_id = money.checkout_payment_id(order.id)
    pk, sk = keys.order_payment(order.id, pay_id)
    reason = "paid at checkout" if kind is money.PaymentKind.PAYMENT else "authorised at checkout"
    return [
        repo.new_item(
            PaymentTxnItem(
                pk,
                sk,
                id=pay_id,
                order_id=order.id,
                payment_kind=kind.value,
                supplier_id="",
                amount_cents=order.total_cents,
                currency=order.currency,
                status=money.SUCCEEDED,
                idempotency_key=pay_id,
                reason=reason,
                actor=actor.sub,
                created_at=at,
                updated_at=at,
            )
        )
    ]


def refund_everything_writes(
    order: Order, payments: list[PaymentTxnItem], cause: str, actor: Principal, at: datetime
) -> list[repo.Write]:
    """An order withdrawn (cancelled, refused at pre-approval) gives back what it paid in advance, by
    the way it came (`money_back_writes`), in the withdrawing transaction. Nothing when nothing was paid."""
    standing = money.money(order, [money.Movement(p.payment_kind, p.status, int(p.amount_cents)) for p in payments])
    return money_back_writes(
        order, money.refund_id(order.id, cause), money.refundable_cents(standing), at, reason=f"order {cause}", actor=actor
    )


def refund_amount(writes: list[Any]) -> int:
    """The amount of the refund record among `money_back_writes`' writes."""
    return sum(int(i.amount_cents) for i in payment_items(writes) if i.payment_kind == money.PaymentKind.REFUND)


@dataclass
class RefundOutcome:
    refund_id: str
    status: str  # succeeded, failed, skipped (not pending: done before)


def _load(order_id: str, refund_id: str) -> PaymentTxnItem:
    item = repo.get(keys.order_payment(order_id, refund_id), PaymentTxnItem)
    if item is None or item.payment_kind != money.PaymentKind.REFUND:
        raise NotFound(f"refund {refund_id} of order {order_id} not found")
    return item


def _transaction_reference(item: PaymentTxnItem) -> str | None:
    """The gateway transaction being refunded, when known (the delivery's capture)."""
    if not item.supplier_id:
        return None
    capture = repo.get(keys.order_payment(item.order_id, capture_id(item.order_id, item.supplier_id)), PaymentTxnItem)
    return capture.gateway_reference if capture is not None and capture.status == money.SUCCEEDED else None


def send_refund(order_id: str, refund_id: str) -> RefundOutcome:
    """Carry out one pending refund (see the module docstring). Raises `GatewayUnavailable` while
    attempts remain, so the queue retries it."""
    item = _load(order_id, refund_id)
    if item.status != money.PENDING:
        return RefundOutcome(refund_id, "skipped")
    request = gateway.RefundRequest(
        refund_id=item.idempotency_key,
        order_id=order_id,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        reference=f"order {order_id}: {item.reason or 'refund'}"[:200],
        transaction_id=_transaction_reference(item),
    )
    try:
        result = gateway.refund(request)
    except gateway.GatewayDeclined as exc:
        reason = exc.body[:1000] or f"HTTP {exc.status}"
        return _finish(item, money.FAILED, failure=reason, data={"status": exc.status})
    except gateway.GatewayUnavailable as exc:
        attempts = int(item.attempts or 0) + 1
        if attempts >= settings().refund_max_attempts:
            return _finish(
                item,
                money.FAILED,
                failure=f"no answer from the gateway after {attempts} attempts: {exc}",
                data={"attempts": attempts},
            )
        item.attempts, item.updated_at = attempts, now()
        with contextlib.suppress(Conflict):  # another worker touched it; its own attempt counts
            repo.commit([repo.Write(item)], what=f"refund {refund_id}")
        logger.warning(
            "payment gateway unavailable; the refund stays pending",
            extra={"order_id": order_id, "refund_id": refund_id, "attempts": attempts},
        )
        raise
    return _finish(item, money.SUCCEEDED, reference=result.transaction_id, data={"transaction_id": result.transaction_id})


def _finish(
    item: PaymentTxnItem, status: str, *, reference: str | None = None, failure: str | None = None, data: dict[str, Any]
) -> RefundOutcome:
    at = now()
    order_item = repo.get(keys.order(item.order_id), OrderItem)
    item.status, item.updated_at, item.gateway_reference, item.failure = status, at, reference, failure
    amount = money.amount(int(item.amount_cents), item.currency)
    ok = status == money.SUCCEEDED
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=item.order_id,
        type=REFUND_SUCCEEDED if ok else REFUND_FAILED,
        actor=SYSTEM,
        at=at,
        customer_note=(
            f"We have refunded {amount} to your original payment method."
            if ok
            else f"Your refund of {amount} is delayed. Our accounting team is handling it and will be in touch."
        ),
        internal_note=None if ok else f"refund {item.id} failed: {(failure or '')[:200]}",
        data={
            "order_id": item.order_id,
            "refund_id": item.id,
            "amount_cents": int(item.amount_cents),
            "currency": item.currency,
            "customer_email": order_item.customer_email if order_item else None,
            "gateway_reference": reference,
            **data,
        },
    )
    writes: list[Any] = [repo.Write(item), repo.event_write(keys.order_pk(item.order_id), event)]
    if ok and order_item is not None:
        writes.append(
            repo.campaign_summary_update(order_item.campaign_id, item.order_id, metrics.refund_succeeded(int(item.amount_cents)))
        )
    try:
        repo.commit(writes, what=f"refund {item.id}")
    except Conflict:
        current = repo.get((item.PK, item.SK), PaymentTxnItem)
        if current is None or current.status == money.PENDING:
            raise
        return RefundOutcome(item.id, current.status)  # a concurrent run finished it (same key, same answer)
    observability.refund_finished(ok)
    if ok:
        exceptions.resolve("refund_failed", "order", item.order_id, note=f"refund {item.id} succeeded")
    else:
        exceptions.raise_or_bump(
            "refund_failed",
            "order",
            item.order_id,
            {
                "refund_id": item.id,
                "amount_cents": int(item.amount_cents),
                "currency": item.currency,
                "reason": (failure or "")[:500],
                "supplier_id": item.supplier_id or None,
            },
        )
    return RefundOutcome(item.id, status)
