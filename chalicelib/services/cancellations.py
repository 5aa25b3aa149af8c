"""Cancellation requests after the close, before dispatch (issue 16 item 7).

Once an order is with its suppliers (its campaign closed), the customer can no longer cancel it
outright: they ask (`request_cancellation`), for some lines or for everything not yet dispatched.
Each supplier delivery concerned gets its own request (`ports_orders.CancellationRequest`, id
`<order id>.crq<n>`, requested -> accepted | refused, under its version), written in one transaction with, per request,
an `order.cancellation_requested` event (the supplier's e-mail; the customer's for the first one)
and a `cancellation_requested` exception for customer care. While a request waits it is on its
PO's list of requests to decide (`pending_for_po`, one read).

Customer care, or the PO's own supplier, decides (`decide`): one read (the order, the request, its
exception), then one transaction through the storage port:
- refused (with a note: the customer reads it): the request, an `order.cancellation_refused` event,
  the exception resolved;
- accepted: the lines leave the order (`domain.orders.cancel_lines`: a delivery left with nothing is
  cancelled) with its delivery index items, so the packing list follows; the request; an
  `order.lines_cancelled` event (the supplier's and the customer's e-mail) whose customer note says
  what was cancelled and what happens to the money in the order's payment mode
  (`domain.payments.refused_money_text`): what was paid in advance goes back the way it came
  (`customer_payments.money_back_changes`: a pending refund the payments consumer sends, or for money
  received offline a refund awaiting accounting's transfer), authorise-then-capture never captures the
  lines, pay-on-delivery owes less; the
  orders-per-status counters; the campaign's cancelled counters when the whole order goes; the
  exception resolved. When a whole
  accepted delivery is cancelled, its PO has one order less to ship (`orders_to_ship`, one GetItem of
  the PO): else the shipment stage would wait for a parcel that never leaves. If every other order
  has left already, the same transaction completes the shipment stage.

The exception's opening and resolution (`services.exceptions`) and the money's records
(`customer_payments`) are port changes of the same commit; the transaction that completes the
shipment stage (`services.stages`) takes this one's changes as they are.

A delivery that left (or was refused) since the request makes accepting it a 409 that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain import metrics
from ..domain import orders as domain
from ..domain import payments as money
from ..domain import purchase_orders as po_rules
from ..domain.addresses import order_reference
from ..domain.audit import AuditEvent
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.orders import DeliveryStatus, LostLine, Order, OrderStatus, RequestedLine
from ..domain.permissions import REVIEW_ORDERS, SYSTEM, Principal
from ..domain.purchase_orders import Decision, PurchaseOrder, Stage, po_id
from . import exceptions, orders, sales, stages, uow
from .clock import new_id, now
from .customer_payments import flag_transfers, money_back_changes
from .guard import require
from .ports import Change, CountCampaign, Record, Save
from .ports_orders import CancellationLine, CancellationRequest, RequestRead
from .supplier_portal import supplier_of

REQUESTED, ACCEPTED, REFUSED = "requested", "accepted", "refused"
KIND = "cancellation_requested"  # one per request, for customer care
SUBJECT = "cancellation_request"  # the exception's subject type (its id names the order: keys.subject_pk)
REQUESTED_EVENT = "order.cancellation_requested"
CANCELLED_EVENT = "order.lines_cancelled"
REFUSED_EVENT = "order.cancellation_refused"
SEPARATOR = "."  # a request's id: <order id>.crq<n>


def request_id_of(order_id: str, number: int) -> str:
    """The `number`th cancellation request of an order. Numbered, not random: two requests sent at once
    name the same request, so one of them fails its create instead of both passing the check that a
    delivery has no request waiting; and the id names its order, so deciding it is one read."""
    return f"{order_id}{SEPARATOR}crq{number}"


def _commit(changes: list[Change], *, what: str, at: datetime) -> None:
    """One transaction; a create that lost a race (the same request sent twice at once) is the 409
    "conflict" it always was, like any other failed condition."""
    try:
        uow.store().commit(changes, what=what, at=at)
    except AlreadyExists as exc:
        raise Conflict(f"{what} was changed by someone else; reload and try again") from exc


def _lines_text(lines: list[Any]) -> str:
    return ", ".join(f"{line.quantity} x {line.name}" for line in lines)


def _refs(order: Order, supplier_id: str, request_id: str) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "campaign_id": order.campaign_id,
        "customer_id": order.customer_id,
        "customer_email": order.customer_email,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "status": order.status.value,
        "payment_mode": order.payment_mode.value,
        "request_id": request_id,
        "supplier_id": supplier_id,
        "po_id": po_id(order.campaign_id, supplier_id),
        "reference": order_reference(order.id),
    }


# ---------------------------------------------------------------- the customer asks


@dataclass
class _Asked:
    request_id: str
    supplier_id: str
    lines: list[CancellationLine]
    whole: bool  # every line of the delivery, in full


def request_cancellation(actor: Principal, order_id: str, *, lines: list[RequestedLine] | None, reason: str) -> list[RequestRead]:
    """One request per supplier delivery concerned (see the module docstring): one read (the order with
    its requests) and one transaction. Another customer's order is a 404."""
    record = orders.get_order_for_customer(actor, order_id)
    order = record.order
    scope = domain.cancellation_scope(order, lines)
    waiting = {r.value.supplier_id: r.value.id for r in record.cancellation_requests if r.value.status == REQUESTED}
    clash = [s for s in scope if s in waiting]
    if clash:
        raise InvalidTransition(
            "a cancellation request is already waiting for a decision for the delivery from "
            + ", ".join(f"{s} ({waiting[s]})" for s in clash)
            + ": wait for its answer"
        )
    asked: list[_Asked] = []
    for n, (supplier_id, quantities) in enumerate(scope.items(), start=len(record.cancellation_requests) + 1):
        mine = [line for line in order.lines if line.supplier_id == supplier_id]
        # Numbered after the requests the read saw: a request sent at the same moment names the same
        # request and fails its create (409) instead of slipping past the check above.
        asked.append(
            _Asked(
                request_id_of(order.id, n),
                supplier_id,
                [CancellationLine(line.sku, line.name, quantities[line.sku]) for line in mine if quantities.get(line.sku)],
                all(quantities.get(line.sku) == line.quantity for line in mine),
            )
        )
    at = now()
    note = (
        f"You asked us to cancel {'; '.join(_lines_text(a.lines) for a in asked)}. We will let you know "
        "once it is decided; until then your order goes on as it is."
    )
    made: list[CancellationRequest] = []
    changes: list[Change] = []
    for a in asked:
        refs = _refs(order, a.supplier_id, a.request_id)
        request = CancellationRequest(
            id=a.request_id,
            order_id=order.id,
            campaign_id=order.campaign_id,
            supplier_id=a.supplier_id,
            po_id=refs["po_id"],
            customer_id=order.customer_id,
            reference=refs["reference"],
            lines=a.lines,
            everything=lines is None,
            reason=reason,
            status=REQUESTED,
            requested_at=at,
        )
        first = a is asked[0]
        event = AuditEvent(
            id=new_id("evt"),
            subject_type="order",
            subject_id=order.id,
            type=REQUESTED_EVENT,
            actor=actor,
            at=at,
            from_status=order.status.value,
            to_status=order.status.value,
            internal_note=f"the customer's reason: {reason}",
            customer_note=note if first else None,
            data={**refs, "lines": _line_data(a.lines), "whole_delivery": a.whole, "tell_customer": first},
        )
        details = {
            k: refs[k] for k in ("order_id", "campaign_id", "supplier_id", "po_id", "request_id", "reference", "customer_id")
        } | {"lines": _lines_text(a.lines), "reason": reason}
        changes += [
            Save(request, None),
            Record(event),
            *exceptions.opening_changes(KIND, SUBJECT, a.request_id, details, at),
        ]
        made.append(request)
    _commit(changes, what=f"order {order.id}", at=at)
    return [RequestRead(r, 1) for r in made]


