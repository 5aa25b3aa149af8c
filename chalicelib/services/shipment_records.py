"""What every shipment service builds for a parcel: the kinds the port stores beside its record
(`copy_of`: the customer's copy, kept with the order; `pointer_of`: the PO's pointer) and its events
(`refs`, `shipment_audit`, `order_audit`).

Recording a shipment (`services.shipments`) and applying carrier events (`services.tracking`) build
them here, so neither needs the other to map; how they are stored is the port's mapping
(`adapters.dynamodb.store_shipments` / `store_orders`; `adapters.dynamodb.shipment_items` writes the
same items straight to the table for the tests and the bench that seed it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain import shipments as rules
from ..domain.audit import AuditEvent
from ..domain.orders import Order
from ..domain.permissions import SYSTEM, Principal
from ..domain.shipments import Shipment
from .clock import new_id
from .ports_orders import ShipmentCopy, TrackingStep
from .ports_purchase_orders import POShipment


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
    order: Order,
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
    status = order.status.value
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
