"""Shipments consumer: a recorded or corrected shipment, and the tracking workflow's own events
(which carry no type: an opened wait has a task token, a stale one a `stale_at`)."""

from __future__ import annotations

from typing import Any

from ..services import shipments


def handle(event: dict[str, Any]) -> str:
    kind = event.get("type")
    if kind == "shipment.recorded":
        return shipments.on_recorded(event)
    if kind == "shipment.corrected":
        return shipments.on_corrected(event)
    if event.get("task_token"):
        return shipments.on_tracking_opened(event)
    if event.get("stale_at"):
        return shipments.on_stale(event)
    return "ignored"
