"""Payments consumer: a refund to a customer fell due (`order.refund_due`) and is sent to the
payment gateway once (services/customer_payments.py); a redelivered event finds it done."""

from __future__ import annotations

from ..events import Event, OrderRefundDue
from ..services import customer_payments
from ..topology import PAYMENTS as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> str:
    if not isinstance(event, OrderRefundDue) or not event.data.refund_id:
        return "ignored"
    return customer_payments.send_refund(event.data.order_id or event.subject_id, event.data.refund_id).status
