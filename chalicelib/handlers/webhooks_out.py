"""Webhooks-out consumer: each offered domain event from the queue becomes one signed delivery per
subscription that chose its type (services/webhooks.py). Deliveries are deduplicated by (event,
subscription), so a redelivered message creates nothing new; later attempts belong to the sweep."""

from __future__ import annotations

from typing import Any

from ..services import webhooks


def handle(event: dict[str, Any]) -> int:
    return webhooks.deliver_event(event)
