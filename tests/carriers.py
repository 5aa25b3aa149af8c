"""Carrier events as the deployed system applies them: the inbound consumer applies the event to its
parcel (one read, one transaction), then the stream carries each `shipment.status_changed` it recorded
to the shipments consumer, which tells the customers, completes deliveries and raises or clears the
parcel's exceptions. Tests that apply carrier events outside the local stack run both steps here."""

from __future__ import annotations

from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamodb.models import AuditEventItem, Item
from chalicelib.config import settings
from chalicelib.domain.shipments import CarrierEvent
from chalicelib.events import domain_event as typed_event
from chalicelib.handlers import shipments as shipments_consumer
from chalicelib.handlers.publisher import domain_event
from chalicelib.services import inbound


def _table() -> list[Item]:
    """Every item, read with boto3 itself: the stream's reading is not the services' (meters count
    PynamoDB's requests only)."""
    pages = client("dynamodb").get_paginator("scan").paginate(TableName=settings().table_name)
    return [Item.from_raw_data(raw) for page in pages for raw in page.get("Items", [])]


FOLLOWED: set[str] = set()  # the consumer's idempotency records, as far as these helpers go (event ids are unique)


def follow_all() -> list[str]:
    """Deliver every `shipment.status_changed` not delivered yet to the shipments consumer, oldest first
    (the stream -> bus -> queue path that carries them is the local stack's); their outcomes."""
    fresh = [
        domain_event(i)
        for i in _table()
        if isinstance(i, AuditEventItem) and i.type == "shipment.status_changed" and i.id not in FOLLOWED
    ]
    outcomes = []
    for event in sorted(fresh, key=lambda e: (e["at"], e["id"])):
        FOLLOWED.add(event["id"])
        outcomes.append(shipments_consumer.handle(typed_event(event)))
    return outcomes


def apply_and_follow(carrier: str, event: CarrierEvent, *, webhook_id: str | None = None) -> str:
    """`inbound.apply_carrier_event`, then the shipments consumer on what it recorded."""
    outcome = inbound.apply_carrier_event(carrier, event, webhook_id=webhook_id)
    follow_all()
    return outcome
