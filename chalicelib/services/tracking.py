"""Carrier events applied to shipments.

Each normalised event (`domain.shipments.CarrierEvent`) is applied in one transaction: the
shipment under its version, the raw event as a `TRACK#` item, the customer's copy in each
order it carries and, when the status moves, the PO's pointer, a `shipment.status_changed`
event and the customer-facing order events (`order.out_for_delivery`, `order.delayed`, ...).
After the commit the tracking execution hears of it (a heartbeat, or the end), and a delivered
parcel completes the deliveries it finishes. Redelivered or out-of-order events never move a
shipment backwards (the rule is in the domain), and an event nobody knows the tracking number
of is kept under its tracking number and raised as `unknown_tracking`; the shipment recorded
later replays it.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from ..adapters import workflows
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import Item, OrderItem, ShipmentItem, TrackEventItem
from ..domain import shipments as rules
from ..domain.errors import AlreadyExists, Conflict
from ..domain.shipments import CarrierEvent, ShipmentStatus
from . import complaints, escalations, exceptions
from . import shipments as sh
from .clock import now

logger = Logger(service="waybill")
RETRIES = 5

# Status changes the customer hears about, as order events (the notification rules pick some up).
ORDER_EVENT: dict[ShipmentStatus, tuple[str, str]] = {
    ShipmentStatus.OUT_FOR_DELIVERY: ("order.out_for_delivery", "Your parcel is out for delivery today."),
    ShipmentStatus.ATTEMPTED: ("order.delivery_attempted",
                               "The carrier tried to deliver your parcel; see the tracking page for what happens next."),
    ShipmentStatus.EXCEPTION: ("order.delayed", "The carrier reports a problem with your parcel; it may arrive late."),
    ShipmentStatus.RETURNED_TO_SENDER: ("order.delivery_returned",
                                        "The carrier is returning your parcel to the sender; we will contact you."),
}
DELIVERY_PROBLEM = (ShipmentStatus.EXCEPTION, ShipmentStatus.RETURNED_TO_SENDER)


def apply_events(carrier: str, events: list[CarrierEvent], *, webhook_id: str | None = None) -> list[str]:
    return [apply_event(carrier, event, webhook_id=webhook_id) for event in events]


def apply_event(carrier: str, event: CarrierEvent, *, webhook_id: str | None = None, replay: bool = False) -> str:
    """Apply one carrier event; returns what happened (moved:<status>, recorded, duplicate, ...).
    `replay`: the event was kept (its TRACK item exists) before the shipment was known."""
    for attempt in range(RETRIES):
        item = sh.load(carrier, event.tracking_number)
        at = now()
        track = sh.track_event_write(carrier, event, webhook_id, at)
        if item is None or item.status == ShipmentStatus.SUPERSEDED.value:
            parcel = complaints.parcel_for(carrier, event.tracking_number) if item is None else None
            if parcel is not None:  # a complaint's return or replacement parcel
                try:
                    repo.commit([repo.Write(track.item, None if replay else Item.PK.does_not_exist())],
                                what=f"tracking {carrier}#{event.tracking_number}", unique_at=0)
                except AlreadyExists:
                    if not replay:
                        return "duplicate"
                return complaints.on_parcel_event(parcel, event)
            repo.commit([track], what=f"tracking {carrier}#{event.tracking_number}")
            if item is None:
                exceptions.raise_or_bump("unknown_tracking", "tracking", f"{carrier}#{event.tracking_number}",
                                         {"carrier": carrier, "tracking_number": event.tracking_number,
                                                    "carrier_code": event.carrier_code, "webhook_id": webhook_id})
                return "unknown_tracking"
            return "superseded"
        s = sh.shipment_from_item(item)
        history = _history(carrier, event.tracking_number) if rules.needs_history(s, event) else []
        applied = rules.apply_event(s, event, history)
        change = applied.change
        if replay and not applied.recorded and change is None and s.last_event_at == item.last_event_at:
            return "duplicate"  # replayed before (the shipment consumer ran again)
        # The shipment under its version, and the carrier event once (its TRACK item must be new).
        writes = [sh.shipment_item(s, at=at, version=int(item.version), previous=item),
                  repo.Write(track.item, None if replay else Item.PK.does_not_exist())]
        if applied.recorded or change is not None:
            writes += [sh.order_copy(s, o, at) for o in s.order_ids]
        if change is not None:
            writes += [sh.po_pointer(s, at),
                       sh.shipment_event(s, "shipment.status_changed", at, from_status=change.from_status.value,
                                         data={"carrier_code": event.carrier_code,
                                               "occurred_at": rules.utc(event.occurred_at).isoformat()})]
            if change.to_status in ORDER_EVENT:
                type_, note = ORDER_EVENT[change.to_status]
                orders = [i for i in repo.batch_get(keys.order(o) for o in s.order_ids) if isinstance(i, OrderItem)]
                writes += [sh.order_event(o, s, type_, at, customer_note=note,
                                          data={"reason": change.to_status.value, "carrier_code": event.carrier_code})
                           for o in orders]
        try:
            repo.commit(writes, what=f"shipment {s.id}", unique_at=1)
        except AlreadyExists:
            _after(sh.shipment_from_item(item), item, None)  # a redelivery still finishes what a first run began
            return "duplicate"
        except Conflict:
            if attempt == RETRIES - 1:
                raise
            continue
        _after(s, item, change)
        return f"moved:{change.to_status.value}" if change else "recorded"
    raise AssertionError("unreachable")


def _history(carrier: str, tracking_number: str) -> list[CarrierEvent]:
    """Every carrier event recorded for the parcel (one Query; only for an event that arrives
    out of order)."""
    return [sh.track_event_from_item(i) for i in repo.query_all(
        keys.shipment_pk(carrier, tracking_number), range_key_condition=Item.SK.startswith(keys.TRACK_PREFIX))
        if isinstance(i, TrackEventItem)]


def _after(s: rules.Shipment, item: ShipmentItem, change: rules.StatusChange | None) -> None:
    """What follows a committed event: tell the tracking execution, finish deliveries, raise or
    clear the problems it shows. Each step is idempotent."""
    news = change is not None or s.last_event_at != item.last_event_at  # not a repeat
    if item.task_token:
        if s.final:
            workflows.end_wait(item.task_token, {"outcome": s.status.value})
        elif news:
            workflows.heartbeat(item.task_token)
    key = f"{s.carrier}#{s.tracking_number}"
    if news and item.customer_told_delayed:  # only a parcel that went quiet can have one open
        exceptions.resolve("tracking_stale", "shipment", key, note="the carrier reported again")
    if s.final and change is not None:  # delivered or returned: no longer late
        escalations.clear_deadline("shipment", key, "shipment_late")
        exceptions.resolve("shipment_late", "shipment", key, note=f"the parcel was {s.status.value}")
    if s.status is ShipmentStatus.DELIVERED:
        sh.complete_deliveries(s)
        exceptions.resolve("delivery_exception", "shipment", key, note="delivered")
    if change is not None and change.to_status in DELIVERY_PROBLEM:
        exceptions.raise_or_bump("delivery_exception", "shipment", key,
                                 {**sh.refs(s), "carrier_code": change.event.carrier_code,
                                  "description": change.event.description},
                                 severity="high" if change.to_status is ShipmentStatus.RETURNED_TO_SENDER else None)


def replay_early_events(carrier: str, tracking_number: str) -> int:
    """Carrier events that came before the shipment was recorded (kept as `TRACK#` items) are
    applied now, oldest first; the `unknown_tracking` problem they raised is resolved."""
    early = [i for i in repo.query_all(keys.shipment_pk(carrier, tracking_number),
                                       range_key_condition=Item.SK.startswith(keys.TRACK_PREFIX))
             if isinstance(i, TrackEventItem)]
    for track in sorted(early, key=lambda t: t.occurred_at):
        apply_event(carrier, sh.track_event_from_item(track), webhook_id=track.webhook_id, replay=True)
    if early:
        exceptions.resolve("unknown_tracking", "tracking", f"{carrier}#{tracking_number}",
                           note="the supplier recorded the shipment")
    return len(early)
