"""Notification rules as data: which event tells whom what, with which template.

Each rule must prompt the recipient to act or inform them of a change to their own
order; anything else is noise."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Recipient(StrEnum):
    CUSTOMER = "customer"


class Category(StrEnum):
    TRANSACTIONAL = "transactional"
    ALERT = "alert"
    DIGEST = "digest"


@dataclass(frozen=True)
class NotificationRule:
    event_type: str
    recipient: Recipient
    template: str
    category: Category
    headline: str
    needs_customer_note: bool = False


RULES: tuple[NotificationRule, ...] = (
    NotificationRule("order.placed", Recipient.CUSTOMER, "order_update", Category.TRANSACTIONAL,
                     "We have received your order"),
    NotificationRule("order.approved", Recipient.CUSTOMER, "order_update", Category.TRANSACTIONAL,
                     "Your order is confirmed"),
    NotificationRule("order.rejected", Recipient.CUSTOMER, "order_update", Category.TRANSACTIONAL,
                     "We could not accept your order"),
    NotificationRule("order.cancelled", Recipient.CUSTOMER, "order_update", Category.TRANSACTIONAL,
                     "Your order was cancelled"),
    NotificationRule("order.note_added", Recipient.CUSTOMER, "order_update", Category.TRANSACTIONAL,
                     "News about your order", needs_customer_note=True),
    # Parcels: each carries the carrier, the tracking number and the carrier's tracking link.
    NotificationRule("order.shipped", Recipient.CUSTOMER, "order_shipment", Category.TRANSACTIONAL,
                     "Your order is on its way"),
    NotificationRule("order.out_for_delivery", Recipient.CUSTOMER, "order_shipment", Category.TRANSACTIONAL,
                     "Your parcel is out for delivery"),
    NotificationRule("order.delivered", Recipient.CUSTOMER, "order_shipment", Category.TRANSACTIONAL,
                     "Your parcel has been delivered"),
    NotificationRule("order.delayed", Recipient.CUSTOMER, "order_shipment", Category.TRANSACTIONAL,
                     "Your parcel is delayed"),
    NotificationRule("order.tracking_corrected", Recipient.CUSTOMER, "order_shipment", Category.TRANSACTIONAL,
                     "New tracking number for your parcel"),
)


def rules_for(event: dict[str, Any]) -> list[NotificationRule]:
    """The rules that fire for a domain event (as published on the bus)."""
    return [r for r in RULES if r.event_type == event.get("type")
            and (not r.needs_customer_note or event.get("customer_note"))]
