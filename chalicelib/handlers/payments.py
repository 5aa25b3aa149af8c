"""Payments consumer: a refund to a customer fell due (`order.refund_due`) and is sent to the
payment gateway once (services/customer_payments.py); a redelivered event finds it done."""

from __future__ import annotations

from typing import Any

from ..services import customer_payments


def handle(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    if event.get("type") != "order.refund_due" or not data.get("refund_id"):
        return "ignored"
    order_id = str(data.get("order_id") or event.get("subject_id"))
    return customer_payments.send_refund(order_id, str(data["refund_id"])).status
