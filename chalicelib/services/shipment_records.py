"""How shipments are stored: the one mapping between a shipment (`domain.shipments`) and its items.

A parcel's partition `SHIPMENT#<carrier>#<tracking>` holds its record (`#META`), the carrier events
as received (`TRACK#...`) and its audit events; the PO keeps a pointer to it and each order it
carries a customer's copy. Recording a shipment (`services.shipments`), applying carrier events
(`services.tracking`), routing them (`services.inbound`) and a complaint's parcels
(`services.complaints`) all read and write through here, so none of them needs another to map.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import (
    Item,
    OrderItem,
    OrderShipmentItem,
    POShipmentItem,
    ShipmentItem,
    TimelineMap,
    TrackEventItem,
)
from ..domain import shipments as rules
from ..domain.audit import AuditEvent
from ..domain.orders import Order
from ..domain.permissions import SYSTEM, Principal
from ..domain.shipments import CarrierEvent, Shipment, ShipmentStatus, TimelineEntry, TrackingStatus
from .clock import new_id


def shipment_from_item(item: ShipmentItem) -> Shipment:
    return Shipment(
        id=item.id,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
        po_id=item.po_id,
        supplier_id=item.supplier_id,
        campaign_id=item.campaign_id,
        order_ids=[str(o) for o in item.order_ids or []],
        created_at=item.created_at,
        status=ShipmentStatus(item.status),
        status_at=item.status_at,
        last_event_at=item.last_event_at,
        timeline=[
            TimelineEntry(t.status, t.carrier_code, t.occurred_at, t.description or "", t.location) for t in item.timeline or []
        ],
        corrections=int(item.corrections or 0),
    )


def _timeline(entries: Iterable[TimelineEntry]) -> list[TimelineMap]:
    return [
        TimelineMap(
            status=e.status,
            carrier_code=e.carrier_code,  # type: ignore[no-untyped-call]
            occurred_at=e.occurred_at,
            description=e.description or None,
            location=e.location,
        )
        for e in entries
    ]


def shipment_item(
    s: Shipment, *, at: datetime, version: int | None, previous: ShipmentItem | None = None, **changes: Any
) -> repo.Write:
    """The shipment record; workflow fields carry over from `previous` unless `changes` say otherwise."""
    pk, sk = keys.shipment(s.carrier, s.tracking_number)
    gpk, gsk = keys.tracking_index(s.tracking_number, s.carrier)
    carried = (
        {
            name: getattr(previous, name)
            for name in ("superseded_by", "task_token", "execution_arn", "stale_count", "customer_told_delayed")
        }
        if previous is not None
        else {}
    )
    item = ShipmentItem(
        pk,
        sk,
        GSI1PK=gpk,
        GSI1SK=gsk,
        id=s.id,
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        GSI4PK=keys.ALL_SHIPMENTS_PK,
        GSI4SK=keys.created_sk(s.created_at, s.id),  # exports, by creation time
        po_id=s.po_id,
        supplier_id=s.supplier_id,
        campaign_id=s.campaign_id,
        order_ids=s.order_ids,
        status=s.status.value,
        status_at=s.status_at,
        last_event_at=s.last_event_at,
        timeline=_timeline(s.timeline),
        corrections=s.corrections,
        created_at=s.created_at,
        updated_at=at,
        **{**carried, **changes},
    )
    if version is None:
        return repo.new_item(item)
    return repo.Write(repo.with_version(item, version))


def order_copy(s: Shipment, order_id: str, at: datetime) -> repo.Write:
    """The customer's copy of the shipment inside the order's partition."""
    pk, sk = keys.order_shipment(order_id, s.id)
    return repo.Write(
        OrderShipmentItem(
            pk,
            sk,
            shipment_id=s.id,
            order_id=order_id,
            supplier_id=s.supplier_id,
            carrier=s.carrier,
            tracking_number=s.tracking_number,
            tracking_url=rules.tracking_url(s.carrier, s.tracking_number),
            status=s.status.value,
            status_at=s.status_at,
            timeline=_timeline(s.timeline),
            created_at=s.created_at,
            updated_at=at,
        )
    )


def po_pointer(s: Shipment, at: datetime) -> repo.Write:
    pk, sk = keys.po_child(s.po_id, "SHIPMENT", s.id)
    return repo.Write(
        POShipmentItem(
            pk,
            sk,
            id=s.id,
            po_id=s.po_id,
            supplier_id=s.supplier_id,
            carrier=s.carrier,
            tracking_number=s.tracking_number,
            order_ids=s.order_ids,
            status=s.status.value,
            created_at=s.created_at,
            updated_at=at,
        )
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


def shipment_event(
    s: Shipment,
    type_: str,
    at: datetime,
    *,
    actor: Principal = SYSTEM,
    from_status: str | None = None,
    data: dict[str, Any] | None = None,
    internal_note: str | None = None,
    files: list[str] | None = None,
) -> repo.Write:
    event = AuditEvent(
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
    return repo.event_write(keys.shipment_pk(s.carrier, s.tracking_number), event)


def order_event(
    order: OrderItem | Order,
    s: Shipment,
    type_: str,
    at: datetime,
    *,
    customer_note: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
) -> repo.Write:
    """An event on the order about one of its shipments (the notification rules pick it up)."""
    status = order.status.value if isinstance(order, Order) else order.status
    event = AuditEvent(
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
    return repo.event_write(keys.order_pk(order.id), event)


def load(carrier: str, tracking_number: str) -> ShipmentItem | None:
    return repo.get(keys.shipment(carrier, tracking_number), ShipmentItem)


def track_event_write(carrier: str, event: CarrierEvent, webhook_id: str | None, at: datetime) -> repo.Write:
    pk, sk = keys.track_event(carrier, event.tracking_number, event.key)
    return repo.Write(
        TrackEventItem(
            pk,
            sk,
            carrier=carrier,
            tracking_number=event.tracking_number,
            carrier_code=event.carrier_code,
            status=event.status.value if event.status else None,
            occurred_at=rules.utc(event.occurred_at),
            description=event.description or None,
            location=event.location,
            webhook_id=webhook_id,
            received_at=at,
        )
    )


def track_event_from_item(item: TrackEventItem) -> CarrierEvent:
    return CarrierEvent(
        tracking_number=item.tracking_number,
        carrier_code=item.carrier_code,
        status=TrackingStatus(item.status) if item.status else None,
        occurred_at=item.occurred_at,
        description=item.description or "",
        location=item.location,
    )


def order_shipments(items: list[Item]) -> list[OrderShipmentItem]:
    """The shipment copies in an order partition, oldest first."""
    return sorted((i for i in items if isinstance(i, OrderShipmentItem)), key=lambda i: i.created_at)


def track_events(carrier: str, tracking_number: str) -> list[TrackEventItem]:
    """Every carrier event kept for the parcel, as stored (one Query of its `TRACK#` items)."""
    return [
        i
        for i in repo.query_all(
            keys.shipment_pk(carrier, tracking_number), range_key_condition=Item.SK.startswith(keys.TRACK_PREFIX)
        )
        if isinstance(i, TrackEventItem)
    ]