def _line_data(lines: list[CancellationLine]) -> list[dict[str, Any]]:
    return [{"sku": line.sku, "name": line.name, "quantity": int(line.quantity)} for line in lines]


# ---------------------------------------------------------------- the supplier's list


@dataclass
class RequestPage:
    po_id: str
    items: list[RequestRead]
    cursor: str | None


def pending_for_po(actor: Principal, po_id_: str, *, limit: int, cursor: str | None) -> RequestPage:
    """The PO's requests waiting for a decision, oldest first: one read. An empty page costs a read of the
    PO more, to tell "nothing waiting" from "not your PO" (404)."""
    supplier_id = supplier_of(actor)
    page = uow.store().waiting_cancellation_requests(po_id_, limit=limit, cursor=cursor)
    if any(r.value.supplier_id != supplier_id for r in page.items):
        raise NotFound(f"purchase order {po_id_} not found")
    if not page.items:
        po = uow.store().load(PurchaseOrder, po_id_)
        if po is None or po.value.supplier_id != supplier_id:
            raise NotFound(f"purchase order {po_id_} not found")
    return RequestPage(po_id_, page.items, page.cursor)


# ---------------------------------------------------------------- care or the supplier decides


def decide(
    actor: Principal,
    request_id: str,
    *,
    accept: bool,
    note: str | None = None,
    expected_version: int | None = None,
    order_id: str | None = None,
    by_supplier: bool = False,
) -> RequestRead:
    """Accept or refuse a waiting request (see the module docstring). Staff (customer care, admins) decide
    any request (`order_id`: the order the route names); a supplier (`by_supplier`) only those on its own
    POs (another's is a 404, as for none)."""
    supplier_id = supplier_of(actor) if by_supplier else None
    if not by_supplier:
        require(actor, REVIEW_ORDERS, "decide cancellation requests")
    owner = request_id.partition(SEPARATOR)[0]
    if order_id is not None and owner != order_id:
        raise NotFound(f"cancellation request {request_id} not found")
    found = uow.store().decision_context(request_id, exceptions.exception_id(KIND, SUBJECT, request_id))
    read, order = found.request, found.order
    if read is None or order is None or (supplier_id is not None and read.value.supplier_id != supplier_id):
        raise NotFound(f"cancellation request {request_id} not found")
    request = read.value
    if request.status != REQUESTED:
        raise InvalidTransition(f"cancellation request {request_id} is already {request.status}")
    if expected_version is not None and expected_version != read.version:
        raise Conflict(f"cancellation request {request_id} is at version {read.version}, not {expected_version}")
    note = (note or "").strip() or None
    if not accept and note is None:
        raise RuleViolation(
            "note_required",
            "say why the request is refused: the customer reads this note",
            details=[{"field": "body.note", "message": "required when refusing"}],
        )
    at = now()
    request.status = ACCEPTED if accept else REFUSED  # decided: off the supplier's list
    request.decided_at, request.decided_by, request.decided_role = at, actor.sub, actor.primary_role.value
    request.decision_note = note
    who = "the supplier" if by_supplier else actor.primary_role.value.replace("_", " ")
    resolved = exceptions.resolution_changes(found.exception, note=f"{request.status} by {who} ({actor.sub})", at=at)
    if accept:
        _accept(actor, order, found.order_version, read, note, resolved, at)
    else:
        event = AuditEvent(
            id=new_id("evt"),
            subject_type="order",
            subject_id=order.id,
            type=REFUSED_EVENT,
            actor=actor,
            at=at,
            from_status=order.status.value,
            to_status=order.status.value,
            internal_note=f"cancellation request {request_id} refused by {who}",
            customer_note=f"We could not cancel {_lines_text(list(request.lines))}: {note}",
            data={**_refs(order, request.supplier_id, request_id), "lines": _line_data(request.lines)},
        )
        changes: list[Change] = [Save(request, read.version), Record(event), *resolved]
        _commit(changes, what=f"cancellation request {request_id}", at=at)
    return RequestRead(request, read.version + 1)


