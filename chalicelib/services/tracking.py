"""Carrier events applied to shipments.

Each normalised event (`domain.shipments.CarrierEvent`) is applied in one transaction: the
shipment under its version, the raw event as a `TRACK#` item, the customer's copy in each
order it carries and, when the status moves, the PO's pointer, a `shipment.status_changed`
event and, when the parcel ends, the retirement of its `shipment_late` deadline (a blind delete).
After the commit the tracking execution hears of it (a heartbeat, or the end). So a carrier event
costs one read and one transaction whatever its status (an out-of-order one also reads the
parcel's carrier events; a parcel whose tracking went stale reads its `tracking_stale` exception).

What touches other items follows the `shipment.status_changed` event, in the shipments consumer
(`on_status_changed`): the customer-facing order events (`order.out_for_delivery`, `order.delayed`,
...), completing the deliveries a delivered parcel finishes (`complete_deliveries`), and raising or
clearing the parcel's exceptions. An event recorded by hand (or replayed) does the same at once,
in its own request. Redelivered or out-of-order events never move a shipment backwards (the rule
is in the domain).

Which parcel an event is for is decided in one place, `inbound.apply_carrier_event`: a recorded
shipment's comes here; an event nobody knows the tracking number of is kept under its tracking
number and raised as `unknown_tracking`, and the shipment recorded later replays it here
(`replay_early_events`, on `shipment.recorded`). This module knows shipments only through their
storage mapping (`services.shipment_records`): it imports neither `shipments` nor `complaints`.

When a carrier sends nothing, staff or the supplier record a delivery, a failed attempt or a
return to sender by hand (`record_by_hand`): the same path with a `manual:` carrier code, the
actor, note and photo on the parcel's audit event.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from ..adapters import files, workflows
from ..domain import shipments as rules
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict, Forbidden, NotFound, RuleViolation
from ..domain.orders import DeliveryAction, DeliveryStatus, apply_delivery_action
from ..domain.permissions import READ_STAFF, Principal, Role, roles
from ..domain.shipments import CarrierEvent, Shipment, ShipmentStatus
from ..events import ShipmentStatusChanged
from ..observability import logger
from . import customer_payments, exceptions, uow
from . import shipment_records as sh
from .clock import new_id, now
from .guard import require
from .ports import Change, ClearDeadline, Record, Save
from .ports_common import Versioned
from .ports_purchase_orders import POShipment
from .ports_shipments import ShipmentRecord, TrackEvent
from .retry import on_conflict

RETRIES = 5
FOLLOWS = 1  # the PO's pointer and the customer's copies follow their shipment: saved as they are

# Status changes the customer hears about, as order events (the notification rules pick some up).
ORDER_EVENT: dict[ShipmentStatus, tuple[str, str]] = {
    ShipmentStatus.OUT_FOR_DELIVERY: ("order.out_for_delivery", "Your parcel is out for delivery today."),
    ShipmentStatus.ATTEMPTED: (
        "order.delivery_attempted",
        "The carrier tried to deliver your parcel; see the tracking page for what happens next.",
    ),
    ShipmentStatus.EXCEPTION: ("order.delayed", "The carrier reports a problem with your parcel; it may arrive late."),
    ShipmentStatus.RETURNED_TO_SENDER: (
        "order.delivery_returned",
        "The carrier is returning your parcel to the sender; we will contact you.",
    ),
}
DELIVERY_PROBLEM = (ShipmentStatus.EXCEPTION, ShipmentStatus.RETURNED_TO_SENDER)


def apply_to_shipment(
    loaded: Versioned[ShipmentRecord], event: CarrierEvent, *, webhook_id: str | None = None, replay: bool = False
) -> str:
    """Apply one carrier event to the shipment as loaded; returns what happened (moved:<status>,
    recorded, duplicate). `replay`: the event was kept (its TRACK item exists) before the shipment was
    known. Raises Conflict when the shipment changed since it was read: the caller reads again
    (`retry.on_conflict`). Which parcel an event is for is decided by `services.inbound`."""
    return _apply(loaded, event, webhook_id=webhook_id, replay=replay)[0]


@dataclass(frozen=True)
class Recorder:
    """Who recorded an event by hand and why: on the parcel's audit event (the note is internal:
    never on the bus, never shown to the customer), with the photo among its files."""

    actor: Principal
    note: str
    photo_key: str | None = None


def _apply(
    loaded: Versioned[ShipmentRecord],
    event: CarrierEvent,
    *,
    webhook_id: str | None,
    replay: bool,
    by: Recorder | None = None,
) -> tuple[str, rules.Shipment]:
    """The event applied to the loaded shipment in one transaction, then what follows it (`_after`);
    what happened and the shipment as written. Raises Conflict when the shipment changed since it
    was read (the caller reads again)."""
    record, store = loaded.value, uow.store()
    before = copy.deepcopy(record.shipment)
    s, at = record.shipment, now()
    carrier = s.carrier
    history = _history(carrier, event.tracking_number) if rules.needs_history(s, event) else []
    applied = rules.apply_event(s, event, history)
    change = applied.change
    if replay and not applied.recorded and change is None and s.last_event_at == before.last_event_at:
        return "duplicate", s  # replayed before (the shipment consumer ran again)
    # The shipment under its version, and the carrier event once (created: a redelivery fails there).
    changes: list[Change] = [
        Save(replace(record, shipment=s), loaded.version),
        Save(TrackEvent(carrier, event, at, webhook_id), FOLLOWS if replay else None),
    ]
    if applied.recorded or change is not None:
        changes += [Save(sh.copy_of(s, o, at), FOLLOWS) for o in s.order_ids]
    audit: dict[str, Any] = (
        {} if by is None else {"actor": by.actor, "internal_note": by.note, "files": [by.photo_key] if by.photo_key else []}
    )
    data = {
        "carrier_code": event.carrier_code,
        "occurred_at": rules.utc(event.occurred_at).isoformat(),
        "source": "manual" if event.by_hand else "carrier",
        "description": event.description,
    }
    if change is not None:
        changes += [
            Save(sh.pointer_of(s), FOLLOWS),
            Record(sh.shipment_audit(s, "shipment.status_changed", at, from_status=change.from_status.value, data=data, **audit)),
        ]
        if s.final:  # delivered or returned: no longer late (no read: the deadline goes if it is there)
            changes.append(ClearDeadline("shipment_late", "shipment", s.ref))
    elif by is not None:  # nothing moved (a second failed attempt, an older time): who said what is still kept
        changes.append(
            Record(sh.shipment_audit(s, "shipment.event_recorded", at, from_status=s.status.value, data=data, **audit))
        )
    at_once = by is not None  # recorded by hand: what follows runs in this request, not in the consumer
    try:
        store.commit(changes, what=f"shipment {s.id}", at=at)
    except AlreadyExists:
        _after(before, record, before, None)  # a redelivery still finishes what a first run began
        if at_once:
            follow_up(before, None, None)
        return "duplicate", before
    _after(s, record, before, change, by_hand=event.by_hand)
    if at_once and change is not None:
        follow_up(s, change.to_status, change.event)
    return (f"moved:{change.to_status.value}" if change else "recorded"), s


def _history(carrier: str, tracking_number: str) -> list[CarrierEvent]:
    """Every carrier event recorded for the parcel (one Query; only for an event that arrives
    out of order)."""
    return [t.event for t in uow.store().track_events(carrier, tracking_number)]


def _after(
    s: rules.Shipment,
    record: ShipmentRecord,
    before: rules.Shipment,
    change: rules.StatusChange | None,
    *,
    by_hand: bool = False,
) -> None:
    """What follows a committed event on the webhook's own path: tell the tracking execution (Step
    Functions, no table request), and clear a `tracking_stale` exception of a parcel that went quiet
    (only such a parcel reads it). Each step is idempotent. (`record`: the workflow's fields as read;
    `before`: the shipment as read.)"""
    news = change is not None or s.last_event_at != before.last_event_at  # not a repeat
    who = "recorded by hand" if by_hand else "the carrier reported again"
    if record.task_token:
        if s.final:
            workflows.end_wait(record.task_token, {"outcome": s.status.value})
        elif news:
            workflows.heartbeat(record.task_token)
    if news and record.customer_told_delayed:  # only a parcel that went quiet can have one open
        exceptions.resolve("tracking_stale", "shipment", s.ref, note=who)


def follow_up(s: rules.Shipment, to_status: ShipmentStatus | None, event: CarrierEvent | None) -> None:
    """What a status change means beyond the parcel (`to_status`: the status it moved to; None: a
    redelivery finishing what a first run began): the customer-facing order events, the deliveries a
    delivered parcel finishes, the parcel's exceptions raised or cleared. Runs in the shipments
    consumer for a carrier's webhook (`on_status_changed`), at once for an event recorded by hand."""
    key = s.ref
    if to_status is not None and to_status in ORDER_EVENT and event is not None:
        _tell_orders(s, to_status, event.carrier_code)
    if s.final and (to_status is None or to_status is s.status):
        exceptions.resolve("shipment_late", "shipment", key, note=f"the parcel was {s.status.value}")
    if s.status is ShipmentStatus.DELIVERED:
        complete_deliveries(s)
        exceptions.resolve("delivery_exception", "shipment", key, note="delivered")
    if to_status in DELIVERY_PROBLEM and event is not None:
        exceptions.raise_or_bump(
            "delivery_exception",
            "shipment",
            key,
            {**sh.refs(s), "carrier_code": event.carrier_code, "description": event.description},
            severity="high" if to_status is ShipmentStatus.RETURNED_TO_SENDER else None,
        )


