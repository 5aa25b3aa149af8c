"""The shipments area's kinds and reads on the single table (`services.ports_shipments`).

The one mapping between a parcel and its items: a parcel's partition `SHIPMENT#<carrier>#<tracking>`
holds its record (`#META`, in the tracking index by number and in the exports index by creation),
its carrier events (`TRACK#<occurred>#<code>`) and its audit events; the PO keeps a pointer to it
(`PO#<po>` / `SHIPMENT#<id>`), a marker per order shipped (`PO#<po>` / `SHIPPED#<order>`) and the
count of orders its parcels shipped, in shards (`PO#<po>` / `#COUNT#SHIPPED#<n>`).
`services.shipment_records`, for the services not yet on the port, builds its items from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from ...domain import shipments as rules
from ...domain.orders import DeliveryStatus, Order
from ...domain.shipments import CarrierEvent, Shipment, ShipmentStatus, TimelineEntry, TrackingStatus
from ...services.ports_purchase_orders import POShipment
from ...services.ports_shipments import (
    DeliveryToShip,
    ParcelTrail,
    ShipmentIntake,
    ShipmentRecord,
    ShippedCount,
    ShippedOrder,
    TrackEvent,
)
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import (
    AuditEventItem,
    DeliveryIndexItem,
    Item,
    OrderItem,
    POShipmentItem,
    POShippedCountItem,
    POShippedOrderItem,
    ShipmentItem,
    TimelineMap,
    TrackEventItem,
)
from .store_purchase_orders import po_count_keys, po_with_counts

# ---------------------------------------------------------------- the shipment record


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


def record_from_item(item: ShipmentItem) -> ShipmentRecord:
    return ShipmentRecord(
        shipment_from_item(item),
        superseded_by=item.superseded_by,
        task_token=item.task_token,
        execution_arn=item.execution_arn,
        stale_count=int(item.stale_count or 0),
        customer_told_delayed=bool(item.customer_told_delayed),
    )


def timeline(entries: Iterable[TimelineEntry]) -> list[TimelineMap]:
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


def shipment_record_item(record: ShipmentRecord, *, at: datetime) -> ShipmentItem:
    s = record.shipment
    pk, sk = keys.shipment(s.carrier, s.tracking_number)
    gpk, gsk = keys.tracking_index(s.tracking_number, s.carrier)
    return ShipmentItem(
        pk,
        sk,
        GSI1PK=gpk,
        GSI1SK=gsk,
        id=s.id,
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        GSI4PK=keys.all_shipments_pk(s.id),
        GSI4SK=keys.created_sk(s.created_at, s.id),  # exports, by creation time
        po_id=s.po_id,
        supplier_id=s.supplier_id,
        campaign_id=s.campaign_id,
        order_ids=s.order_ids,
        status=s.status.value,
        status_at=s.status_at,
        last_event_at=s.last_event_at,
        timeline=timeline(s.timeline),
        corrections=s.corrections,
        created_at=s.created_at,
        updated_at=at,
        superseded_by=record.superseded_by,
        task_token=record.task_token,
        execution_arn=record.execution_arn,
        stale_count=record.stale_count,
        customer_told_delayed=record.customer_told_delayed,
    )


def _load_shipment(carrier: str, tracking_number: str) -> tuple[ShipmentRecord, int] | None:
    item = repo.get(keys.shipment(carrier, tracking_number), ShipmentItem)
    return None if item is None else (record_from_item(item), int(item.version))


def _save_shipment(record: ShipmentRecord, version: int | None, at: datetime) -> Writes:
    item = shipment_record_item(record, at=at)
    return [repo.new_item(item) if version is None else repo.Write(repo.with_version(item, version))]


# ---------------------------------------------------------------- the PO's pointer and shipped markers


def pointer_item(p: POShipment, at: datetime) -> POShipmentItem:
    return POShipmentItem(
        *keys.po_child(p.po_id, "SHIPMENT", p.id),
        id=p.id,
        po_id=p.po_id,
        supplier_id=p.supplier_id,
        carrier=p.carrier,
        tracking_number=p.tracking_number,
        order_ids=p.order_ids,
        status=p.status,
        created_at=p.created_at,
        updated_at=at,
    )


def pointer_from_item(item: POShipmentItem) -> POShipment:
    return POShipment(
        id=item.id,
        po_id=item.po_id,
        supplier_id=item.supplier_id,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
        order_ids=[str(o) for o in item.order_ids or []],
        status=item.status,
        created_at=item.created_at,
    )


def _load_pointer(po_id: str, shipment_id: str) -> tuple[POShipment, int] | None:
    item = repo.get(keys.po_child(po_id, "SHIPMENT", shipment_id), POShipmentItem)
    return None if item is None else (pointer_from_item(item), 1)  # it follows its shipment: no version of its own


def _save_pointer(p: POShipment, version: int | None, at: datetime) -> Writes:
    item = pointer_item(p, at)
    return [repo.new_item(item) if version is None else repo.Write(item)]


def _load_shipped(po_id: str, order_id: str) -> tuple[ShippedOrder, int] | None:
    item = repo.get(keys.po_shipped_order(po_id, order_id), POShippedOrderItem)
    return None if item is None else (ShippedOrder(item.po_id, item.order_id, item.shipment_id, item.at), 1)


def _save_shipped(m: ShippedOrder, version: int | None, at: datetime) -> Writes:
    if version is not None:
        raise ValueError("an order is counted as shipped once, never changed")
    item = POShippedOrderItem(
        *keys.po_shipped_order(m.po_id, m.order_id), po_id=m.po_id, order_id=m.order_id, shipment_id=m.shipment_id, at=m.at
    )
    return [repo.new_item(item)]


def _load_count(po_id: str, shipment_id: str) -> tuple[ShippedCount, int] | None:
    raise TypeError("a parcel's count is read with its PO (its record counts it in), never alone")


def _save_count(c: ShippedCount, version: int | None, at: datetime) -> Writes:
    """An atomic ADD to one shard of the PO's count, whatever the version named: no condition, so
    parcels of one PO never conflict over it (the shipped markers, created once in the same
    transaction, keep each order counted once)."""
    if c.orders == 0:
        return []
    item = POShippedCountItem(*keys.po_shipped_count(c.po_id, keys.po_shipped_shard(c.shipment_id)))
    actions = [POShippedCountItem.kind.set(POShippedCountItem), POShippedCountItem.po_id.set(c.po_id)]
    return [repo.Update(item, [*actions, POShippedCountItem.orders.add(c.orders)])]


# ---------------------------------------------------------------- carrier events as received


def track_event_item(t: TrackEvent) -> TrackEventItem:
    event = t.event
    return TrackEventItem(
        *keys.track_event(t.carrier, event.tracking_number, event.key),
        carrier=t.carrier,
        tracking_number=event.tracking_number,
        carrier_code=event.carrier_code,
        status=event.status.value if event.status else None,
        occurred_at=rules.utc(event.occurred_at),
        description=event.description or None,
        location=event.location,
        webhook_id=t.webhook_id,
        received_at=t.received_at,
    )


def carrier_event_from_item(item: TrackEventItem) -> CarrierEvent:
    return CarrierEvent(
        tracking_number=item.tracking_number,
        carrier_code=item.carrier_code,
        status=TrackingStatus(item.status) if item.status else None,
        occurred_at=item.occurred_at,
        description=item.description or "",
        location=item.location,
    )


def track_event_from_item(item: TrackEventItem) -> TrackEvent:
    return TrackEvent(item.carrier, carrier_event_from_item(item), item.received_at, item.webhook_id)


def track_event_items(carrier: str, tracking_number: str) -> list[TrackEventItem]:
    """Every carrier event kept for the parcel, as stored (one Query of its `TRACK#` items)."""
    return [
        i
        for i in repo.query_all(
            keys.shipment_pk(carrier, tracking_number), range_key_condition=Item.SK.startswith(keys.TRACK_PREFIX)
        )
        if isinstance(i, TrackEventItem)
    ]


def _load_track_event(carrier: str, tracking_number: str, event_key: str) -> tuple[TrackEvent, int] | None:
    item = repo.get(keys.track_event(carrier, tracking_number, event_key), TrackEventItem)
    return None if item is None else (track_event_from_item(item), 1)


def _save_track_event(t: TrackEvent, version: int | None, at: datetime) -> Writes:
    item = track_event_item(t)
    # Created once; a save with a version writes it as it is (a replay of an event kept before).
    return [repo.new_item(item) if version is None else repo.Write(item)]


register(ShipmentRecord, Mapper(load=_load_shipment, save=_save_shipment))
register(POShipment, Mapper(load=_load_pointer, save=_save_pointer))
register(ShippedOrder, Mapper(load=_load_shipped, save=_save_shipped))
register(ShippedCount, Mapper(load=_load_count, save=_save_count))
register(TrackEvent, Mapper(load=_load_track_event, save=_save_track_event))


class ShipmentsDynamo:
    """`services.ports_shipments.ShipmentsReads` on the single table."""

    def shipment_intake(
        self,
        po_id: str,
        supplier_id: str,
        order_ids: Sequence[str],
        carrier: str,
        tracking_number: str,
        *,
        with_po: bool = False,
    ) -> ShipmentIntake:
        found = repo.batch_get(
            [
                *(keys.delivery(o, supplier_id) for o in order_ids),
                *(keys.po_shipped_order(po_id, o) for o in order_ids),
                keys.shipment(carrier, tracking_number),
                *([keys.po(po_id), *po_count_keys(po_id)] if with_po else []),  # the PO with its parcels' counts
            ]
        )
        return ShipmentIntake(
            po=po_with_counts(found) if with_po else None,
            deliveries={
                i.order_id: DeliveryToShip(i.order_id, i.campaign_id, DeliveryStatus(i.delivery_status))
                for i in found
                if isinstance(i, DeliveryIndexItem)
            },
            shipped_before={i.order_id for i in found if isinstance(i, POShippedOrderItem)},
            parcel_known=any(isinstance(i, ShipmentItem) for i in found),
        )

    def parcel_orders(self, order_ids: Sequence[str]) -> list[Order]:
        return [repo.order_from_item(i) for i in repo.batch_get(keys.order(o) for o in order_ids) if isinstance(i, OrderItem)]

    def track_events(self, carrier: str, tracking_number: str) -> list[TrackEvent]:
        return [track_event_from_item(i) for i in track_event_items(carrier, tracking_number)]

    def parcel_trail(self, carrier: str, tracking_number: str) -> ParcelTrail | None:
        items = repo.query_all(keys.shipment_pk(carrier, tracking_number))
        item = next((i for i in items if isinstance(i, ShipmentItem)), None)
        if item is None:
            return None
        events = sorted((repo.event_from_item(i) for i in items if isinstance(i, AuditEventItem)), key=lambda e: e.at)
        return ParcelTrail(record_from_item(item), int(item.version), events)
