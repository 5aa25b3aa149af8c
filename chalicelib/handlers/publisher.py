"""Stream publisher: each audit event written to the table becomes a domain event on the bus.

The audit event is written in the same transaction as the change, so nothing is lost
between the write and the bus; a failed PutEvents raises and the stream retries the batch
(consumers deduplicate by event id)."""

from __future__ import annotations

from typing import Any

from ..adapters import bus
from ..adapters.dynamodb.models import AuditEventItem, Item


def domain_event(item: AuditEventItem) -> dict[str, Any]:
    """The bus payload: facts and references, never internal notes."""
    return {
        "id": item.id, "type": item.type, "subject_type": item.subject_type, "subject_id": item.subject_id,
        "at": item.at.isoformat(), "actor": {"sub": item.actor.sub, "role": item.actor.role},
        "from_status": item.from_status, "to_status": item.to_status,
        "customer_note": item.customer_note, "has_internal_note": bool(item.internal_note),
        "data": item.data.as_dict() if item.data else {},
    }


def events_from_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events = []
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage")
        if record.get("eventName") != "INSERT" or not image or image.get("kind", {}).get("S") != "event":
            continue
        item = Item.from_raw_data(image)
        if isinstance(item, AuditEventItem):
            events.append(domain_event(item))
    return events


def publish(records: list[dict[str, Any]]) -> int:
    return bus.put_events(events_from_records(records))