def _tell_orders(s: rules.Shipment, to_status: ShipmentStatus, carrier_code: str) -> None:
    """The customer-facing event on each order the parcel carries: one read of the orders, one transaction."""
    type_, note = ORDER_EVENT[to_status]
    store, at = uow.store(), now()
    records: list[Change] = [
        Record(
            sh.order_audit(o, s, type_, at, customer_note=note, data={"reason": to_status.value, "carrier_code": carrier_code})
        )
        for o in store.parcel_orders(s.order_ids)
    ]
    if records:
        store.commit(records, what=f"shipment {s.id}: its orders told", at=at)


def on_status_changed(event: ShipmentStatusChanged) -> str:
    """The shipments consumer's step for a carrier's `shipment.status_changed`: the parcel as it is now
    (one read), then `follow_up` for the status that event moved it to. Run once per event by the
    consumer's idempotency record (handlers/batch.py)."""
    d = event.data
    found = uow.store().load(ShipmentRecord, d.carrier, d.tracking_number)
    if found is None or (d.shipment_id is not None and found.value.shipment.id != d.shipment_id):
        return "unknown"  # corrected meanwhile: the parcel it named is no longer under this number
    if d.source == "manual":
        return "followed at once"  # recorded by hand: its request did it
    to_status = ShipmentStatus(event.to_status) if event.to_status else None
    carrier_event = CarrierEvent(
        tracking_number=d.tracking_number,
        carrier_code=d.carrier_code or "",
        status=None,
        occurred_at=d.occurred_at or event.at,
        description=d.description or "",
    )
    follow_up(found.value.shipment, to_status, carrier_event)
    return f"followed: {to_status.value if to_status else 'none'}"


