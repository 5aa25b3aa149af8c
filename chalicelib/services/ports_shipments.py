"""The shipments area's part of the storage port (`services.ports.Store` inherits `ShipmentsReads`).

Kinds: a `ShipmentRecord` (the parcel as `domain.shipments.Shipment` plus what the tracking workflow
keeps on it; keyed by carrier and tracking number, saved under its version), a `ShippedOrder` (an
order counted once towards its PO's shipment stage: created once, never changed), a `ShippedCount`
(what a parcel adds to its PO's count of orders shipped: added, never read alone) and a `TrackEvent`
(a carrier event as received, keyed by carrier, tracking number and the event's key: created once).
The PO's pointer to a parcel is the purchase-order area's `POShipment` and the customer's copy the
orders area's `ShipmentCopy`: both follow their shipment, so they carry no version of their own (a
save with any version writes them as they are; load answers version 1).
Reads: what recording a parcel checks (one read), the orders a parcel carries (one read), a parcel's
carrier events and a parcel with its audit trail (one read each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.audit import AuditEvent
from ..domain.orders import DeliveryStatus, Order
from ..domain.shipments import CarrierEvent, Shipment, parcel_ref
from .ports_common import Versioned
from .ports_purchase_orders import PORecord


@dataclass
class ShipmentRecord:
    """A parcel as stored: the domain's shipment and the tracking workflow's fields on it."""

    shipment: Shipment
    superseded_by: str | None = None  # the parcel ref (`<carrier>#<tracking>`) of the record that took over
    task_token: str | None = None  # the tracking execution's wait, while it waits for carrier events
    execution_arn: str | None = None
    stale_count: int = 0
    customer_told_delayed: bool = False

    @property
    def ref(self) -> str:
        return self.shipment.ref


@dataclass(frozen=True)
class ShippedOrder:
    """An order of the PO shipped for the first time (by `shipment_id`): each counts once towards the
    PO's shipment stage."""

    po_id: str
    order_id: str
    shipment_id: str
    at: datetime


@dataclass(frozen=True)
class ShippedCount:
    """Orders a parcel (`shipment_id`) shipped for the first time, added to its PO's count
    (`PurchaseOrder.orders_shipped`) apart from the PO itself: a save ADDs them, whatever the version
    named (a count has none), so parcels of one PO never conflict over it; one per commit (the parcel's).
    Never loaded alone: the PO's record, read by its id, counts them in (`orders_shipped_apart`)."""

    po_id: str
    shipment_id: str
    orders: int


@dataclass(frozen=True)
class TrackEvent:
    """A carrier event as received for a parcel (`webhook_id`: the inbox entry it came in, if any)."""

    carrier: str
    event: CarrierEvent
    received_at: datetime
    webhook_id: str | None = None

    @property
    def ref(self) -> str:
        return parcel_ref(self.carrier, self.event.tracking_number)


@dataclass(frozen=True)
class DeliveryToShip:
    """One supplier's delivery of an order, as recording a parcel checks it."""

    order_id: str
    campaign_id: str
    status: DeliveryStatus


@dataclass(frozen=True)
class ShipmentIntake:
    """What recording a parcel reads: the supplier's deliveries of the orders named (by order id; an
    order without one is absent), which of them the PO counted as shipped before, and whether the
    tracking number is recorded already; and, when asked for (`with_po`), the PO's record as read."""

    deliveries: dict[str, DeliveryToShip] = field(default_factory=dict)
    shipped_before: set[str] = field(default_factory=set)
    parcel_known: bool = False
    po: Versioned[PORecord] | None = None


@dataclass(frozen=True)
class ParcelTrail:
    """A parcel with its version and its audit events, oldest first."""

    record: ShipmentRecord
    version: int
    events: list[AuditEvent] = field(default_factory=list)


class ShipmentsReads(Protocol):
    """The shipments area's access patterns."""

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
        """See `ShipmentIntake`: one read (a BatchGetItem of the deliveries, the PO's shipped markers of
        those orders, the parcel's record and, `with_po`, the PO's record with its parcels' counts)."""
        ...

    def parcel_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """The orders of those ids that exist, in no particular order: one read (a BatchGetItem)."""
        ...

    def track_events(self, carrier: str, tracking_number: str) -> list[TrackEvent]:
        """Every carrier event kept for the parcel, in no particular order: one read (a Query of the
        parcel's carrier events)."""
        ...

    def parcel_trail(self, carrier: str, tracking_number: str) -> ParcelTrail | None:
        """The parcel's record with its audit events, or None: one read (a Query of its partition)."""
        ...
