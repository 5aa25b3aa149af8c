"""Audit events: every change records who, when, from -> to, and the notes that go with it.

An audit event is also the domain event the publisher puts on the bus, so its type is the
bus's detail-type (`order.placed`, `campaign.went_live`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .notifications import RULES, Recipient
from .permissions import Principal
from .shipments import CUSTOMER_TEXT as PARCEL_STATUS_TEXT

# Past-tense event names per action, so the bus speaks of facts.
EVENT_NAMES: dict[str, str] = {
    "place": "placed",
    "approve": "approved",
    "reject": "rejected",
    "cancel": "cancelled",
    "add_note": "note_added",
    "create": "created",
    "go_live": "went_live",
    "end": "ended",
    "close": "closed",
    "add_products": "products_added",
    "flag": "flagged",
    "unflag": "unflagged",
    "update": "updated",
}

# Customer-facing wording for order status changes; internal detail never leaks.
CUSTOMER_STATUS_TEXT: dict[str, str] = {
    "on_hold": "Your order is being reviewed before it is confirmed.",
    "awaiting_payment": "Your order is waiting for your payment. It goes to the suppliers once we have received it.",
    "placed": "Your order is confirmed. It goes to the suppliers when the campaign ends.",
    "rejected": "We could not accept your order.",
    "cancelled": "Your order was cancelled.",
    "ordered": "Your order has been passed to the suppliers.",
    "partially_dispatched": "Part of your order is on its way.",
    "dispatched": "Your order is on its way.",
    "partially_delivered": "Part of your order has been delivered.",
    "delivered": "Your order has been delivered.",
    "completed": "Your order is complete.",
    "partially_returned": "Part of your order has been returned.",
    "returned": "Your order has been returned.",
    "not_supplied": "We are sorry: none of your order could be supplied.",
}


# What an event without a status change is about, for the customer's timeline: the headline of the
# customer's e-mail for that event type (one wording for both), else a general one.
CUSTOMER_EVENT_TEXT: dict[str, str] = {
    r.event_type: f"{r.headline}." for r in reversed(RULES) if r.recipient is Recipient.CUSTOMER
}
CUSTOMER_EVENT_FALLBACK = "News about your order."


# Event data kept for staff on the audit trail that never goes on the bus (the stream publisher drops it):
# a shipping address is personal data that no consumer, subscriber or mail needs from the event.
STAFF_ONLY_DATA = frozenset({"previous_address", "shipping_address"})


def words(code: str) -> str:
    """A code as a reader writes it (`payment_proposal` -> `payment proposal`): what mail shows for
    a stage, a team or any status without wording of its own, never the raw code."""
    return code.replace("_", " ")


def status_text(status: str) -> str:
    """A status as the customer reads it (the e-mails' "Order ...: <status text>"): an order status's
    sentence, a parcel status's wording (events about a parcel name it), else the status in words."""
    return CUSTOMER_STATUS_TEXT.get(status) or PARCEL_STATUS_TEXT.get(status) or words(status)


def event_type(subject_type: str, action: str) -> str:
    return f"{subject_type}.{EVENT_NAMES.get(action, action)}"


@dataclass
class AuditEvent:
    """One change to one subject (an order, a campaign, a supplier, a customer)."""

    id: str
    subject_type: str
    subject_id: str
    type: str
    actor: Principal
    at: datetime
    from_status: str | None = None
    to_status: str | None = None
    internal_note: str | None = None
    customer_note: str | None = None
    files: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def customer_view(self) -> dict[str, Any] | None:
        """What the customer sees of this event, or None when it is internal only. An entry always
        has a message: the new status in words, else what the event is about."""
        changed = bool(self.to_status) and self.to_status != self.from_status
        message = CUSTOMER_STATUS_TEXT.get(self.to_status or "") if changed else None
        if message is None and not self.customer_note:
            return None
        if message is None:
            message = CUSTOMER_EVENT_TEXT.get(self.type, CUSTOMER_EVENT_FALLBACK)
        return {"at": self.at, "status": self.to_status if changed else None, "message": message, "note": self.customer_note}
