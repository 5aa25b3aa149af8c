"""Campaign consumer: follow-ups of campaign events (a cancellation cancels its orders)."""

from __future__ import annotations

from typing import Any

from ..services import orders


def handle(event: dict[str, Any]) -> int:
    if event.get("type") == "campaign.cancelled":
        return orders.cancel_orders_of_campaign(str(event["subject_id"]))
    return 0
