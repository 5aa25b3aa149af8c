"""Orders held for pre-approval: the staff decision they wait for, its deadline before the
campaign closes, and what the close does with an order still held. Pure rules, no I/O.

A held order (`orders.hold_reasons`: above the threshold, or a flagged customer) raises the
`order_on_hold` exception for customer care when it is placed. Care should decide it
`WAYBILL_HOLD_DECIDE_BEFORE_CLOSE_S` before the campaign ends (never earlier than the moment it is
placed): that is the exception's decision deadline, at which the campaign's buyer is warned.
At the close an order still held follows `WAYBILL_HELD_AT_CLOSE`:
- `reject` (default): refused, its customer told why and what happens to the money (not charged,
  or refunded when paid in advance);
- `wait`: no purchase order goes out while any order of the campaign is held; the close resumes
  once staff have decided the last one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .exceptions import DEADLINE_DETAIL
from .orders import PaymentMode
from .payments import PaymentKind, at_checkout

HOLD_KIND = "order_on_hold"  # one per held order (subject: the order)
CLOSE_WAITING_KIND = "campaign_close_waiting"  # one per campaign whose close waits (subject: the campaign)
HELD_AT_CLOSE_SETTING = "WAYBILL_HELD_AT_CLOSE"


class HeldAtClose(StrEnum):
    REJECT = "reject"
    WAIT = "wait"


def held_at_close(value: str) -> HeldAtClose:
    """The setting's text as a choice, refusing anything else."""
    try:
        return HeldAtClose(value.strip().lower())
    except ValueError:
        choices = " or ".join(repr(c.value) for c in HeldAtClose)
        raise ValueError(f"{HELD_AT_CLOSE_SETTING} must be {choices}, not {value!r}") from None


def decide_by(ends_at: datetime, lead_s: int, now: datetime) -> datetime:
    """When staff should have decided a held order: `lead_s` before its campaign ends, but never
    before it was placed (an order placed inside that window is due at once)."""
    return max(now, ends_at - timedelta(seconds=lead_s))


HOLD_REASON_TEXT: dict[str, str] = {
    "total_above_threshold": "its total is above the pre-approval threshold",
    "customer_flagged": "the customer is flagged",
}


def reasons_text(reasons: list[str]) -> str:
    return "; ".join(HOLD_REASON_TEXT.get(r, r.replace("_", " ")) for r in reasons) or "held for review"


# What the customer reads when the close refuses their order, and what staff read on the order's
# trail: the automatic rejection names the setting that made it.
REJECTED_AT_CLOSE_CUSTOMER_NOTE = "The campaign closed before we could approve your order, so we could not accept it."
NOT_CHARGED = "You have not been charged."


def rejected_at_close_customer_note(mode: PaymentMode) -> str:
    """Why, and what happens to the money: an order paid in advance is refunded (the order service adds
    the amount to the note), any other was not charged (an authorisation is never captured)."""
    if at_checkout(mode) is PaymentKind.PAYMENT:
        return REJECTED_AT_CLOSE_CUSTOMER_NOTE
    return f"{REJECTED_AT_CLOSE_CUSTOMER_NOTE} {NOT_CHARGED}"


REJECTED_AT_CLOSE_NOTE = (
    f"Rejected automatically when the campaign closed: still waiting for pre-approval, and "
    f"{HELD_AT_CLOSE_SETTING}={HeldAtClose.REJECT.value} refuses an order still held at the close."
)


def close_waiting_note(held: int) -> str:
    return (
        f"{held} order(s) still wait for pre-approval and {HELD_AT_CLOSE_SETTING}={HeldAtClose.WAIT.value}: "
        "no purchase order goes out until staff approve or reject each of them; the close then resumes by itself."
    )


def exception_details(
    *,
    order_id: str,
    campaign_id: str,
    customer_id: str,
    total_cents: int,
    currency: str,
    reasons: list[str],
    campaign_ends_at: datetime | None,
    deadline: datetime | None,
) -> dict[str, Any]:
    """What the `order_on_hold` exception says (staff queue, e-mails): plain values only."""
    details: dict[str, Any] = {
        "order_id": order_id,
        "campaign_id": campaign_id,
        "customer_id": customer_id,
        "total_cents": total_cents,
        "currency": currency,
        "hold_reasons": list(reasons),
    }
    if campaign_ends_at is not None:
        details["campaign_ends_at"] = campaign_ends_at.isoformat()
    if deadline is not None:
        details[DEADLINE_DETAIL] = deadline.isoformat()
    return details