def replay_early_events(carrier: str, tracking_number: str) -> int:
    """Carrier events that came before the shipment was recorded (kept as `TRACK#` items by
    `inbound.apply_carrier_event`) are applied to it now, oldest first; the `unknown_tracking`
    problem they raised is resolved. Runs on `shipment.recorded` and `shipment.corrected`."""
    early = uow.store().track_events(carrier, tracking_number)
    for track in sorted(early, key=lambda t: t.event.occurred_at):

        def replay(event: CarrierEvent = track.event, webhook_id: str | None = track.webhook_id) -> str:
            found = uow.store().load(ShipmentRecord, carrier, tracking_number)
            if found is None or found.value.shipment.status is ShipmentStatus.SUPERSEDED:
                return "superseded"  # corrected meanwhile: the events stay kept under this number
            return apply_to_shipment(found, event, webhook_id=webhook_id, replay=True)

        on_conflict(replay, what=f"shipment {rules.parcel_ref(carrier, tracking_number)}")
    if early:
        exceptions.resolve(
            "unknown_tracking", "tracking", rules.parcel_ref(carrier, tracking_number), note="the supplier recorded the shipment"
        )
    return len(early)


def complete_deliveries(s: Shipment) -> int:
    """After a parcel is delivered: each order whose delivery from this supplier has every parcel
    delivered moves to delivered (the order completes when all its deliveries have). Idempotent."""

    def deliver(order_id: str) -> bool:
        store = uow.store()
        trail = store.order_trail(order_id)  # one read: the order with its shipment copies
        if trail is None:
            return False
        order = trail.order
        if order.delivery(s.supplier_id).status is not DeliveryStatus.DISPATCHED:
            return False
        parcels = rules.counted_parcels(
            (ShipmentStatus(c.status), c.created_at, c.status_at) for c in trail.shipments if c.supplier_id == s.supplier_id
        )
        if not rules.delivery_complete(parcels):
            return False
        at = now()
        before = order.status.value
        apply_delivery_action(order, s.supplier_id, DeliveryAction.DELIVER)
        changes: list[Change] = [
            Save(order, trail.version, status_before=before),
            Record(
                sh.order_audit(
                    order,
                    s,
                    "order.delivered",
                    at,
                    from_status=before,
                    to_status=order.status.value,
                    data={"delivery_status": DeliveryStatus.DELIVERED.value},
                )
            ),
            # the collected amount of a pay-on-delivery order, with the delivery that collected it
            *customer_payments.cash_on_delivery_changes(order, s.supplier_id, at),
        ]
        store.commit(changes, what=f"order {order_id}", at=at)
        return True

    return sum(1 for order_id in s.order_ids if on_conflict(partial(deliver, order_id), what=f"order {order_id}"))


