"""Cancellation requests after the close, before dispatch (issue 16 item 7).

Once an order is with its suppliers (its campaign closed), the customer can no longer cancel it
outright: they ask (`request_cancellation`), for some lines or for everything not yet dispatched.
Each supplier delivery concerned gets its own request (`ORDER#<id>` / `CANCELREQ#<order id>.crq<n>`,
requested -> accepted | refused, under its version), written in one transaction with, per request,
an `order.cancellation_requested` event (the supplier's e-mail; the customer's for the first one)
and a `cancellation_requested` exception for customer care. While a request waits it sits in its
PO's sparse GSI1 partition: the supplier's list of requests to decide (`pending_for_po`, one Query).

Customer care, or the PO's own supplier, decides (`decide`): one BatchGetItem (the order, the
request, its exception), then one transaction:
- refused (with a note: the customer reads it): the request, an `order.cancellation_refused` event,
  the exception resolved;
- accepted: the lines leave the order (`domain.orders.cancel_lines`: a delivery left with nothing is
  cancelled) with its delivery index items, so the packing list follows; the request; an
  `order.lines_cancelled` event (the supplier's and the customer's e-mail) whose customer note says
  what was cancelled and what happens to the money in the order's payment mode
  (`domain.payments.refused_money_text`): what was paid in advance goes back the way it came
  (`customer_payments.money_back_writes`: a pending refund the payments consumer sends, or for money
  received offline a refund awaiting accounting's transfer), authorise-then-capture never captures the
  lines, pay-on-delivery owes less; the
  orders-per-status counters; the campaign's cancelled counters when the whole order goes; the
  exception resolved. When a whole
  accepted delivery is cancelled, its PO has one order less to ship (`orders_to_ship`, one GetItem of
  the PO): else the shipment stage would wait for a parcel that never leaves. If every other order
  has left already, the same transaction completes the shipment stage.

A delivery that left (or was refused) since the request makes accepting it a 409 that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import (
    CancellationRequestItem,
    ExceptionItem,
    Item,
    OrderItem,
    PackingLineMap,
    PurchaseOrderItem,
)
from ..domain import metrics
from ..domain import orders as domain
from ..domain import payments as money
from ..domain import purchase_orders as po_rules
from ..domain.addresses import order_reference
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.orders import DeliveryStatus, LostLine, Order, OrderStatus, RequestedLine
from ..domain.permissions import REVIEW_ORDERS, SYSTEM, Principal
from ..domain.purchase_orders import Decision, PurchaseOrder, Stage, po_id
from . import exceptions, orders, stages
from .clock import new_id, now
from .customer_payments import flag_transfers, money_back_writes
from .guard import require
from .supplier_portal import supplier_of

REQUESTED, ACCEPTED, REFUSED = "requested", "accepted", "refused"
KIND = "cancellation_requested"  # one per request, for customer care
SUBJECT = "cancellation_request"  # the exception's subject type (its id names the order: keys.subject_pk)
REQUESTED_EVENT = "order.cancellation_requested"
CANCELLED_EVENT = "order.lines_cancelled"
REFUSED_EVENT = "order.cancellation_refused"


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
    lines: list[PackingLineMap]
    whole: bool  # every line of the delivery, in full


def request_cancellation(
    actor: Principal, order_id: str, *, lines: list[RequestedLine] | None, reason: str
) -> list[CancellationRequestItem]:
    """One request per supplier delivery concerned (see the module docstring): one Query (the order's
    partition: the order and its requests) and one transaction. Another customer's order is a 404."""
    record = orders.get_order_for_customer(actor, order_id)
    order = record.order
    scope = domain.cancellation_scope(order, lines)
    waiting = {r.supplier_id: r.id for r in record.cancellation_requests if r.status == REQUESTED}
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
        # Numbered after the requests the Query saw: a request sent at the same moment names the same
        # item and fails its conditional create (409) instead of slipping past the check above.
        asked.append(
            _Asked(
                keys.cancellation_request_id(order.id, n),
                supplier_id,
                [
                    PackingLineMap(
                        sku=line.sku,
                        name=line.name,  # type: ignore[no-untyped-call]
                        quantity=quantities[line.sku],
                    )
                    for line in mine
                    if quantities.get(line.sku)
                ],
                all(quantities.get(line.sku) == line.quantity for line in mine),
            )
        )
    at = now()
    note = (
        f"You asked us to cancel {'; '.join(_lines_text(a.lines) for a in asked)}. We will let you know "
        "once it is decided; until then your order goes on as it is."
    )
    items: list[CancellationRequestItem] = []
    writes: list[repo.Write] = []
    for a in asked:
        refs = _refs(order, a.supplier_id, a.request_id)
        pk, sk = _key(a.request_id)
        item = CancellationRequestItem(
            pk,
            sk,
            GSI1PK=keys.po_cancellation_requests_pk(refs["po_id"]),
            GSI1SK=keys.created_sk(at, a.request_id),
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
        writes += [
            repo.new_item(item),
            repo.event_write(keys.order_pk(order.id), event),
            *exceptions.opening_writes(KIND, SUBJECT, a.request_id, details, at),
        ]
        items.append(item)
    repo.commit(writes, what=f"order {order.id}")
    return items


def _key(request_id: str) -> tuple[str, str]:
    key = keys.cancellation_request(request_id)
    if key is None:
        raise NotFound(f"cancellation request {request_id} not found")
    return key


def _line_data(lines: list[PackingLineMap]) -> list[dict[str, Any]]:
    return [{"sku": line.sku, "name": line.name, "quantity": int(line.quantity)} for line in lines]


# ---------------------------------------------------------------- the supplier's list


@dataclass
class RequestPage:
    po_id: str
    items: list[CancellationRequestItem]
    cursor: str | None


def pending_for_po(actor: Principal, po_id_: str, *, limit: int, cursor: str | None) -> RequestPage:
    """The PO's requests waiting for a decision, oldest first: one Query on its sparse partition. An empty
    page costs a GetItem of the PO more, to tell "nothing waiting" from "not your PO" (404)."""
    supplier_id = supplier_of(actor)
    page = repo.query_page(Item.gsi1, keys.po_cancellation_requests_pk(po_id_), limit=limit, cursor=cursor, newest_first=False)
    items = [i for i in page.items if isinstance(i, CancellationRequestItem)]
    if any(i.supplier_id != supplier_id for i in items):
        raise NotFound(f"purchase order {po_id_} not found")
    if not items:
        po = repo.get(keys.po(po_id_), PurchaseOrderItem)
        if po is None or po.supplier_id != supplier_id:
            raise NotFound(f"purchase order {po_id_} not found")
    return RequestPage(po_id_, items, page.cursor)


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
) -> CancellationRequestItem:
    """Accept or refuse a waiting request (see the module docstring). Staff (customer care, admins) decide
    any request (`order_id`: the order the route names); a supplier (`by_supplier`) only those on its own
    POs (another's is a 404, as for none)."""
    supplier_id = supplier_of(actor) if by_supplier else None
    if not by_supplier:
        require(actor, REVIEW_ORDERS, "decide cancellation requests")
    key = _key(request_id)
    if order_id is not None and key[0] != keys.order_pk(order_id):
        raise NotFound(f"cancellation request {request_id} not found")
    owner = request_id.partition(keys.CANCELLATION_REQUEST_SEPARATOR)[0]
    exc_id = exceptions.exception_id(KIND, SUBJECT, request_id)
    found = repo.batch_get([key, keys.order(owner), keys.exception(exc_id)])
    request = next((i for i in found if isinstance(i, CancellationRequestItem)), None)
    meta = next((i for i in found if isinstance(i, OrderItem)), None)
    if request is None or meta is None or (supplier_id is not None and request.supplier_id != supplier_id):
        raise NotFound(f"cancellation request {request_id} not found")
    if request.status != REQUESTED:
        raise InvalidTransition(f"cancellation request {request_id} is already {request.status}")
    if expected_version is not None and expected_version != int(request.version):
        raise Conflict(f"cancellation request {request_id} is at version {request.version}, not {expected_version}")
    note = (note or "").strip() or None
    if not accept and note is None:
        raise RuleViolation(
            "note_required",
            "say why the request is refused: the customer reads this note",
            details=[{"field": "body.note", "message": "required when refusing"}],
        )
    exception = next((i for i in found if isinstance(i, ExceptionItem)), None)
    at = now()
    request.status = ACCEPTED if accept else REFUSED
    request.decided_at, request.decided_by, request.decided_role = at, actor.sub, actor.primary_role.value
    request.decision_note = note
    request.GSI1PK = request.GSI1SK = None  # decided: off the supplier's list
    order = repo.order_from_item(meta)
    who = "the supplier" if by_supplier else actor.primary_role.value.replace("_", " ")
    resolved = exceptions.resolution_writes(exception, note=f"{request.status} by {who} ({actor.sub})", at=at)
    if accept:
        _accept(actor, order, int(meta.version), request, note, resolved, at)
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
        repo.commit(
            [repo.Write(request), repo.event_write(keys.order_pk(order.id), event), *resolved],
            what=f"cancellation request {request_id}",
        )
    return request  # its version is the committed one (the transaction bumps it in place)


