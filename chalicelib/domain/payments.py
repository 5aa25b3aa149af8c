"""Customer money: the kinds of payment record, what each payment mode does when a supplier
refuses lines, and the one sum of what an order was paid, refunded and still owes.

Every money movement of an order is a payment record (`ORDER#<id>` / `PAYMENT#<id>`). A record
counts once it `succeeded`; a `pending` one is on its way, a `failed` one moved nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .orders import Order, PaymentMode


class PaymentKind(StrEnum):
    PAYMENT = "payment"  # paid in advance at checkout (prepaid)
    AUTHORISATION = "authorisation"  # held at checkout, nothing taken (authorise-then-capture)
    CAPTURE = "capture"  # taken when a delivery ships (authorise-then-capture)
    REFUND = "refund"  # paid back through the gateway
    OFFLINE_RECEIVED = "offline_received"  # a bank transfer or cash the shop received
    CASH_COLLECTED = "cash_collected"  # collected by the carrier on delivery
    ADJUSTMENT = "adjustment"  # a manual correction by accounting (signed)


PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
AWAITING_TRANSFER = "awaiting_transfer"  # a refund of money received offline: accounting makes the transfer
ON_ITS_WAY = frozenset({PENDING, AWAITING_TRANSFER})
MONEY_IN = frozenset({PaymentKind.PAYMENT, PaymentKind.CAPTURE, PaymentKind.OFFLINE_RECEIVED, PaymentKind.CASH_COLLECTED})


@dataclass(frozen=True)
class Movement:
    """What the sum needs of a payment record."""

    kind: str
    status: str
    amount_cents: int


@dataclass(frozen=True)
class Money:
    """An order's money in one place: the staff view and the customer's view show these same figures."""

    ordered_cents: int  # what was ordered (never changes)
    payable_cents: int  # what the deliveries that still stand cost
    paid_cents: int  # taken or received (succeeded payments, captures, transfers, cash, adjustments)
    refunded_cents: int  # paid back (succeeded refunds)
    refund_pending_cents: int  # refunds on their way

    @property
    def net_paid_cents(self) -> int:
        return self.paid_cents - self.refunded_cents

    @property
    def balance_cents(self) -> int:
        """What the customer still owes (positive) or is still owed back (negative)."""
        return self.payable_cents - self.net_paid_cents


def money(order: Order, movements: Iterable[Movement]) -> Money:
    paid = refunded = pending = 0
    for m in movements:
        if m.kind == PaymentKind.REFUND:
            if m.status == SUCCEEDED:
                refunded += m.amount_cents
            elif m.status in ON_ITS_WAY:
                pending += m.amount_cents
        elif m.status == SUCCEEDED and (m.kind in MONEY_IN or m.kind == PaymentKind.ADJUSTMENT):
            paid += m.amount_cents
    return Money(
        ordered_cents=order.total_cents,
        payable_cents=order.payable_cents,
        paid_cents=paid,
        refunded_cents=refunded,
        refund_pending_cents=pending,
    )


def refund_id(order_id: str, cause: str) -> str:
    """The one refund of an order for one cause: the same on every run, so a retried step names the
    same record (whose conditional create then fails)."""
    digest = hashlib.sha256(f"{cause}\x00{order_id}".encode()).hexdigest()[:24]
    return f"rfd_{digest}"


def lines_refund_id(order_id: str, po_id: str) -> str:
    """The one refund of the lines a PO's supplier refused on an order."""
    return refund_id(order_id, f"lines\x00{po_id}")


def checkout_payment_id(order_id: str) -> str:
    return f"pay_{hashlib.sha256(f'checkout{chr(0)}{order_id}'.encode()).hexdigest()[:24]}"


def cash_id(order_id: str, supplier_id: str) -> str:
    """The one cash collection of a pay-on-delivery delivery."""
    return f"pay_{hashlib.sha256(f'cash{chr(0)}{order_id}{chr(0)}{supplier_id}'.encode()).hexdigest()[:24]}"


def at_checkout(mode: PaymentMode) -> PaymentKind | None:
    """What checkout records: the payment of a prepaid order, the hold on an authorise-then-capture card."""
    return {PaymentMode.PREPAID: PaymentKind.PAYMENT, PaymentMode.AUTHORISE_THEN_CAPTURE: PaymentKind.AUTHORISATION}.get(mode)


def refundable_cents(m: Money) -> int:
    """What can still go back through the gateway: paid, less what was or is being refunded."""
    return max(0, m.net_paid_cents - m.refund_pending_cents)


def refunds_through_gateway(mode: PaymentMode) -> bool:
    """Only money taken in advance goes back through the gateway when a supplier refuses lines:
    authorise-then-capture never captures them, offline and pay-on-delivery owe less."""
    return mode is PaymentMode.PREPAID


def owed_back(order: Order, lost_cents: int) -> int:
    """What goes back to the customer for lines that will not be supplied before anything shipped: what
    was paid in advance for them (prepaid; offline once its payment was recorded). Authorise-then-capture
    never captured them and pay on delivery never collected them: nothing."""
    if order.payment_mode is PaymentMode.PREPAID or (order.payment_mode is PaymentMode.OFFLINE and order.offline_paid):
        return lost_cents
    return 0


def back_by_transfer(mode: PaymentMode) -> bool:
    """Money received offline goes back the way it came: a bank transfer accounting makes."""
    return mode is PaymentMode.OFFLINE


def amount(cents: int, currency: str) -> str:
    return f"{cents / 100:.2f} {currency}"


def refused_money_text(mode: PaymentMode, lost_cents: int, payable_cents: int, currency: str, paid_offline: bool = False) -> str:
    """What happens to the customer's money for lines a supplier refused, in their payment mode."""
    lost = amount(lost_cents, currency)
    if mode is PaymentMode.OFFLINE and paid_offline:
        return f"We will pay {lost} back to you by bank transfer."
    if mode is PaymentMode.PREPAID:
        return f"We are refunding {lost} to your original payment method."
    if mode is PaymentMode.AUTHORISE_THEN_CAPTURE:
        if payable_cents == 0:
            return f"You will not be charged: the {lost} we reserved on your card is released."
        return (
            f"You will not be charged {lost} for these items: we only charge what ships "
            f"({amount(payable_cents, currency)} in all)."
        )
    if payable_cents == 0:
        return "You owe nothing for this order."
    due = amount(payable_cents, currency)
    if mode is PaymentMode.PAY_ON_DELIVERY:
        return f"You will pay {lost} less: {due} in all, on delivery."
    return f"The amount to pay is reduced by {lost}: {due} in all."
