"""The shipments area's reads in memory (`services.ports_shipments.ShipmentsReads`), answered from the
stored orders, shipment records, shipped markers, carrier events and recorded events.

`SHIPMENTS_KEYS` (merged into `adapters.memory.KEYS`) keys the area's kinds; `FOLLOWERS` are the kinds
that follow their shipment and carry no version of their own (the PO's pointer, the customer's copy, a
carrier event kept before its parcel was known): a save with any version writes them as they are, and
they stay at version 1, as the DynamoDB store answers them. A parcel's `ShippedCount` carries none
either: a save adds it to its PO's count, which the PO's record counts in when read by its id.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..domain.audit import AuditEvent
from ..domain.orders import Order
from ..domain.shipments import parcel_ref
from ..services.ports_common import Versioned
from ..services.ports_orders import ShipmentCopy
from ..services.ports_purchase_orders import PORecord, POShipment
from ..services.ports_shipments import (
    DeliveryToShip,
    ParcelTrail,
    ShipmentIntake,
    ShipmentRecord,
    ShippedCount,
    ShippedOrder,
    TrackEvent,
)

if TYPE_CHECKING:
    from ..services.ports import A

SHIPMENTS_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {
    ShipmentRecord: lambda r: (r.shipment.carrier, r.shipment.tracking_number),
    ShippedOrder: lambda m: (m.po_id, m.order_id),
    ShippedCount: lambda c: (c.po_id, c.shipment_id),  # never stored under it: added to its PO's count
    TrackEvent: lambda t: (t.carrier, t.event.tracking_number, t.event.key),
}

FOLLOWERS: frozenset[type] = frozenset({POShipment, ShipmentCopy, TrackEvent, ShippedCount})


class ShipmentsMemory:
    """Mixed into `MemoryStore`, whose dicts it reads."""

    _events: dict[tuple[str, str], dict[str, AuditEvent]]
    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]

    if TYPE_CHECKING:

        def load(self, kind: type[A], *key: str) -> Versioned[A] | None: ...
        def _all(self, kind: type[Any]) -> list[Any]: ...

    _shipped_apart: dict[str, int]  # by PO: what its parcels counted (`ShippedCount`), apart from its record

    def _count_shipped(self, count: ShippedCount) -> None:
        """A parcel's count added (never stored as an aggregate: the PO's record counts it in on load)."""
        self._shipped_apart[count.po_id] = self._shipped_apart.get(count.po_id, 0) + count.orders

    def _counted(self, record: PORecord) -> PORecord:
        """The record (a copy) as read by the PO's id: its parcels' counts added in."""
        apart = self._shipped_apart.get(record.po.id, 0)
        record.po.orders_shipped += apart
        record.po.orders_shipped_apart = apart
        return record

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
        deliveries: dict[str, DeliveryToShip] = {}
        for order_id in order_ids:
            found = self.load(Order, order_id)
            delivery = next((d for d in found.value.deliveries if d.supplier_id == supplier_id), None) if found else None
            if found is not None and delivery is not None:
                deliveries[order_id] = DeliveryToShip(order_id, found.value.campaign_id, delivery.status)
        return ShipmentIntake(
            po=self.load(PORecord, po_id) if with_po else None,
            deliveries=deliveries,
            shipped_before={o for o in order_ids if self.load(ShippedOrder, po_id, o) is not None},
            parcel_known=self.load(ShipmentRecord, carrier, tracking_number) is not None,
        )

    def parcel_orders(self, order_ids: Sequence[str]) -> list[Order]:
        found = (self.load(Order, o) for o in dict.fromkeys(order_ids))
        return [f.value for f in found if f is not None]

    def track_events(self, carrier: str, tracking_number: str) -> list[TrackEvent]:
        return [t for t in self._all(TrackEvent) if (t.carrier, t.event.tracking_number) == (carrier, tracking_number)]

    def parcel_trail(self, carrier: str, tracking_number: str) -> ParcelTrail | None:
        found = self.load(ShipmentRecord, carrier, tracking_number)
        if found is None:
            return None
        ref = parcel_ref(carrier, tracking_number)
        # The parcel's partition holds the events about it as a shipment and as a tracking number.
        events = [e for subject in ("shipment", "tracking") for e in self._events.get((subject, ref), {}).values()]
        return ParcelTrail(found.value, found.version, sorted((copy.deepcopy(e) for e in events), key=lambda e: e.at))
