"""Stream publisher: each audit event written to the table becomes a domain event on the bus,
and so does each newly stored inbound webhook (`webhook.received`).

The audit event is written in the same transaction as the change (and the inbox item is its
own write), so nothing is lost between the write and the bus; a failed PutEvents raises and the
stream retries the batch (consumers deduplicate by event id).

Each payload is checked against its type's model (chalicelib/events.py) before it goes out; a type
missing from the catalogue is still published (the stream must not stall on it) and logged."""

from __future__ import annotations

import hashlib
from typing import Any

from ..adapters import bus
from ..adapters.dynamodb.models import AuditEventItem, InboxItem, Item
from ..domain.audit import STAFF_ONLY_DATA
from ..domain.webhooks import OFFERED_EVENT_TYPES
from ..events import DomainEvent, model_for
from ..functions import PUBLISHED_KINDS
from ..observability import logger
from ..topology import SUBSCRIBED, WEBHOOK_MARK

INLINE_BODY_BYTES = 64 * 1024  # EventBridge takes 256 KB per entry; bigger bodies are read back from the inbox


def checked(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload, once its type's model accepts it (a ValidationError fails the batch: a bug to fix)."""
    model = model_for(str(payload["type"]))
    if model is None:
        logger.warning("event type not in the catalogue", extra={"type": payload["type"]})
        model = DomainEvent
    model.model_validate(payload)
    return payload


def domain_event(item: AuditEventItem) -> dict[str, Any]:
    """The bus payload: facts and references, never internal notes nor staff-only data (addresses)."""
    return checked(
        {
            "id": item.id,
            "type": item.type,
            "subject_type": item.subject_type,
            "subject_id": item.subject_id,
            "at": item.at.isoformat(),
            "actor": {"sub": item.actor.sub, "role": item.actor.role},
            "from_status": item.from_status,
            "to_status": item.to_status,
            "customer_note": item.customer_note,
            "has_internal_note": bool(item.internal_note),
            "data": {k: v for k, v in (item.data.as_dict() if item.data else {}).items() if k not in STAFF_ONLY_DATA},  # type: ignore[no-untyped-call]
        }
    )


def received_event(item: InboxItem) -> dict[str, Any]:
    """A newly stored inbound webhook, for the inbound-webhooks consumer (with its body when small)."""
    data: dict[str, Any] = {"provider": item.provider, "webhook_id": item.webhook_id, "event_type": item.event_type}
    if len(item.body.encode()) <= INLINE_BODY_BYTES:
        data["body"] = item.body
    subject = f"{item.provider}/{item.webhook_id}"
    return checked(
        {
            "id": f"whk_{hashlib.sha256(subject.encode()).hexdigest()[:26]}",
            "type": "webhook.received",
            "subject_type": "webhook",
            "subject_id": subject,
            "at": item.received_at.isoformat(),
            "actor": {"sub": "system", "role": "admin"},
            "from_status": None,
            "to_status": "received",
            "customer_note": None,
            "has_internal_note": False,
            "data": data,
        }
    )


def offered(event: dict[str, Any]) -> dict[str, Any]:
    """Mark an event some active webhook subscription chose, so the bus queues it to the webhooks-out
    consumer (topology.WEBHOOK_MARK); the subscribed types are cached for a short time (SUBSCRIBED_TTL_S)."""
    if event["type"] not in OFFERED_EVENT_TYPES:
        return event  # most events: no read, no import of the outbound service
    from ..services import webhooks

    return {**event, WEBHOOK_MARK: SUBSCRIBED} if webhooks.wanted(str(event["type"])) else event


def events_from_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bus events of a batch. Lambda's filter (functions.PUBLISHED_RECORDS) already keeps every
    other record away; they are still skipped here, so a batch handed over whole is published the same."""
    events = []
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage")
        if record.get("eventName") != "INSERT" or not image or image.get("kind", {}).get("S") not in PUBLISHED_KINDS:
            continue
        item = Item.from_raw_data(image)
        if isinstance(item, AuditEventItem):
            events.append(offered(domain_event(item)))
        elif isinstance(item, InboxItem):
            events.append(received_event(item))
    return events


def publish(records: list[dict[str, Any]]) -> int:
    return bus.put_events(events_from_records(records))
