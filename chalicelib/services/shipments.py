"""Shipments: the supplier records a parcel for its PO (or corrects its tracking number), the
orders it carries are dispatched, and a tracking execution follows it until delivered.

Write path, in order:
1. `record_shipment` (supplier API or supplier webhook), one transaction: the shipment record
   (`SHIPMENT#<carrier>#<tracking>`, which must be new), the PO's pointer to it, a marker per
   order shipped for the first time (so each order counts once towards the shipment stage), the
   PO under its version and a `shipment.recorded` event. When every order with an accepted
   delivery has left, the PO's shipment stage completes (SendTaskSuccess, once). Afterwards a
   parcel may still carry orders that left before (goods sent again after a return to sender).
2. The `shipment.recorded` event comes back through the shipments queue (`on_recorded`): each
   order's delivery is dispatched with the customer's copy of the shipment and an `order.shipped`
   event (the customer's e-mail), authorise-then-capture payments are captured, carrier events
   that arrived before the shipment was known are replayed, and the tracking execution starts.
   Every step is safe to run again.
3. The tracking execution opens a wait (`shipment.tracking_opened`, its task token stored here),
   and carrier events heartbeat it (`services.tracking`); silence past the heartbeat comes back
   as `shipment.tracking_stale` (`on_stale`); delivered or returned ends it.

One direction: this module calls `services.tracking` (replaying early events, finishing deliveries),
never the reverse; both map items through `services.shipment_records`, and carrier webhooks reach
tracking through `services.inbound`, the one place that routes carrier events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..adapters import workflows
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import (
    DeliveryIndexItem,
    OrderItem,
    OrderShipmentItem,
    POShipmentItem,
    POShippedOrderItem,
    ShipmentItem,
)
from ..config import settings
from ..domain import purchase_orders as po_rules
from ..domain import shipments as rules
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.orders import DeliveryAction, DeliveryStatus, apply_delivery_action
from ..domain.permissions import Principal
from ..domain.purchase_orders import Decision, Stage
from ..domain.shipments import Shipment, ShipmentStatus
from ..events import ShipmentCorrected, ShipmentRecorded, TrackingOpened, TrackingStale
from ..observability import logger
from . import escalations, exceptions, stages, tracking
from .clock import new_id, now
from .retry import on_conflict
from .shipment_records import (  # the mapping lives there (tests and callers may still name it from here)
    load,
    order_copy,
    order_event,
    po_pointer,
    refs,
    shipment_event,
    shipment_from_item,
    shipment_item,
)
from .tracking import complete_deliveries

RETRIES = 5
SHIPPABLE = (DeliveryStatus.ACCEPTED, DeliveryStatus.DISPATCHED)


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
    loaded = stages.load_po(po_id, for_supplier=stages.supplier_scope(actor))
    po = loaded.po
    # After every order has left, a parcel may still carry orders that left before: goods sent again
    # after a return to sender (or a part that was missing). The stage itself is over.
    resend = po.status is po_rules.POStatus.SHIPPED
    if not resend:
        po_rules.require_stage(po, Stage.SHIPMENT)
        if loaded.task_token is None:
            raise InvalidTransition(f"purchase order {po_id}: the shipment stage is not open yet")
    found = repo.batch_get(
        [
            *(keys.delivery(o, po.supplier_id) for o in wanted),
            *(keys.po_shipped_order(po_id, o) for o in wanted),
            keys.shipment(carrier, tracking_number),
        ]
    )
    if any(isinstance(i, ShipmentItem) for i in found):
        raise AlreadyExists(f"tracking number {tracking_number} ({carrier}) is already recorded")
    deliveries = {i.order_id: i for i in found if isinstance(i, DeliveryIndexItem) and i.campaign_id == po.campaign_id}
    unknown = [o for o in wanted if o not in deliveries]
    if unknown:
        raise RuleViolation(
            "unknown_orders",
            f"not orders of this campaign with a delivery from you: {', '.join(unknown)}",
            details=[{"field": "body.order_ids", "message": f"unknown order {o}"} for o in unknown],
        )
    blocked = [o for o in wanted if DeliveryStatus(deliveries[o].delivery_status) not in SHIPPABLE]
    if blocked:
        raise RuleViolation(
            "order_not_shippable",
            "only accepted orders can ship: " + ", ".join(f"{o} is {deliveries[o].delivery_status}" for o in blocked),
            details=[{"field": "body.order_ids", "message": f"{o} is {deliveries[o].delivery_status}"} for o in blocked],
        )
    shipped_before = {i.order_id for i in found if isinstance(i, POShippedOrderItem)}
    newly = [o for o in wanted if o not in shipped_before]
    if resend and newly:
        raise InvalidTransition(
            f"purchase order {po_id} is shipped: a further parcel can only carry orders that left before, not {', '.join(newly)}"
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
    writes = [
        shipment_item(s, at=at, version=None),
        po_pointer(s, at),
        shipment_event(s, "shipment.recorded", at, actor=actor, data={"new_order_ids": newly}),
        *(
            repo.new_item(POShippedOrderItem(*keys.po_shipped_order(po_id, o), po_id=po_id, order_id=o, shipment_id=s.id, at=at))
            for o in newly
        ),
        late_deadline(s),
    ]
    event_data = {"shipment_id": s.id, "carrier": carrier, "tracking_number": tracking_number, "order_ids": wanted}
    will_complete = not resend and po.orders_to_ship is not None and po.orders_shipped + len(newly) >= po.orders_to_ship
    if will_complete:

        def finish(p: po_rules.PurchaseOrder) -> Decision:
            return po_rules.record_shipment(p, len(newly)) or Decision.DONE

        stages.complete_stage(actor, po_id, Stage.SHIPMENT, finish, loaded=loaded, extra_writes=writes, event_data=event_data)
    else:
        if not resend:
            po_rules.record_shipment(po, len(newly))
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
                "orders_shipped": po.orders_shipped,
                "orders_to_ship": po.orders_to_ship,
                **event_data,
            },
        )
        repo.commit([loaded.write(at), repo.event_write(keys.po_pk(po_id), event), *writes], what=f"purchase order {po_id}")
    return view(s)


def late_deadline(s: Shipment) -> repo.Write:
    """The parcel is late (`shipment_late`) unless delivered within the expected time of its dispatch."""
    return escalations.deadline_write(
        "shipment",
        s.ref,
        "shipment_late",
        s.created_at + timedelta(seconds=settings().delivery_expected_within_s),
        refs(s),
    )


def correct_tracking(actor: Principal, po_id: str, shipment_id: str, *, carrier: str, tracking_number: str) -> ShipmentView:
    """Replace a wrong tracking number: the old record is superseded, a new one takes over (same id
    and orders), and each customer is told once (`order.tracking_corrected`). The number the parcel
    already has (a repeated correction) changes nothing: the parcel as it is, nothing written or sent."""
    stages.load_po(po_id, for_supplier=stages.supplier_scope(actor))  # 404 unless the caller's PO
    pointer = repo.get(keys.po_child(po_id, "SHIPMENT", shipment_id), POShipmentItem)
    if pointer is None:
        raise NotFound(f"shipment {shipment_id} not found on purchase order {po_id}")
    current = load(pointer.carrier, pointer.tracking_number)
    if current is None:
        raise NotFound(f"shipment {shipment_id} not found")
    if (carrier, tracking_number) == (current.carrier, current.tracking_number):
        return view(shipment_from_item(current))  # a repeat (a retry, a double click): nothing to change or tell
    if load(carrier, tracking_number) is not None:
        raise AlreadyExists(f"tracking number {tracking_number} ({carrier}) is already recorded")
    old = shipment_from_item(current)
    new = rules.correct_tracking(old, carrier, tracking_number)
    at = now()
    orders = [i for i in repo.batch_get(keys.order(o) for o in new.order_ids) if isinstance(i, OrderItem)]
    note = (
        f"The supplier corrected the tracking number of your parcel: it is now {tracking_number} "
        f"with {rules.carrier(carrier).name}."
    )
    writes = [
        shipment_item(
            old,
            at=at,
            version=int(current.version),
            previous=current,
            superseded_by=new.ref,
            task_token=None,
        ),
        shipment_item(new, at=at, version=None),
        po_pointer(new, at),
        shipment_event(
            new,
            "shipment.corrected",
            at,
            actor=actor,
            data={
                "previous_carrier": old.carrier,
                "previous_tracking_number": old.tracking_number,
                "previous_execution_arn": current.execution_arn,
            },
        ),
        *(order_copy(new, o.id, at) for o in orders),
        *(
            order_event(
                o, new, "order.tracking_corrected", at, customer_note=note, data={"previous_tracking_number": old.tracking_number}
            )
            for o in orders
        ),
        late_deadline(new),
    ]
    repo.commit(writes, what=f"shipment {shipment_id}")
    escalations.clear_deadline("shipment", old.ref, "shipment_late")
    return view(new)


# ---------------------------------------------------------------- consumers (shipments queue)


def on_recorded(event: ShipmentRecorded) -> str:
    """Dispatch each order carried, capture what is due, replay early carrier events, start tracking."""
    from . import capture

    data = event.data
    item = load(data.carrier, data.tracking_number)
    if item is None:
        raise NotFound(f"shipment {data.carrier}#{data.tracking_number} not found")
    s = shipment_from_item(item)
    for order_id in s.order_ids:
        _dispatch(order_id, s)
    if s.status is ShipmentStatus.DELIVERED:  # it arrived before it was dispatched here: finish it
        complete_deliveries(s)
    if s.status is not ShipmentStatus.SUPERSEDED:
        tracking.replay_early_events(s.carrier, s.tracking_number)
        start_tracking(s)
    # Last: a gateway that does not answer fails the message, and the redelivery (every step above
    # is idempotent) captures again with the same key; tracking does not wait for the gateway.
    for order_id in s.order_ids:
        capture.capture_delivery(order_id, s.supplier_id)
    return "dispatched"


def on_corrected(event: ShipmentCorrected) -> str:
    data = event.data
    if data.previous_execution_arn:
        workflows.stop_execution(data.previous_execution_arn, cause="tracking number corrected")
    item = load(data.carrier, data.tracking_number)
    if item is None or item.status == ShipmentStatus.SUPERSEDED.value:
        return "superseded"
    s = shipment_from_item(item)
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
        items = repo.query_all(keys.order_pk(order_id))
        meta = next((i for i in items if isinstance(i, OrderItem)), None)
        if meta is None:
            logger.warning("order of a shipment not found", extra={"order_id": order_id, "shipment_id": s.id})
            return
        order = repo.order_from_item(meta)
        has_copy = any(isinstance(i, OrderShipmentItem) and i.shipment_id == s.id for i in items)
        if has_copy and order.delivery(s.supplier_id).status is not DeliveryStatus.ACCEPTED:
            return
        # (A copy with the delivery still accepted: carrier events for the parcel were applied before
        # this consumer ran; they wrote the copy, and the delivery is dispatched now.)
        at = now()
        writes: list[repo.Write | repo.Update] = [order_copy(s, order_id, at)]
        before = order.status.value
        if order.delivery(s.supplier_id).status is DeliveryStatus.ACCEPTED:
            apply_delivery_action(order, s.supplier_id, DeliveryAction.DISPATCH)
            writes += repo.order_writes(order, version=int(meta.version), now=at)
            writes += repo.order_status_counts(order_id, before, order.status.value)
        writes.append(
            order_event(
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
        repo.commit(writes, what=f"order {order_id}")

    on_conflict(dispatch, what=f"order {order_id}")


def on_tracking_opened(event: TrackingOpened) -> str:
    """The tracking execution waits for the carrier: keep its token (heartbeats and the end go to it).
    A shipment already at its end (or superseded) ends the execution at once."""
    token, arn = event.task_token, event.execution_arn

    def store() -> str:
        item = load(event.carrier, event.tracking_number)
        if item is None or item.id != event.shipment_id or item.status in {s.value for s in rules.FINAL}:
            outcome = item.status if item is not None else "unknown"
            workflows.send_task_success(token, {"outcome": outcome})
            return f"ended: {outcome}"
        if item.task_token == token:
            return "already stored"
        s = shipment_from_item(item)
        repo.commit(
            [shipment_item(s, at=now(), version=int(item.version), previous=item, task_token=token, execution_arn=arn)],
            what=f"shipment {s.id}",
        )
        return "stored"

    return on_conflict(store, what=f"shipment {event.shipment_id}")


def on_stale(event: TrackingStale) -> str:
    """No carrier event for the stale threshold: raise `tracking_stale` (its `exception.raised` event asks
    the supplier to check the parcel: services/notify.py), tell each customer once that the parcel is
    delayed. The execution waits again on its own.

    Run once per event by the consumer's idempotency record (handlers/batch.py), which is deleted when
    this fails, so a redelivery does the work; the customer is told once (`customer_told_delayed`)."""
    item = load(event.carrier, event.tracking_number)
    if item is None or item.id != event.shipment_id:
        return "unknown"
    s = shipment_from_item(item)
    cfg = settings()
    abandoned = event.abandoned
    if not abandoned and not rules.stale(s, now(), cfg.tracking_stale_after_s):
        return "not stale"
    if not item.customer_told_delayed:
        _tell_delayed(s, item)
    # Last, so a failure before it leaves nothing to repeat: a redelivery finds the customer told.
    exceptions.raise_or_bump(
        "tracking_stale",
        "shipment",
        s.ref,
        {**refs(s), "last_event_at": s.last_event_at.isoformat() if s.last_event_at else None, "abandoned": abandoned},
        severity="high" if abandoned else None,
    )
    return "abandoned" if abandoned else "stale"


def _tell_delayed(s: Shipment, item: ShipmentItem) -> None:
    at = now()
    orders = [i for i in repo.batch_get(keys.order(o) for o in s.order_ids) if isinstance(i, OrderItem)]
    note = (
        f"Your parcel with {rules.carrier(s.carrier).name} ({s.tracking_number}) has had no tracking update "
        "for a while. We have asked the supplier and the carrier and will keep you posted."
    )
    try:
        repo.commit(
            [
                shipment_item(
                    s,
                    at=at,
                    version=int(item.version),
                    previous=item,
                    customer_told_delayed=True,
                    stale_count=int(item.stale_count or 0) + 1,
                ),
                *(order_event(o, s, "order.delayed", at, customer_note=note, data={"reason": "tracking_stale"}) for o in orders),
            ],
            what=f"shipment {s.id}",
        )
    except Conflict:
        logger.info("shipment changed while telling customers of a delay; a carrier event came in", extra={"shipment_id": s.id})
