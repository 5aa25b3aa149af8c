"""Notifications consumer: domain events from the queue -> e-mails, through the one sender.

`services/notify.py` applies the rules, the preferences and the outbox (each (event, address)
sent once). When some address could not be sent it raises, the message is reported as failed and
the queue redelivers it (after max_receive_count it is parked in the dead-letter queue)."""

from __future__ import annotations

from ..events import DomainEvent, Event
from ..services import notify
from ..topology import NOTIFICATIONS as QUEUE

__all__ = ["CONSUMER", "QUEUE", "handle", "wants"]

CONSUMER = "notifications"


def handle(event: Event) -> int:
    """Deliver what the rules say for one domain event; returns the number of e-mails sent now."""
    if not isinstance(event, DomainEvent):
        return 0  # the state machines' events have no mail rules
    return notify.handle(event).sent


def wants(event: Event) -> bool:
    return isinstance(event, DomainEvent)  # the state machines' events have no mail rules
