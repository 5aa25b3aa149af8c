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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .. import observability
from ..adapters import gateway
from ..config import settings
from ..domain import metrics
from ..domain import payments as money
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, NotFound
from ..domain.orders import Order, OrderStatus, PaymentMode
from ..domain.permissions import SYSTEM, Principal
from ..observability import logger
from . import deadlines, exceptions, uow
from .capture import capture_id
from .clock import new_id, now
from .ports import Change, CountCampaign, Record, Save
from .ports_money import Payment

REFUND_SUCCEEDED, REFUND_FAILED = "order.refund_succeeded", "order.refund_failed"
OFFLINE_DUE_KIND = "payment_overdue"


def offline_deadline_changes(order: Order, at: datetime) -> list[Change]:
    """An offline order waiting for its payment gets a deadline: past it, the sweep raises
    `payment_overdue` for accounting and the customer is reminded (a notification rule). A port change
    (`services.deadlines`) for the order's own commit."""
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return []
    due = at + timedelta(seconds=settings().offline_payment_due_s)
    return [
        deadlines.deadline_change(
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


def offline_deadline_clear(order_id: str) -> Change:
    """The offline payment deadline cleared (nothing is overdue any more), in the order's own commit."""
    return deadlines.clear_change("order", order_id, OFFLINE_DUE_KIND)


def _payment(
    order: Order,
    pay_id: str,
    kind: money.PaymentKind,
    amount_cents: int,
    status: str,
    at: datetime,
    *,
    reason: str,
    actor: Principal,
    supplier_id: str | None = None,
    sku: str | None = None,
) -> Payment:
    return Payment(
        id=pay_id,
        order_id=order.id,
        payment_kind=kind.value,
        supplier_id=supplier_id or "",
        sku=sku,
        amount_cents=amount_cents,
        currency=order.currency,
        status=status,
        idempotency_key=pay_id,
        reason=reason,
        actor=actor.sub,
        created_at=at,
        updated_at=at,
    )


def cash_on_delivery_changes(order: Order, supplier_id: str, at: datetime) -> list[Change]:
    """A pay-on-delivery delivery arrived: the carrier collected its amount (the record is created once,
    its id derived from order and supplier; the delivery's own version guards the step)."""
    amount = order.delivery_cents(supplier_id)
    if order.payment_mode is not PaymentMode.PAY_ON_DELIVERY or amount <= 0:
        return []
    pay_id = money.cash_id(order.id, supplier_id)
    cash = _payment(
        order,
        pay_id,
        money.PaymentKind.CASH_COLLECTED,
        amount,
        money.SUCCEEDED,
        at,
        reason="collected on delivery",
        actor=SYSTEM,
        supplier_id=supplier_id,
    )
    return [Save(cash, None), CountCampaign(order.campaign_id, order.id, metrics.money_received(amount))]


REFUND_DUE = "order.refund_due"
MANUAL_REFUND_KIND = "manual_refund_due"


def refund_due_changes(
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
) -> list[Change]:
    """A pending refund record (created once: a retried step names the same id) and the
    `order.refund_due` event the payments consumer carries out. Part of the caller's transaction."""
    refund = _payment(
        order,
        refund_id,
        money.PaymentKind.REFUND,
        amount_cents,
        money.PENDING,
        at,
        reason=reason,
        actor=actor,
        supplier_id=supplier_id,
        sku=sku,
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
    return [Save(refund, None), Record(event)]


def money_back_changes(
    order: Order,
    refund_id: str,
    amount_cents: int,
    at: datetime,
    *,
    reason: str,
    actor: Principal = SYSTEM,
    supplier_id: str | None = None,
    po_id: str | None = None,
) -> list[Change]:
    """Money going back to the customer, the one place that decides how: through the gateway (a pending
    refund the payments consumer sends), or, for money received offline, a refund `awaiting_transfer`
    that accounting makes and then records (`order_payments.record_transfer`; `flag_transfers` brings it
    to them). Either way the order's history shows it from the moment it is promised."""
    if amount_cents <= 0:
        return []
    if not money.back_by_transfer(order.payment_mode):
        return refund_due_changes(
            order, refund_id, amount_cents, at, supplier_id=supplier_id, reason=reason, po_id=po_id, actor=actor
        )
    transfer = _payment(
        order,
        refund_id,
        money.PaymentKind.REFUND,
        amount_cents,
        money.AWAITING_TRANSFER,
        at,
        reason=reason,
        actor=actor,
        supplier_id=supplier_id,
    )
    return [Save(transfer, None)]


def payments_in(changes: Sequence[Change]) -> list[Payment]:
    """The payment records a transaction's changes create or change (what the caller returns as the
    order's history)."""
    return [c.obj for c in changes if isinstance(c, Save) and isinstance(c.obj, Payment)]


def flag_transfers(order: Order, changes: Sequence[Change]) -> None:
    """After the commit: a transfer promised in `changes` is brought to accounting (`manual_refund_due`),
    resolved when the last one is recorded as made."""
    due = [p for p in payments_in(changes) if p.status == money.AWAITING_TRANSFER]
    if due:
        exceptions.raise_or_bump(
            MANUAL_REFUND_KIND,
            "order",
            order.id,
            {
                "order_id": order.id,
                "campaign_id": order.campaign_id,
                "currency": order.currency,
                "amount_cents": sum(p.amount_cents for p in due),
                "refund_ids": [p.id for p in due],
                "reason": due[0].reason,
            },
        )


REFUND_ON_WITHDRAWAL = "We are refunding the {amount} you paid to your original payment method."
TRANSFER_ON_WITHDRAWAL = "We will pay the {amount} you paid back to you by bank transfer."


def received_at_checkout(order: Order) -> dict[str, int]:
    """What checkout adds to the campaign's money received (in the order's own summary update: a
    transaction may touch the summary shard once)."""
    return metrics.money_received(order.total_cents) if money.at_checkout(order.payment_mode) is money.PaymentKind.PAYMENT else {}


def checkout_changes(order: Order, actor: Principal, at: datetime) -> list[Change]:
    """What checkout did with the customer's money, recorded in the placing transaction: a prepaid
    order's payment, an authorise-then-capture order's hold on the card (it moves nothing)."""
    kind = money.at_checkout(order.payment_mode)
    if kind is None:
        return []
    reason = "paid at checkout" if kind is money.PaymentKind.PAYMENT else "authorised at checkout"
    paid = _payment(
        order, money.checkout_payment_id(order.id), kind, order.total_cents, money.SUCCEEDED, at, reason=reason, actor=actor
    )
    return [Save(paid, None)]


def refund_everything_changes(
    order: Order, payments: Sequence[Payment], cause: str, actor: Principal, at: datetime
) -> list[Change]:
    """An order withdrawn (cancelled, refused at pre-approval) gives back what it paid in advance, by
    the way it came (`money_back_changes`), in the withdrawing transaction. Nothing when nothing was paid."""
    standing = money.money(order, [money.Movement(p.payment_kind, p.status, p.amount_cents) for p in payments])
    return money_back_changes(
        order, money.refund_id(order.id, cause), money.refundable_cents(standing), at, reason=f"order {cause}", actor=actor
    )


def refund_amount(changes: Sequence[Change]) -> int:
    """The amount of the refund record among `money_back_changes`' changes."""
    return sum(p.amount_cents for p in payments_in(changes) if p.payment_kind == money.PaymentKind.REFUND)


@dataclass
class RefundOutcome:
    refund_id: str
    status: str  # succeeded, failed, skipped (not pending: done before)


def _load(order_id: str, refund_id: str) -> tuple[Payment, int]:
    found = uow.store().load(Payment, order_id, refund_id)
    if found is None or found.value.payment_kind != money.PaymentKind.REFUND:
        raise NotFound(f"refund {refund_id} of order {order_id} not found")
    return found.value, found.version


def _transaction_reference(refund: Payment) -> str | None:
    """The gateway transaction being refunded, when known (the delivery's capture)."""
    if not refund.supplier_id:
        return None
    found = uow.store().load(Payment, refund.order_id, capture_id(refund.order_id, refund.supplier_id))
    return found.value.gateway_reference if found is not None and found.value.status == money.SUCCEEDED else None


def send_refund(order_id: str, refund_id: str) -> RefundOutcome:
    """Carry out one pending refund (see the module docstring). Raises `GatewayUnavailable` while
    attempts remain, so the queue retries it."""
    refund, version = _load(order_id, refund_id)
    if refund.status != money.PENDING:
        return RefundOutcome(refund_id, "skipped")
    request = gateway.RefundRequest(
        refund_id=refund.idempotency_key,
        order_id=order_id,
        amount_cents=refund.amount_cents,
        currency=refund.currency,
        reference=f"order {order_id}: {refund.reason or 'refund'}"[:200],
        transaction_id=_transaction_reference(refund),
    )
    try:
        result = gateway.refund(request)
    except gateway.GatewayDeclined as exc:
        reason = exc.body[:1000] or f"HTTP {exc.status}"
        return _finish(refund, version, money.FAILED, failure=reason, data={"status": exc.status})
    except gateway.GatewayUnavailable as exc:
        attempts = refund.attempts + 1
        if attempts >= settings().refund_max_attempts:
            return _finish(
                refund,
                version,
                money.FAILED,
                failure=f"no answer from the gateway after {attempts} attempts: {exc}",
                data={"attempts": attempts},
            )
        at = now()
        with contextlib.suppress(Conflict):  # another worker touched it; its own attempt counts
            uow.store().commit(
                [Save(replace(refund, attempts=attempts, updated_at=at), version)], what=f"refund {refund_id}", at=at
            )
        logger.warning(
            "payment gateway unavailable; the refund stays pending",
            extra={"order_id": order_id, "refund_id": refund_id, "attempts": attempts},
        )
        raise
    return _finish(
        refund, version, money.SUCCEEDED, reference=result.transaction_id, data={"transaction_id": result.transaction_id}
    )


def _finish(
    refund: Payment,
    version: int,
    status: str,
    *,
    reference: str | None = None,
    failure: str | None = None,
    data: dict[str, Any],
) -> RefundOutcome:
    at = now()
    store = uow.store()
    found = store.load(Order, refund.order_id)
    order = found.value if found is not None else None
    done = replace(refund, status=status, updated_at=at, gateway_reference=reference, failure=failure)
    amount = money.amount(done.amount_cents, done.currency)
    ok = status == money.SUCCEEDED
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=done.order_id,
        type=REFUND_SUCCEEDED if ok else REFUND_FAILED,
        actor=SYSTEM,
        at=at,
        customer_note=(
            f"We have refunded {amount} to your original payment method."
            if ok
            else f"Your refund of {amount} is delayed. Our accounting team is handling it and will be in touch."
        ),
        internal_note=None if ok else f"refund {done.id} failed: {(failure or '')[:200]}",
        data={
            "order_id": done.order_id,
            "refund_id": done.id,
            "amount_cents": done.amount_cents,
            "currency": done.currency,
            "customer_email": order.customer_email if order else None,
            "gateway_reference": reference,
            **data,
        },
    )
    changes: list[Change] = [Save(done, version), Record(event)]
    if ok and order is not None:
        changes.append(CountCampaign(order.campaign_id, done.order_id, metrics.refund_succeeded(done.amount_cents)))
    try:
        store.commit(changes, what=f"refund {done.id}", at=at)
    except Conflict:
        current = store.load(Payment, done.order_id, done.id)
        if current is None or current.value.status == money.PENDING:
            raise
        return RefundOutcome(done.id, current.value.status)  # a concurrent run finished it (same key, same answer)
    observability.refund_finished(ok)
    if ok:
        exceptions.resolve("refund_failed", "order", done.order_id, note=f"refund {done.id} succeeded")
    else:
        exceptions.raise_or_bump(
            "refund_failed",
            "order",
            done.order_id,
            {
                "refund_id": done.id,
                "amount_cents": done.amount_cents,
                "currency": done.currency,
                "reason": (failure or "")[:500],
                "supplier_id": done.supplier_id or None,
            },
        )
    return RefundOutcome(done.id, status)