# ---------------------------------------------------------------- recorded by hand (issue 16)


@dataclass(frozen=True)
class ByHandResult:
    shipment: rules.Shipment
    version: int
    recorded: bool  # False: the parcel had already ended this way; nothing was written


@dataclass(frozen=True)
class ParcelDetail:
    shipment: rules.Shipment
    version: int
    events: list[AuditEvent]


def _parcel(actor: Principal, po_id: str, shipment_id: str) -> POShipment:
    """The PO's pointer to the parcel (it follows tracking corrections): one GetItem. A supplier
    reaches only its own POs' parcels; anything else is the same 404 as no parcel at all."""
    if not actor.is_staff:
        require(actor, roles(Role.SUPPLIER), "record parcel events")
        if not actor.supplier_id:
            raise Forbidden("your token names no supplier")
    found = uow.store().load(POShipment, po_id, shipment_id)
    if found is None or (not actor.is_staff and found.value.supplier_id != actor.supplier_id):
        raise NotFound(f"shipment {shipment_id} not found on purchase order {po_id}")
    return found.value


def photo_prefix(pointer: POShipment) -> str:
    """Where a parcel's photos go: beside the PO's invoices, one folder per parcel."""
    return f"suppliers/{pointer.supplier_id}/pos/{pointer.po_id}/shipments/{pointer.id}/"


PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def photo_upload(actor: Principal, po_id: str, shipment_id: str, content_type: str) -> files.Upload:
    """A presigned POST for one photo of the parcel (a proof of delivery), at most `upload_max_bytes`."""
    pointer = _parcel(actor, po_id, shipment_id)
    if content_type not in rules.PROOF_PHOTO_TYPES:
        message = f"a photo is one of {', '.join(sorted(rules.PROOF_PHOTO_TYPES))}"
        raise RuleViolation("invalid_photo", message, details=[{"field": "body.content_type", "message": message}])
    return files.presigned_post(f"{photo_prefix(pointer)}{new_id('img')}.{PHOTO_EXTENSIONS[content_type]}", content_type)


