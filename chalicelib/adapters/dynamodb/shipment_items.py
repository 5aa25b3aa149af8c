"""A parcel's items written or read straight on the table, for the code that seeds or inspects the table
without a service: the workflow and API tests, the carriers bench.

Each is built by the port's mapping (`store_shipments`, `store_orders`) from what the shipments service
builds (`services.shipment_records`), so these items and the ones a service commits never disagree.
Services never call these: they speak the storage port.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.shipments import Shipment
from ...services.ports_shipments import ShipmentRecord
from ...services.shipment_records import copy_of, pointer_of
from . import keys
from . import repository as repo
from .models import ShipmentItem
from .store_orders import shipment_copy_item
from .store_shipments import pointer_item, record_from_item, shipment_record_item


def shipment_item(
    s: Shipment, *, at: datetime, version: int | None, previous: ShipmentItem | None = None, **changes: Any
) -> repo.Write:
    """The shipment record; workflow fields carry over from `previous` unless `changes` say otherwise."""
    base = record_from_item(previous) if previous is not None else ShipmentRecord(s)
    item = shipment_record_item(replace(base, shipment=s, **changes), at=at)
    if version is None:
        return repo.new_item(item)
    return repo.Write(repo.with_version(item, version))


def order_copy(s: Shipment, order_id: str, at: datetime) -> repo.Write:
    """The customer's copy of the shipment inside the order's partition."""
    return repo.Write(shipment_copy_item(copy_of(s, order_id, at)))


def po_pointer(s: Shipment, at: datetime) -> repo.Write:
    """The PO's pointer to the shipment."""
    return repo.Write(pointer_item(pointer_of(s), at))


def load(carrier: str, tracking_number: str) -> ShipmentItem | None:
    """The parcel's record item, as stored (one GetItem)."""
    return repo.get(keys.shipment(carrier, tracking_number), ShipmentItem)
