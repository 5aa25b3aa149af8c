"""Inbound-webhooks consumer: each `webhook.received` event names a stored webhook to apply."""

from __future__ import annotations

from ..events import Event, WebhookReceived
from ..services import inbound
from ..topology import INBOUND_WEBHOOKS as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> str:
    if not isinstance(event, WebhookReceived):
        return "ignored"
    return inbound.process(event.data.provider, event.data.webhook_id, event.data.body)