def _check_photo(pointer: POShipment, key: str) -> None:
    """The key is an upload for this parcel, and S3 holds an image there (moto does not enforce the
    presigned POST's policy, and neither would a client that forged the form: this is the check)."""
    prefix = photo_prefix(pointer)
    rest = key[len(prefix) :] if key.startswith(prefix) else ""
    if not rest or "/" in rest or ".." in key:
        problem = "not a photo uploaded for this parcel: use the key POST .../photos returned"
    elif (head := files.head(key)) is None:
        problem = f"nothing was uploaded under {key}"
    elif (stored := str(head.get("ContentType", ""))) not in rules.PROOF_PHOTO_TYPES:
        problem = f"the upload is {stored or 'of no declared type'}, not one of {', '.join(sorted(rules.PROOF_PHOTO_TYPES))}"
    else:
        return
    raise RuleViolation("invalid_photo", problem, details=[{"field": "body.photo_key", "message": problem}])


def record_by_hand(
    actor: Principal,
    po_id: str,
    shipment_id: str,
    what: rules.ByHand,
    *,
    note: str,
    at: datetime | None = None,
    photo_key: str | None = None,
    expected_version: int | None = None,
) -> ByHandResult:
    """Staff or the supplier record what the carrier did not report: delivered, a failed attempt,
    returned to sender. The event is a carrier event with a `manual:` code applied by `_apply`, so
    it has every effect the carrier's would (deliveries, the customer's timeline and e-mail,
    counters, captures, the tracking execution, exceptions); the actor, note and photo go on the
    parcel's audit event. A parcel that already ended this way answers as it is (nothing written).
    Requests: 1 GetItem (the PO's pointer) + what a carrier event costs (1 GetItem + 1 transaction,
    then the same follow-ups)."""
    pointer = _parcel(actor, po_id, shipment_id)
    field_ = "body.delivered_at" if what is rules.ByHand.DELIVERED else "body.at"
    if photo_key is not None:
        _check_photo(pointer, photo_key)
    by = Recorder(actor, note, photo_key)

    def record() -> ByHandResult | Conflict:
        # A Conflict that reading again cannot cure is returned, not raised (on_conflict would retry
        # it); a lost race in `_apply` is raised and retried: the parcel may have ended this way meanwhile.
        found = uow.store().load(ShipmentRecord, pointer.carrier, pointer.tracking_number)
        s = found.value.shipment if found is not None else None
        if found is None or s is None or s.id != shipment_id or s.status is ShipmentStatus.SUPERSEDED:
            return Conflict(f"shipment {shipment_id} changed while it was read; try again")
        event = rules.by_hand_event(s, what, at=at, now=now(), by_supplier=not actor.is_staff, at_field=field_)
        if event is None:  # already so, whatever version the caller saw (a double click, a retry)
            return ByHandResult(s, found.version, recorded=False)
        if expected_version is not None and found.version != expected_version:
            return Conflict(f"shipment {shipment_id} is at version {found.version}, not {expected_version}")
        outcome, after = _apply(found, event, webhook_id=None, replay=False, by=by)
        logger.info(
            "parcel event recorded by hand",
            extra={"shipment_id": shipment_id, "what": what.value, "outcome": outcome, "actor": actor.sub},
        )
        written = outcome != "duplicate"
        return ByHandResult(after, found.version + int(written), recorded=written)

    result = on_conflict(record, what=f"shipment {shipment_id}")
    if isinstance(result, Conflict):
        raise result
    return result


def parcel_detail(actor: Principal, po_id: str, shipment_id: str) -> ParcelDetail:
    """A parcel with its audit trail, for staff: the PO's pointer, then one Query of the parcel's
    partition (the record, its events and its TRACK items)."""
    require(actor, READ_STAFF, "read a parcel's history")
    pointer = _parcel(actor, po_id, shipment_id)
    trail = uow.store().parcel_trail(pointer.carrier, pointer.tracking_number)
    if trail is None:
        raise NotFound(f"shipment {shipment_id} not found")
    return ParcelDetail(trail.record.shipment, trail.version, trail.events)
