"""What a webhook subscriber can receive: every offered event type, the JSON Schema of its payload (the
model /openapi.json publishes under `webhooks`) and an example payload built by the code that builds
the real ones (`domain.webhooks.thin_payload`), so the example can never drift from what is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import events
from ..config import settings
from ..domain import webhooks as rules

EXAMPLE_AT = datetime(2026, 11, 23, 14, 25, tzinfo=UTC)
# Example ids for what an event may carry (`rules.PAYLOAD_IDS`), by the subject the type is about.
_EXAMPLE_DATA: dict[str, dict[str, Any]] = {
    "order": {"order_id": "ord_01example", "campaign_id": "cmp_01example"},
    "po": {"po_id": "po_cmp_01example_acme", "campaign_id": "cmp_01example", "supplier_id": "acme", "stage": "shipment"},
    "shipment": {
        "shipment_id": "shp_01example",
        "po_id": "po_cmp_01example_acme",
        "carrier": "dhl",
        "tracking_number": "JD014600006281",
        "order_ids": ["ord_01example"],
    },
    "campaign": {"campaign_id": "cmp_01example"},
    "complaint": {"complaint_id": "cmp_01complaint", "order_id": "ord_01example"},
}


@dataclass(frozen=True)
class EventTypeInfo:
    type: str
    subject: str
    payload_schema: dict[str, Any]
    example: dict[str, Any]


def _example(event_type: str) -> dict[str, Any]:
    subject = event_type.split(".", 1)[0]
    data = _EXAMPLE_DATA.get(subject, {})
    subject_id = data.get(f"{subject}_id", f"{subject}_01example")
    event = {
        "id": "evt_01example",
        "type": event_type,
        "subject_type": subject,
        "subject_id": subject_id,
        "to_status": None,
        "at": EXAMPLE_AT,
        "data": data,
    }
    return rules.thin_payload(event, settings().public_url)


def event_types() -> list[EventTypeInfo]:
    """Every type offered to subscribers, in the order domain/webhooks.py lists them."""
    return [
        EventTypeInfo(t, t.split(".", 1)[0], events.WEBHOOK_MODELS[t].model_json_schema(), _example(t))
        for t in rules.OFFERED_EVENT_TYPES
    ]