def _accept(
    actor: Principal,
    order: Order,
    version: int,
    read: RequestRead,
    note: str | None,
    resolved: list[Change],
    at: datetime,
) -> None:
    request = read.value
    supplier_id = request.supplier_id
    was = order.delivery(supplier_id).status
    transition, cancelled = domain.cancel_lines(order, supplier_id, {l.sku: l.quantity for l in request.lines})
    whole = order.delivery(supplier_id).status is DeliveryStatus.CANCELLED
    cancelled_cents = sum(line.amount_cents for line in cancelled)
    request.cancelled_cents = cancelled_cents
    refs = _refs(order, supplier_id, request.id)
    back = money.owed_back(order, cancelled_cents)
    refund = back > 0 and money.refunds_through_gateway(order.payment_mode)
    refund_id = money.refund_id(order.id, f"cancellation\x00{request.id}") if back else None
    customer_note = " ".join(filter(None, [accepted_text(order, cancelled), note]))
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type=CANCELLED_EVENT,
        actor=actor,
        at=at,
        from_status=transition.from_status,
        to_status=transition.to_status,
        internal_note=f"cancellation request {request.id} accepted",
        customer_note=customer_note,
        data={
            **refs,
            "lines": [{"sku": l.sku, "name": l.name, "quantity": l.quantity, "amount_cents": l.amount_cents} for l in cancelled],
            "whole_delivery": whole,
            "delivery_status": order.delivery(supplier_id).status.value,
            "cancelled_cents": cancelled_cents,
            "refund_cents": cancelled_cents if refund else 0,
            "refund_id": refund_id,
            "payable_cents": order.payable_cents,
        },
    )
    changes: list[Change] = [
        Save(order, version, status_before=transition.from_status),
        Save(request, read.version),
        Record(event),
    ]
    money_back = (
        money_back_changes(
            order,
            refund_id,
            back,
            at,
            supplier_id=supplier_id,
            po_id=request.po_id,
            reason=f"cancellation request {request.id} accepted",
            actor=actor,
        )
        if refund_id
        else []
    )
    changes += resolved
    changes += money_back
    changes += sales.lines_lost(order, supplier_id, cancelled)
    withdrawn = metrics.order_changed(transition.from_status, transition.to_status, order.total_cents)
    if withdrawn:
        changes.append(CountCampaign(order.campaign_id, order.id, withdrawn))
    if not (whole and was is DeliveryStatus.ACCEPTED and _one_order_less(actor, request.po_id, changes, at)):
        _commit(changes, what=f"order {order.id}", at=at)  # (else committed with the shipment stage it completed)
    flag_transfers(order, money_back)  # money received by transfer goes back by transfer: accounting's


