"""Notifications consumer: domain events from the queue -> e-mails, through the one sender.

`services/notify.py` applies the rules, the preferences and the outbox (each (event, address)
sent once). When some address could not be sent it raises, the message is reported as failed and
the queue redelivers it (after max_receive_count it is parked in the dead-letter queue)."""

from __future__ import annotations

from typing import Any

from ..services import notify

CONSUMER = "notifications"


def handle(event: dict[str, Any]) -> int:
    """Deliver what the rules say for one domain event; returns the number of e-mails sent now."""
    return notify.handle(event).sent
