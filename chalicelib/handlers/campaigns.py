"""Campaign consumer: follow-ups of campaign events (a cancellation cancels its orders) and of
orders leaving `on_hold` (their exception resolved; the campaign's waiting close resumed after
the last one). Other order decisions and cancellations reach it too and cost nothing."""

from __future__ import annotations

from ..domain.orders import OrderStatus
from ..events import CampaignCancelled, Event, OrderDecided
from ..services import holds, orders
from ..topology import CAMPAIGN_ORDERS as QUEUE

__all__ = ["QUEUE", "handle", "wants"]


def wants(event: Event) -> bool:
    """Whether the event can have an effect here: most order decisions are not about a held order, and
    those cost nothing, not even the idempotency record (handlers/batch.py)."""
    return isinstance(event, CampaignCancelled) or (
        isinstance(event, OrderDecided) and event.from_status == OrderStatus.ON_HOLD.value
    )


def handle(event: Event) -> int:
    if isinstance(event, CampaignCancelled):
        return orders.cancel_orders_of_campaign(event.subject_id)
    if isinstance(event, OrderDecided):
        return int(holds.decided(event))
    return 0
