"""Held orders come to staff (the rules are in domain/holds.py).

- Placing a held order raises its `order_on_hold` exception in the placing transaction
  (`raise_changes`): customer care hears at once, and the record's decision deadline drives the
  escalation sweep, which warns the campaign's buyer when it passes.
- Staff deciding the order (approve, reject) or a cancellation resolves it: the campaign-orders
  consumer gets each `order.approved` / `order.rejected` / `order.cancelled` event that left
  `on_hold` (`decided`), so placing and changing an order stay one transaction each.
- When the campaign's close waits for held orders (`WAYBILL_HELD_AT_CLOSE=wait`) and the decided
  order was the last one, the waiting exception is resolved together with a `campaign.close_resumed`
  event on the campaign, which the purchase-orders consumer answers by closing it (`resume_if_last`).
- The close reads a campaign's held orders from the orders-by-status index (`held_orders`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..config import settings
from ..domain import exceptions as exception_rules
from ..domain import holds as rules
from ..domain.audit import AuditEvent
from ..domain.campaigns import Campaign, CampaignStatus
from ..domain.holds import CLOSE_WAITING_KIND, HOLD_KIND
from ..domain.orders import Order, OrderStatus
from ..domain.permissions import SYSTEM
from ..events import OrderDecided
from . import exceptions, uow
from .clock import new_id, now
from .ports import Change, Record

PAGE = 100
# Order events that take an order out of `on_hold` (the bus carries each with its from_status).
DECISIONS = ("order.approved", "order.rejected", "order.cancelled")


def details(order: Order, ends_at: datetime | None, at: datetime, *, with_deadline: bool = True) -> dict[str, Any]:
    """The exception's details, with its decision deadline (none for a campaign without an end). A
    repeat leaves the deadline out: the one set when the order was placed stands."""
    deadline = rules.decide_by(ends_at, settings().hold_decide_before_close_s, at) if ends_at and with_deadline else None
    return rules.exception_details(
        order_id=order.id,
        campaign_id=order.campaign_id,
        customer_id=order.customer_id,
        total_cents=order.total_cents,
        currency=order.currency,
        reasons=order.hold_reasons,
        campaign_ends_at=ends_at,
        deadline=deadline,
    )


def raise_changes(order: Order, campaign: Campaign, at: datetime) -> list[Change]:
    """The held order's exception, to commit with the order itself (no read: the order is new)."""
    return exceptions.opening_changes(HOLD_KIND, "order", order.id, details(order, campaign.ends_at, at), at)


def decided(event: OrderDecided) -> bool:
    """A held order left `on_hold` (approved, rejected, cancelled): resolve its exception, saying who
    decided what, then resume its campaign's close if it waited for this order last. False when the
    event is not such a decision (no read at all) or nothing was left to resolve."""
    if event.type not in DECISIONS or event.from_status != OrderStatus.ON_HOLD.value:
        return False
    order_id = event.data.order_id or event.subject_id
    what = event.type.split(".", 1)[1]
    note = f"the order was {what} by {event.actor.sub} ({event.actor.role})"
    if event.customer_note:
        note += f"; the customer was told: {event.customer_note}"
    resolved = exceptions.resolve(HOLD_KIND, "order", order_id, note=note)
    if event.data.campaign_id:
        resume_if_last(event.data.campaign_id, order_id)
    return resolved


def resume_if_last(campaign_id: str, order_id: str) -> bool:
    """If the campaign's close waits and no order of it is held any more, resolve the waiting exception
    with a `campaign.close_resumed` event in the same transaction: two last decisions racing resume it
    once (the resolution is version-conditioned). One GetItem when the close is not waiting."""
    if not close_waiting(campaign_id):
        return False
    if held_orders(campaign_id):
        return False  # others still wait for a decision: so does the close
    at = now()
    resumed = AuditEvent(
        id=new_id("evt"),
        subject_type="campaign",
        subject_id=campaign_id,
        type="campaign.close_resumed",
        actor=SYSTEM,
        at=at,
        from_status=CampaignStatus.ENDED.value,
        to_status=CampaignStatus.ENDED.value,
        internal_note=f"every held order is decided (the last: {order_id}); the close resumes",
        data={"campaign_id": campaign_id, "last_decided_order_id": order_id},
    )
    return exceptions.resolve(
        CLOSE_WAITING_KIND,
        "campaign",
        campaign_id,
        note=f"every held order is decided (the last: {order_id}); the close resumed",
        with_changes=[Record(resumed)],
    )


def resolve(order_id: str, note: str) -> bool:
    return exceptions.resolve(HOLD_KIND, "order", order_id, note=note)


def held_orders(campaign_id: str) -> list[Order]:
    """The campaign's orders still on hold, oldest first (`ports.Store.orders_on_hold`: on DynamoDB the
    orders-by-status index's `on_hold` partition, few by nature, filtered to the campaign: one Query
    per page)."""
    found: list[Order] = []
    cursor: str | None = None
    while True:
        page = uow.store().orders_on_hold(campaign_id, limit=PAGE, cursor=cursor)
        found += page.items
        if page.cursor is None:
            return found
        cursor = page.cursor


def close_waiting(campaign_id: str) -> bool:
    """Whether the campaign's close waits for held orders (its exception is live): one GetItem."""
    record = exceptions.get(exceptions.exception_id(CLOSE_WAITING_KIND, "campaign", campaign_id))
    return record is not None and record.status in exception_rules.LIVE
