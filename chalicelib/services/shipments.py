"""Shipments: the supplier records a parcel for its PO (or corrects its tracking number), the
orders it carries are dispatched, and a tracking execution follows it until delivered.

Write path, in order:
1. `record_shipment` (supplier API or supplier webhook), one transaction: the shipment record
   (`SHIPMENT#<carrier>#<tracking>`, which must be new), the PO's pointer to it, a marker per
   order shipped for the first time (so each order counts once towards the shipment stage), those
   orders ADDed to one of the PO's counts (`ShippedCount`: no version, so parcels of one PO never
   wait for each other; the PO itself is not written) and a `shipment.recorded` event. The parcel
   that ships the last order with an accepted delivery writes the PO instead (under its version) and
   completes its shipment stage (SendTaskSuccess, once); parcels recorded at the same moment may each
   miss that they were last, so the consumer looks again (`finish_if_all_shipped`). Afterwards a
   parcel may still carry orders that left before (goods sent again after a return to sender).
2. The `shipment.recorded` event comes back through the shipments queue (`on_recorded`): each
   order's delivery is dispatched with the customer's copy of the shipment and an `order.shipped`
   event (the customer's e-mail), authorise-then-capture payments are captured, carrier events
   that arrived before the shipment was known are replayed, the tracking execution starts, and the
   PO's shipment stage completes if every order has left. Every step is safe to run again.
3. The tracking execution opens a wait (`shipment.tracking_opened`, its task token stored here),
   and carrier events heartbeat it (`services.tracking`); silence past the heartbeat comes back
   as `shipment.tracking_stale` (`on_stale`); delivered or returned ends it.

One direction: this module calls `services.tracking` (replaying early events, finishing deliveries),
never the reverse; carrier webhooks reach tracking through `services.inbound`, the one place that
routes carrier events. Storage is the port's (`services.ports_shipments`: the shipment record, the
PO's shipped markers; the PO's pointer and the customer's copies are its areas' kinds); the kinds and
events every shipment service builds come from `services.shipment_records`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..adapters import workflows
from ..config import settings
from ..domain import purchase_orders as po_rules
from ..domain import shipments as rules
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.orders import DeliveryAction, DeliveryStatus, apply_delivery_action
from ..domain.permissions import SYSTEM, Principal
from ..domain.purchase_orders import Decision, Stage
from ..domain.shipments import Shipment, ShipmentStatus
from ..events import ShipmentCorrected, ShipmentRecorded, TrackingOpened, TrackingStale
from ..observability import logger
from . import escalations, exceptions, stages, tracking, uow
from .clock import new_id, now
from .ports import Change, Record, Save
from .ports_exceptions import Deadline
from .ports_purchase_orders import POShipment
from .ports_shipments import ShipmentRecord, ShippedCount, ShippedOrder
from .retry import on_conflict
from .shipment_records import copy_of, order_audit, pointer_of, refs, shipment_audit
from .tracking import complete_deliveries

RETRIES = 5
SHIPPABLE = (DeliveryStatus.ACCEPTED, DeliveryStatus.DISPATCHED)
# The PO's pointer and the customer's copy follow their shipment: saved as they are, whatever is there.
FOLLOWS = 1


# ---------------------------------------------------------------- recording a shipment


@dataclass
class ShipmentView:
    id: str
    po_id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    order_ids: list[str]
    status: str
    created_at: datetime


def view(s: Shipment) -> ShipmentView:
    return ShipmentView(
        id=s.id,
        po_id=s.po_id,
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        tracking_url=rules.tracking_url(s.carrier, s.tracking_number),
        order_ids=list(s.order_ids),
        status=s.status.value,
        created_at=s.created_at,
    )


def _invalid(field_: str, message: str, code: str = "invalid_shipment") -> RuleViolation:
    return RuleViolation(code, message, details=[{"field": field_, "message": message}])


def record_shipment(actor: Principal, po_id: str, *, carrier: str, tracking_number: str, order_ids: list[str]) -> ShipmentView:
    """Record a parcel of this PO (see the module docstring); 409 if the tracking number is known."""
    rules.carrier(carrier)
    wanted = sorted(set(order_ids))
    if len(wanted) != len(order_ids) or not 0 < len(wanted) <= rules.MAX_ORDERS_PER_SHIPMENT:
        raise _invalid("body.order_ids", f"name 1 to {rules.MAX_ORDERS_PER_SHIPMENT} distinct orders per parcel")

    # A reminder or a stage change may write the PO between the read and the commit: read again and
    # record it then (the supplier named no version), as every change of an aggregate does.
    def attempt() -> ShipmentView | None:
        scope = stages.supplier_scope(actor)
        if scope is not None:  # the supplier names the deliveries' keys: the PO is read with them, one read
            intake = uow.store().shipment_intake(po_id, scope, wanted, carrier, tracking_number, with_po=True)
            loaded = stages.loaded_po(po_id, intake.po, for_supplier=scope)
        else:  # staff: the PO names the supplier whose deliveries these are
            loaded = stages.load_po(po_id)
            intake = uow.store().shipment_intake(po_id, loaded.po.supplier_id, wanted, carrier, tracking_number)
        po = loaded.po
        # After every order has left, a parcel may still carry orders that left before: goods sent again
        # after a return to sender (or a part that was missing). The stage itself is over.
        resend = po.status is po_rules.POStatus.SHIPPED
        if not resend:
            po_rules.require_stage(po, Stage.SHIPMENT)
            if loaded.task_token is None:
                raise InvalidTransition(f"purchase order {po_id}: the shipment stage is not open yet")
        if intake.parcel_known:
            return None
        deliveries = {o: d for o, d in intake.deliveries.items() if d.campaign_id == po.campaign_id}
        unknown = [o for o in wanted if o not in deliveries]
        if unknown:
            raise RuleViolation(
                "unknown_orders",
                f"not orders of this campaign with a delivery from you: {', '.join(unknown)}",
                details=[{"field": "body.order_ids", "message": f"unknown order {o}"} for o in unknown],
            )
        blocked = [o for o in wanted if deliveries[o].status not in SHIPPABLE]
        if blocked:
            raise RuleViolation(
                "order_not_shippable",
                "only accepted orders can ship: " + ", ".join(f"{o} is {deliveries[o].status.value}" for o in blocked),
                details=[{"field": "body.order_ids", "message": f"{o} is {deliveries[o].status.value}"} for o in blocked],
            )
        newly = [o for o in wanted if o not in intake.shipped_before]
        if resend and newly:
            raise InvalidTransition(
                f"purchase order {po_id} is shipped: a further parcel can only carry orders that left before, "
                f"not {', '.join(newly)}"
            )
        at = now()
        s = Shipment(
            id=new_id("shp"),
            carrier=carrier,
            tracking_number=tracking_number,
            po_id=po_id,
            supplier_id=po.supplier_id,
            campaign_id=po.campaign_id,
            order_ids=wanted,
            created_at=at,
        )
        changes: list[Change] = [
            Save(ShipmentRecord(s), None),
            Save(pointer_of(s), FOLLOWS),
            Record(shipment_audit(s, "shipment.recorded", at, actor=actor, data={"new_order_ids": newly})),
            *(Save(ShippedOrder(po_id, o, s.id, at), None) for o in newly),
            Save(late_deadline(s), None),
        ]
        event_data = {"shipment_id": s.id, "carrier": carrier, "tracking_number": tracking_number, "order_ids": wanted}
        if not resend and po_rules.completes_shipment(po, len(newly)):
            # The parcel that ships the last order ends the stage: the one write of the PO itself a
            # parcel makes (under its version: a parcel that raced it is read again and sees it shipped).

            def finish(p: po_rules.PurchaseOrder) -> Decision:
                return po_rules.record_shipment(p, len(newly)) or Decision.DONE

            stages.complete_stage(actor, po_id, Stage.SHIPMENT, finish, loaded=loaded, extra=changes, event_data=event_data)
            return view(s)
        # Any other parcel leaves the PO as it is: its orders are ADDed to one of the PO's counts (no
        # version), so parcels of one PO never wait for each other; the markers above, created once in
        # the same transaction, keep each order counted once.
        where = po.status.value if resend else Stage.SHIPMENT.value
        event = AuditEvent(
            id=new_id("evt"),
            subject_type="po",
            subject_id=po_id,
            type="po.shipment_added",
            actor=actor,
            at=at,
            from_status=where,
            to_status=where,
            data={
                "po_id": po_id,
                "campaign_id": po.campaign_id,
                "supplier_id": po.supplier_id,
                "orders_shipped": po.orders_shipped + len(newly),  # at least: parcels recorded meanwhile add theirs
                "orders_to_ship": po.orders_to_ship,
                **event_data,
            },
        )
        counted = [Save(ShippedCount(po_id, s.id, len(newly)), FOLLOWS)] if newly else []
        uow.store().commit([Record(event), *changes, *counted], what=f"purchase order {po_id}", at=at)
        return view(s)

    recorded = on_conflict(attempt, what=f"purchase order {po_id}")
    if recorded is None:
        raise AlreadyExists(f"tracking number {tracking_number} ({carrier}) is already recorded")
    return recorded


def late_deadline(s: Shipment) -> Deadline:
    """The parcel is late (`shipment_late`) unless delivered within the expected time of its dispatch.
    Created with the parcel (a parcel's ref is never recorded twice, so none is there before)."""
    due = s.created_at + timedelta(seconds=settings().delivery_expected_within_s)
    return Deadline("shipment_late", "shipment", s.ref, due, refs(s))


def correct_tracking(actor: Principal, po_id: str, shipment_id: str, *, carrier: str, tracking_number: str) -> ShipmentView:
    """Replace a wrong tracking number: the old record is superseded, a new one takes over (same id
    and orders), and each customer is told once (`order.tracking_corrected`). The number the parcel
    already has (a repeated correction) changes nothing: the parcel as it is, nothing written or sent."""
    stages.load_po(po_id, for_supplier=stages.supplier_scope(actor))  # 404 unless the caller's PO

    def attempt() -> tuple[Shipment, Shipment | None]:
        store = uow.store()
        pointer = store.load(POShipment, po_id, shipment_id)
        if pointer is None:
            raise NotFound(f"shipment {shipment_id} not found on purchase order {po_id}")
        current = store.load(ShipmentRecord, pointer.value.carrier, pointer.value.tracking_number)
        if current is None:
            raise NotFound(f"shipment {shipment_id} not found")
        old = current.value.shipment
        if (carrier, tracking_number) == (old.carrier, old.tracking_number):
            return old, None  # a repeat (a retry, a double click): nothing to change or tell
        if store.load(ShipmentRecord, carrier, tracking_number) is not None:
            raise AlreadyExists(f"tracking number {tracking_number} ({carrier}) is already recorded")
        new = rules.correct_tracking(old, carrier, tracking_number)
        at = now()
        orders = store.parcel_orders(new.order_ids)
        note = (
            f"The supplier corrected the tracking number of your parcel: it is now {tracking_number} "
            f"with {rules.carrier(carrier).name}."
        )
        changes: list[Change] = [
            Save(replace(current.value, shipment=old, superseded_by=new.ref, task_token=None), current.version),
            Save(ShipmentRecord(new), None),
            Save(pointer_of(new), FOLLOWS),
            Record(
                shipment_audit(
                    new,
                    "shipment.corrected",
                    at,
                    actor=actor,
                    data={
                        "previous_carrier": old.carrier,
                        "previous_tracking_number": old.tracking_number,
                        "previous_execution_arn": current.value.execution_arn,
                    },
                )
            ),
            *(Save(copy_of(new, o.id, at), FOLLOWS) for o in orders),
            *(
                Record(
                    order_audit(
                        o,
                        new,
                        "order.tracking_corrected",
                        at,
                        customer_note=note,
                        data={"previous_tracking_number": old.tracking_number},
                    )
                )
                for o in orders
            ),
            Save(late_deadline(new), None),
        ]
        store.commit(changes, what=f"shipment {shipment_id}", at=at)
        return old, new

    # The tracking consumer writes the record too (its task token): a lost race is read again.
    old, new = on_conflict(attempt, what=f"shipment {shipment_id}")
    if new is None:
        return view(old)
    escalations.clear_deadline("shipment", old.ref, "shipment_late")
    return view(new)


# ---------------------------------------------------------------- consumers (shipments queue)


def on_recorded(event: ShipmentRecorded) -> str:
    """Dispatch each order carried, capture what is due, replay early carrier events, start tracking."""
    from . import capture

    data = event.data
    found = uow.store().load(ShipmentRecord, data.carrier, data.tracking_number)
    if found is None:
        raise NotFound(f"shipment {data.carrier}#{data.tracking_number} not found")
    s = found.value.shipment
    for order_id in s.order_ids:
        _dispatch(order_id, s)
    # The carrier may have delivered it before or while the orders were dispatched here; tracking
    # could not finish a delivery not yet dispatched, so finish it now, from the parcel as it is now.
    latest = uow.store().load(ShipmentRecord, data.carrier, data.tracking_number)
    if latest is not None and latest.value.shipment.status is ShipmentStatus.DELIVERED:
        complete_deliveries(latest.value.shipment)
    if s.status is not ShipmentStatus.SUPERSEDED:
        tracking.replay_early_events(s.carrier, s.tracking_number)
        start_tracking(s)
    finish_if_all_shipped(s.po_id)
    # Last: a gateway that does not answer fails the message, and the redelivery (every step above
    # is idempotent) captures again with the same key; tracking does not wait for the gateway.
    for order_id in s.order_ids:
        capture.capture_delivery(order_id, s.supplier_id)
    return "dispatched"


def finish_if_all_shipped(po_id: str) -> bool:
    """Complete the shipment stage if every order to ship has left (True), else nothing (one read).

    The parcel that ships the last order completes the stage as it is recorded, when it sees so. Parcels
    recorded at the same moment each read the PO's counts before the others added theirs, so the last
    of them may not see it: the shipments consumer looks again after each parcel, when its count is in,
    and whoever finds every order counted completes the stage (under the PO's version: once)."""
    try:
        loaded = stages.load_po(po_id)
    except NotFound:
        return False
    po = loaded.po
    if po.status is not po_rules.POStatus.OPEN or po.stage is not Stage.SHIPMENT or loaded.task_token is None:
        return False
    if not po_rules.completes_shipment(po, 0):
        return False

    def finish(p: po_rules.PurchaseOrder) -> Decision:
        return po_rules.record_shipment(p, 0) or Decision.DONE

    try:
        stages.complete_stage(SYSTEM, po_id, Stage.SHIPMENT, finish, loaded=loaded, internal_note="every order to ship has left")
    except InvalidTransition:  # completed meanwhile (by the parcel itself, or another consumer)
        return False
    return True


def on_corrected(event: ShipmentCorrected) -> str:
    data = event.data
    if data.previous_execution_arn:
        workflows.stop_execution(data.previous_execution_arn, cause="tracking number corrected")
    found = uow.store().load(ShipmentRecord, data.carrier, data.tracking_number)
    if found is None or found.value.shipment.status is ShipmentStatus.SUPERSEDED:
        return "superseded"
    s = found.value.shipment
    tracking.replay_early_events(s.carrier, s.tracking_number)
    start_tracking(s)
    return "tracking"


def start_tracking(s: Shipment) -> str | None:
    cfg = settings()
    return workflows.start_delivery_tracking(
        f"{s.id}-{s.corrections}",
        {
            "shipment_id": s.id,
            "carrier": s.carrier,
            "tracking_number": s.tracking_number,
            "stale_after_s": cfg.tracking_stale_after_s,
            "give_up_after_s": cfg.tracking_give_up_after_s,
        },
    )


def _dispatch(order_id: str, s: Shipment) -> None:
    """Move the order's delivery from this supplier to dispatched (first parcel) and give the customer
    their copy of the shipment; an order already carrying the copy is left alone."""

    def dispatch() -> None:
        store = uow.store()
        trail = store.order_trail(order_id)  # one read: the order with its shipment copies
        if trail is None:
            logger.warning("order of a shipment not found", extra={"order_id": order_id, "shipment_id": s.id})
            return
        order = trail.order
        has_copy = any(c.shipment_id == s.id for c in trail.shipments)
        if has_copy and order.delivery(s.supplier_id).status is not DeliveryStatus.ACCEPTED:
            return
        # (A copy with the delivery still accepted: carrier events for the parcel were applied before
        # this consumer ran; they wrote the copy, newer than the parcel read here: keep it, and
        # dispatch the delivery now.)
        at = now()
        changes: list[Change] = [] if has_copy else [Save(copy_of(s, order_id, at), FOLLOWS)]
        before = order.status.value
        if order.delivery(s.supplier_id).status is DeliveryStatus.ACCEPTED:
            apply_delivery_action(order, s.supplier_id, DeliveryAction.DISPATCH)
            changes.append(Save(order, trail.version, status_before=before))
        changes.append(
            Record(
                order_audit(
                    order,
                    s,
                    "order.shipped",
                    at,
                    from_status=before,
                    to_status=order.status.value,
                    customer_note=f"Your parcel is on its way with {rules.carrier(s.carrier).name}: "
                    f"tracking number {s.tracking_number}.",
                )
            )
        )
        store.commit(changes, what=f"order {order_id}", at=at)

    on_conflict(dispatch, what=f"order {order_id}")


def on_tracking_opened(event: TrackingOpened) -> str:
    """The tracking execution waits for the carrier: keep its token (heartbeats and the end go to it).
    A shipment already at its end (or superseded) ends the execution at once."""
    token, arn = event.task_token, event.execution_arn

    def store() -> str:
        found = uow.store().load(ShipmentRecord, event.carrier, event.tracking_number)
        record = found.value if found is not None else None
        if found is None or record is None or record.shipment.id != event.shipment_id or record.shipment.final:
            outcome = record.shipment.status.value if record is not None else "unknown"
            workflows.send_task_success(token, {"outcome": outcome})
            return f"ended: {outcome}"
        if record.task_token == token:
            return "already stored"
        uow.store().commit(
            [Save(replace(record, task_token=token, execution_arn=arn), found.version)],
            what=f"shipment {record.shipment.id}",
            at=now(),
        )
        return "stored"

    return on_conflict(store, what=f"shipment {event.shipment_id}")


def on_stale(event: TrackingStale) -> str:
    """No carrier event for the stale threshold: raise `tracking_stale` (its `exception.raised` event asks
    the supplier to check the parcel: services/notify.py), tell each customer once that the parcel is
    delayed. The execution waits again on its own.

    Run once per event by the consumer's idempotency record (handlers/batch.py), which is deleted when
    this fails, so a redelivery does the work; the customer is told once (`customer_told_delayed`)."""
    found = uow.store().load(ShipmentRecord, event.carrier, event.tracking_number)
    if found is None or found.value.shipment.id != event.shipment_id:
        return "unknown"
    s = found.value.shipment
    cfg = settings()
    abandoned = event.abandoned
    if not abandoned and not rules.stale(s, now(), cfg.tracking_stale_after_s):
        return "not stale"
    if not found.value.customer_told_delayed:
        _tell_delayed(found.value, found.version)
    # Last, so a failure before it leaves nothing to repeat: a redelivery finds the customer told.
    exceptions.raise_or_bump(
        "tracking_stale",
        "shipment",
        s.ref,
        {**refs(s), "last_event_at": s.last_event_at.isoformat() if s.last_event_at else None, "abandoned": abandoned},
        severity="high" if abandoned else None,
    )
    return "abandoned" if abandoned else "stale"


def _tell_delayed(record: ShipmentRecord, version: int) -> None:
    s, at = record.shipment, now()
    store = uow.store()
    orders = store.parcel_orders(s.order_ids)
    note = (
        f"Your parcel with {rules.carrier(s.carrier).name} ({s.tracking_number}) has had no tracking update "
        "for a while. We have asked the supplier and the carrier and will keep you posted."
    )
    try:
        store.commit(
            [
                Save(replace(record, customer_told_delayed=True, stale_count=record.stale_count + 1), version),
                *(
                    Record(order_audit(o, s, "order.delayed", at, customer_note=note, data={"reason": "tracking_stale"}))
                    for o in orders
                ),
            ],
            what=f"shipment {s.id}",
            at=at,
        )
    except Conflict:
        logger.info("shipment changed while telling customers of a delay; a carrier event came in", extra={"shipment_id": s.id})
