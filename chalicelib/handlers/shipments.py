"""Shipments consumer: a recorded or corrected shipment, a carrier's status change (what follows it
beyond the parcel: services/tracking.py), and the tracking workflow's own events (an opened wait
with its task token, a stale or abandoned parcel)."""

from __future__ import annotations

from ..events import Event, ShipmentCorrected, ShipmentRecorded, ShipmentStatusChanged, TrackingOpened, TrackingStale
from ..services import shipments, tracking
from ..topology import SHIPMENTS as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> str:
    if isinstance(event, ShipmentRecorded):
        return shipments.on_recorded(event)
    if isinstance(event, ShipmentCorrected):
        return shipments.on_corrected(event)
    if isinstance(event, ShipmentStatusChanged):
        return tracking.on_status_changed(event)
    if isinstance(event, TrackingOpened):
        return shipments.on_tracking_opened(event)
    if isinstance(event, TrackingStale):
        return shipments.on_stale(event)
    return "ignored"
