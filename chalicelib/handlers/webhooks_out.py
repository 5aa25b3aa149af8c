"""Webhooks-out consumer: each offered domain event from the queue becomes one signed delivery per
subscription that chose its type (services/webhooks.py). Deliveries are deduplicated by (event,
subscription), so a redelivered message creates nothing new; later attempts belong to the sweep."""

from __future__ import annotations

from ..events import DomainEvent, Event
from ..services import webhooks
from ..topology import WEBHOOKS_OUT as QUEUE

__all__ = ["QUEUE", "handle", "wants"]


def handle(event: Event) -> int:
    if not isinstance(event, DomainEvent):
        return 0  # a state machine's event has no id to deliver under
    return webhooks.deliver_event(event)


def wants(event: Event) -> bool:
    return isinstance(event, DomainEvent)  # a state machine's event has no id to deliver under
