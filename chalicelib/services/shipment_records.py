"""How shipments are stored, for the services not yet on the storage port, and what every shipment
service builds: the parcel's kinds for the port (`copy_of`, `pointer_of`), its events (`refs`,
`shipment_audit`, `order_audit`).

A parcel's partition `SHIPMENT#<carrier>#<tracking>` holds its record (`#META`), the carrier events
as received (`TRACK#...`) and its audit events; the PO keeps a pointer to it and each order it
carries a customer's copy. Recording a shipment (`services.shipments`), applying carrier events
(`services.tracking`), routing them (`services.inbound`) and a complaint's parcels
(`services.complaints`) all read and write through here, so none of them needs another to map.
The items themselves are built by the port's mapping (`adapters.dynamodb.store_shipments`), so the
writes here and the port's never disagree; they go when tracking, inbound and complaints move.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import OrderItem, ShipmentItem, TrackEventItem
from ..adapters.dynamodb.store_orders import shipment_copy_item
from ..adapters.dynamodb.store_shipments import (
    carrier_event_from_item,
    pointer_item,
    record_from_item,
    shipment_record_item,
    track_event_items,
)
from ..domain import shipments as rules
from ..domain.audit import AuditEvent
from ..domain.orders import Order
from ..domain.permissions import SYSTEM, Principal
from ..domain.shipments import CarrierEvent, Shipment
from .clock import new_id
from .ports_orders import ShipmentCopy, TrackingStep
from .ports_purchase_orders import POShipment
from .ports_shipments import ShipmentRecord


def shipment_item(
    s: Shipment, *, at: datetime, version: int | None, previous: ShipmentItem | None = None, **changes: Any
) -> repo.Write:
    """The shipment record; workflow fields carry over from `previous` unless `changes` say otherwise."""
    base = record_from_item(previous) if previous is not None else ShipmentRecord(s)
    item = shipment_record_item(replace(base, shipment=s, **changes), at=at)
    if version is None:
        return repo.new_item(item)
    return repo.Write(repo.with_version(item, version))


def copy_of(s: Shipment, order_id: str, at: datetime) -> ShipmentCopy:
    """The customer's copy of the shipment, kept with the order (the orders area's kind)."""
    return ShipmentCopy(
        shipment_id=s.id,
        order_id=order_id,
        supplier_id=s.supplier_id,
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        tracking_url=rules.tracking_url(s.carrier, s.tracking_number),
        status=s.status.value,
        status_at=s.status_at,
        created_at=s.created_at,
        updated_at=at,
        timeline=[TrackingStep(e.occurred_at, e.status, e.description or None, e.location, e.carrier_code) for e in s.timeline],
    )


def pointer_of(s: Shipment) -> POShipment:
    """The PO's pointer to the shipment (the purchase-order area's kind)."""
    return POShipment(
        id=s.id,
        po_id=s.po_id,
        supplier_id=s.supplier_id,
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        order_ids=list(s.order_ids),
        status=s.status.value,
        created_at=s.created_at,
    )


def order_copy(s: Shipment, order_id: str, at: datetime) -> repo.Write:
    """The customer's copy of the shipment inside the order's partition."""
    return repo.Write(shipment_copy_item(copy_of(s, order_id, at)))


def po_pointer(s: Shipment, at: datetime) -> repo.Write:
    return repo.Write(pointer_item(pointer_of(s), at))


def refs(s: Shipment) -> dict[str, Any]:
    """What every shipment event carries (the consumers find the record from it)."""
    c = rules.carrier(s.carrier)
    return {
        "shipment_id": s.id,
        "carrier": s.carrier,
        "carrier_name": c.name,
        "tracking_number": s.tracking_number,
        "tracking_url": rules.tracking_url(s.carrier, s.tracking_number),
        "po_id": s.po_id,
        "supplier_id": s.supplier_id,
        "campaign_id": s.campaign_id,
        "order_ids": list(s.order_ids),
        "status": s.status.value,
    }


def shipment_audit(
    s: Shipment,
    type_: str,
    at: datetime,
    *,
    actor: Principal = SYSTEM,
    from_status: str | None = None,
    data: dict[str, Any] | None = None,
    internal_note: str | None = None,
    files: list[str] | None = None,
) -> AuditEvent:
    """An event in the parcel's history."""
    return AuditEvent(
        id=new_id("evt"),
        subject_type="shipment",
        subject_id=s.ref,
        type=type_,
        actor=actor,
        at=at,
        from_status=from_status,
        to_status=s.status.value,
        internal_note=internal_note,
        files=list(files or []),
        data={**refs(s), **(data or {})},
    )


def order_audit(
    order: OrderItem | Order,
    s: Shipment,
    type_: str,
    at: datetime,
    *,
    customer_note: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """An event on the order about one of its shipments (the notification rules pick it up)."""
    status = order.status.value if isinstance(order, Order) else order.status
    return AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type=type_,
        actor=SYSTEM,
        at=at,
        from_status=from_status or status,
        to_status=to_status or status,
        customer_note=customer_note,
        data={
            "order_id": order.id,
            "customer_email": order.customer_email,
            "status": to_status or status,
            **refs(s),
            **(data or {}),
        },
    )


def load(carrier: str, tracking_number: str) -> ShipmentItem | None:
    return repo.get(keys.shipment(carrier, tracking_number), ShipmentItem)


def track_event_from_item(item: TrackEventItem) -> CarrierEvent:
    return carrier_event_from_item(item)


def track_events(carrier: str, tracking_number: str) -> list[TrackEventItem]:
    """Every carrier event kept for the parcel, as stored (one Query of its `TRACK#` items)."""
    return track_event_items(carrier, tracking_number)
