"""Campaign consumer: follow-ups of campaign events (a cancellation cancels its orders) and of
orders leaving `on_hold` (their exception resolved; the campaign's waiting close resumed after
the last one). Other order decisions and cancellations reach it too and cost nothing."""

from __future__ import annotations

from typing import Any

from ..services import holds, orders


def handle(event: dict[str, Any]) -> int:
    if event.get("type") == "campaign.cancelled":
        return orders.cancel_orders_of_campaign(str(event["subject_id"]))
    if event.get("type") in holds.DECISIONS:
        return int(holds.decided(event))
    return 0