def _accept(
    actor: Principal,
    order: Order,
    version: int,
    request: CancellationRequestItem,
    note: str | None,
    resolved: list[repo.Write],
    at: datetime,
) -> None:
    supplier_id = request.supplier_id
    was = order.delivery(supplier_id).status
    transition, cancelled = domain.cancel_lines(order, supplier_id, {l.sku: int(l.quantity) for l in request.lines})
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
    writes: list[repo.Write | repo.Update] = [
        *repo.order_writes(order, version=version, now=at),
        *repo.order_status_counts(order.id, transition.from_status, transition.to_status),
        repo.Write(request),
        repo.event_write(keys.order_pk(order.id), event),
        *resolved,
    ]
    money_back = (
        money_back_writes(
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
    writes += money_back
    withdrawn = metrics.order_changed(transition.from_status, transition.to_status, order.total_cents)
    if withdrawn:
        writes.append(repo.campaign_summary_update(order.campaign_id, order.id, withdrawn))
    if not (whole and was is DeliveryStatus.ACCEPTED and _one_order_less(actor, request.po_id, writes, at)):
        repo.commit(writes, what=f"order {order.id}")  # (else committed with the shipment stage it completed)
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


def _one_order_less(actor: Principal, po_id_: str, writes: list[repo.Write | repo.Update], at: datetime) -> bool:
    """A whole accepted delivery is cancelled: its PO has one order less to ship. Adds the PO's write to
    `writes`, or commits them with the shipment stage's completion when every other order has left
    (True). One GetItem of the PO."""
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
            extra_writes=writes,
            internal_note="the last order waiting to ship was cancelled",
        )
        return True
    po.orders_to_ship = to_ship - 1
    writes.append(loaded.write(at))
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
