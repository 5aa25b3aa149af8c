"""Inbound-webhooks consumer: each `webhook.received` event names a stored webhook to apply.

A carrier's webhook that carries its body guards itself (`guards_itself`): an event applied to a
recorded parcel writes the parcel's create-only TRACK item in the same transaction, so a repeat of
the message is a `duplicate` with no effect, and the consumer's exactly-once record (claim before,
complete after: 2 writes per message, handlers/batch.py) is taken only for the events no recorded
parcel took (`services.inbound.apply_carrier_events`). Every other webhook runs under the record."""

from __future__ import annotations

from collections.abc import Callable

from ..events import Event, WebhookReceived
from ..services import inbound
from ..topology import INBOUND_WEBHOOKS as QUEUE
from . import batch

__all__ = ["QUEUE", "guards_itself", "handle"]

CONSUMER = __name__.rsplit(".", 1)[-1]  # the record's consumer name, as batch.consumer_of names it


def guards_itself(event: Event) -> bool:
    """Whether `batch.process` leaves the exactly-once record to `handle` (see the module docstring)."""
    return isinstance(event, WebhookReceived) and event.data.provider.startswith("carrier:") and event.data.body is not None


def handle(event: Event) -> str:
    if not isinstance(event, WebhookReceived):
        return "ignored"
    once: inbound.Once | None = None
    if guards_itself(event):

        def once(work: Callable[[], list[str]]) -> list[str] | None:
            done = batch.once(CONSUMER, QUEUE, event, lambda _: work())
            return None if done is batch.SKIPPED else list(done)

    return inbound.process(event.data.provider, event.data.webhook_id, event.data.body, once=once)