def accepted_text(order: Order, cancelled: list[LostLine]) -> str:
    """What the customer reads: what was cancelled, and what happens to the money in their payment mode."""
    what = _lines_text(cancelled)
    opening = (
        f"Your order is cancelled as you asked ({what})."
        if order.status is OrderStatus.CANCELLED
        else f"As you asked, we cancelled {what}."
    )
    lost = sum(line.amount_cents for line in cancelled)
    return f"{opening} " + money.refused_money_text(
        order.payment_mode, lost, order.payable_cents, order.currency, paid_offline=order.offline_paid
    )


def _one_order_less(actor: Principal, po_id_: str, changes: list[Change], at: datetime) -> bool:
    """A whole accepted delivery is cancelled: its PO has one order less to ship. Adds the PO's write to
    `changes`, or commits them with the shipment stage's completion when every other order has left
    (True). One GetItem of the PO (`services.stages`)."""
    loaded = stages.load_po(po_id_)
    po = loaded.po
    to_ship = po.orders_to_ship
    if to_ship is None:  # the acknowledgement is being shared out right now, and counts this order
        raise Conflict(f"purchase order {po_id_} is still sharing out its acknowledgement; try again in a moment")
    if po.stage is Stage.SHIPMENT and loaded.task_token is not None and po.orders_shipped >= to_ship - 1:

        def finish(p: PurchaseOrder) -> Decision:
            p.orders_to_ship = (p.orders_to_ship or 1) - 1
            return po_rules.record_shipment(p, 0) or Decision.DONE

        stages.complete_stage(
            actor,
            po_id_,
            Stage.SHIPMENT,
            finish,
            loaded=loaded,
            extra=changes,
            internal_note="the last order waiting to ship was cancelled",
        )
        return True
    po.orders_to_ship = to_ship - 1
    changes.append(loaded.save())
    return False


def finish_if_nothing_to_ship(po_id_: str) -> bool:
    """The shipment stage just opened on a PO whose orders have all left already, or were cancelled since
    the acknowledgement (`orders_to_ship` came down to what has shipped): no parcel will ever complete it,
    so it completes now. False (one GetItem) when something is still to ship."""
    loaded = stages.load_po(po_id_)
    po = loaded.po
    if (
        po.stage is not Stage.SHIPMENT
        or loaded.task_token is None
        or po.orders_to_ship is None
        or po.orders_shipped < po.orders_to_ship
    ):
        return False

    def finish(p: PurchaseOrder) -> Decision:
        return po_rules.record_shipment(p, 0) or Decision.DONE

    stages.complete_stage(
        SYSTEM,
        po_id_,
        Stage.SHIPMENT,
        finish,
        loaded=loaded,
        internal_note="nothing left to ship: the orders still to ship were cancelled",
    )
    return True
