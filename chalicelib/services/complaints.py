"""Complaints, returns and refunds: the use cases around `domain/complaints.py`.

Storage is the port's (services/ports_complaints.py): a complaint is a `StoredComplaint` under its
version, read with its return authorisation and audit trail as one `complaint_file`, listed by order
(the customer's list), by PO (the supplier's), by status (the staff queue) and by time.

Every change is one transaction: the complaint under its version plus its audit event, and
whatever the step decides with it:

- opening also saves the delivery's claims under their version, so two complaints opened at
  once on one delivery cannot both claim the same units;
- carrying out an accepted plan (`carry_out`, the complaints consumer on `complaint.plan_accepted`)
  creates the return authorisation, the refunds it pays now as `pending` payments of the order
  (ids derived from (complaint, SKU): a retried step names the same refund and its create fails),
  the supplier's charge-backs on its PO, and adds to what complaints refunded on the order under
  the condition that the total stays within what the order captured (`AddRefunded`);
- a received return (a carrier webhook for the return parcel, or staff/the supplier by hand) does
  the same for the return's refunds and moves the delivery to `partially_returned` / `returned`.

Refund records are then sent to the payment gateway with their id as the idempotency key and
finished `succeeded` or `failed` under their version, as captures are (services/capture.py). A
complaint whose refunds, return and replacement are all done resolves itself.

Customer care sees complaints waiting for it in the exceptions queue (`complaint_open`), raised
when a complaint comes to care and resolved when it leaves care's hands."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..adapters import files, gateway
from ..config import settings
from ..domain import complaints as rules
from ..domain import metrics
from ..domain.audit import AuditEvent
from ..domain.complaints import (
    Complaint,
    ComplaintAction,
    ComplaintReason,
    ComplaintStatus,
    Photo,
    Plan,
    ProposedLine,
    RefundDue,
    Resolution,
    ReturnAction,
    ReturnAuthorisation,
    ReturnStatus,
)
from ..domain.errors import AlreadyExists, Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.orders import ARRIVED, DeliveryAction, DeliveryStatus, Order, PaymentMode, RequestedLine
from ..domain.permissions import READ_STAFF, SYSTEM, Principal, Role
from ..domain.purchase_orders import PurchaseOrder
from ..domain.shipments import CarrierEvent, TrackingStatus, parcel_ref
from ..observability import logger
from . import exceptions, uow
from .capture import CAPTURE, FAILED, PENDING, SUCCEEDED, declined
from .clock import new_id, now
from .conflicts import stale_subject
from .guard import require
from .ports import Change, CountCampaign, Record, Save
from .ports_common import Versioned
from .ports_complaints import (
    AddRefunded,
    ComplaintOrder,
    ComplaintParcel,
    DeliveryClaims,
    Parcel,
    SkuQuantity,
    StoredComplaint,
    StoredReturn,
)
from .ports_money import Payment
from .ports_orders import ShipmentCopy
from .ports_purchase_orders import ChargeBack
from .ports_shipments import ShipmentRecord
from .retry import on_conflict

A = ComplaintAction
C = ComplaintStatus
REFUND = "refund"
RETRIES = 4
EXCEPTION_KIND = "complaint_open"
# Where the complaint waits for customer care (its `complaint_open` exception is live).
WITH_CARE = frozenset({C.OPEN, C.SUPPLIER_ANSWERED, C.PLAN_PROPOSED, C.NEEDS_APPROVAL, C.DISPUTED})
CUSTOMERS = frozenset({Role.CUSTOMER})
SUPPLIERS = frozenset({Role.SUPPLIER})
PHOTO_PREFIX = "complaint-photos"
PHOTO_NAME = re.compile(r"[^A-Za-z0-9._-]+")
RETURN_PARCEL, REPLACEMENT_PARCEL = "return", "replacement"
PARCEL_SHIPPED, PARCEL_DELIVERED = "dispatched", "delivered"


def policy() -> rules.ComplaintPolicy:
    return settings().complaint_policy()


# ---------------------------------------------------------------- reading


@dataclass
class Money:
    captured_cents: int
    refunded_cents: int  # through complaints (pending and succeeded refunds: the ledger)

    @property
    def refundable_cents(self) -> int:
        return rules.refundable_cents(self.captured_cents, self.refunded_cents)


@dataclass
class ComplaintRecord:
    """A complaint as a use case answers it: the stored complaint with its version, its audit events
    (oldest first), its return with its version, and (when read with the order) this complaint's
    refunds with their versions, oldest first, and the order's money."""

    stored: Versioned[StoredComplaint]
    events: list[AuditEvent] = field(default_factory=list)
    rma: Versioned[StoredReturn] | None = None
    refunds: list[Versioned[Payment]] = field(default_factory=list)
    money: Money | None = None

    @property
    def complaint(self) -> Complaint:
        return self.stored.value.complaint

    @property
    def version(self) -> int:
        return self.stored.version


def _load(complaint_id: str, *, with_order: bool = False) -> ComplaintRecord:
    """The complaint, its return and audit trail (one read); with the order's money and this
    complaint's refunds when asked (a second read, of the order)."""
    store = uow.store()
    found = store.complaint_file(complaint_id)
    if found is None:
        raise NotFound(f"complaint {complaint_id} not found")
    record = ComplaintRecord(found.complaint, list(found.events), found.rma)
    if with_order:
        order = store.complaint_order(found.complaint.value.complaint.order_id)
        if order is not None:
            record.refunds = [
                p for p in order.payments if p.value.payment_kind == REFUND and p.value.complaint_id == complaint_id
            ]
            record.money = _money(order)
    return record


def captured_cents(order: Order, payments: Iterable[Payment]) -> int:
    """What the customer has paid for the order and may be paid back: the succeeded captures of an
    authorise-then-capture order; otherwise the lines of deliveries still standing (paid in advance,
    offline) or, paid on delivery, of those that arrived."""
    if order.payment_mode is PaymentMode.AUTHORISE_THEN_CAPTURE:
        return sum(p.amount_cents for p in payments if p.payment_kind == CAPTURE and p.status == SUCCEEDED)
    gone = {
        DeliveryStatus.REJECTED,
        DeliveryStatus.REFUNDED,
        DeliveryStatus.CANCELLED,
        DeliveryStatus.ON_HOLD,
        DeliveryStatus.AWAITING_PAYMENT,
        DeliveryStatus.NOT_DELIVERED,
    }
    if order.payment_mode is PaymentMode.PAY_ON_DELIVERY:
        standing = {d.supplier_id for d in order.deliveries if d.status in ARRIVED}
    else:
        standing = {d.supplier_id for d in order.deliveries if d.status not in gone}
    return sum(line.total_cents for line in order.lines if line.supplier_id in standing)


def _money(order: ComplaintOrder) -> Money:
    return Money(captured_cents(order.order.value, (p.value for p in order.payments)), order.refunded_cents)


def _own(record: ComplaintRecord, actor: Principal, order_id: str | None = None) -> ComplaintRecord:
    """Another customer's or supplier's complaint is a 404, as if it did not exist."""
    c = record.complaint
    if actor.has_any(CUSTOMERS) and not actor.is_staff:
        if c.customer_id != actor.sub or (order_id is not None and c.order_id != order_id):
            raise NotFound(f"complaint {c.id} not found")
    elif actor.has_any(SUPPLIERS) and not actor.is_staff:
        if not actor.supplier_id or c.supplier_id != actor.supplier_id:
            raise NotFound(f"complaint {c.id} not found")
    elif not actor.is_staff:
        raise NotFound(f"complaint {c.id} not found")
    return record


def get_for_customer(actor: Principal, order_id: str, complaint_id: str) -> ComplaintRecord:
    require(actor, CUSTOMERS, "read complaints")
    return _own(_load(complaint_id, with_order=True), actor, order_id)


def get_for_supplier(actor: Principal, complaint_id: str) -> ComplaintRecord:
    require(actor, SUPPLIERS, "read complaints about its deliveries")
    return _own(_load(complaint_id), actor)


def get_for_staff(actor: Principal, complaint_id: str) -> ComplaintRecord:
    require(actor, READ_STAFF, "read complaints")
    return _load(complaint_id, with_order=True)


def list_for_order(actor: Principal, order_id: str) -> list[Versioned[StoredComplaint]]:
    require(actor, CUSTOMERS, "read complaints")
    _own_order(actor, order_id)
    return _complaints_of_order(order_id)


def _own_order(actor: Principal, order_id: str) -> None:
    """Another customer's order is a 404, as if it did not exist (one read of the order)."""
    order = uow.store().load(Order, order_id)
    if order is None or order.value.customer_id != actor.sub:
        raise NotFound(f"order {order_id} not found")


def _complaints_of_order(order_id: str) -> list[Versioned[StoredComplaint]]:
    return uow.store().complaints_of_order(order_id)


def list_for_po(actor: Principal, po_id: str) -> list[Versioned[StoredComplaint]]:
    """A PO's complaints: its supplier's (another supplier's PO is a 404) or any for staff."""
    if not actor.is_staff:
        require(actor, SUPPLIERS, "read complaints about its deliveries")
        po = uow.store().load(PurchaseOrder, po_id)
        if po is None or po.value.supplier_id != actor.supplier_id:
            raise NotFound(f"purchase order {po_id} not found")
    return uow.store().complaints_of_po(po_id)


def search(
    actor: Principal,
    *,
    statuses: list[str] | None,
    supplier_id: str | None,
    limit: int,
    cursor: str | None,
    order_id: str | None = None,
) -> tuple[list[Versioned[StoredComplaint]], str | None]:
    """Staff list, newest first: one status (GSI3) or all (GSI4); one Query page. Several statuses
    are read one Query each (the first page of each; no cursor). One order's complaints are one
    Query of its index partition (an order has a handful), the other filters applied to them."""
    require(actor, READ_STAFF, "list complaints")
    store = uow.store()
    if order_id:
        of_order = [
            v
            for v in _complaints_of_order(order_id)
            if (not statuses or v.value.complaint.status.value in statuses)
            and (not supplier_id or v.value.complaint.supplier_id == supplier_id)
        ]
        return sorted(of_order, key=lambda v: v.value.complaint.opened_at, reverse=True)[:limit], None
    if statuses and len(statuses) > 1:
        found: list[Versioned[StoredComplaint]] = []
        for status in statuses:
            found += store.complaints_listing(status=status, supplier_id=supplier_id, limit=limit).items
        return sorted(found, key=lambda v: v.value.complaint.opened_at, reverse=True)[:limit], None
    page = store.complaints_listing(status=statuses[0] if statuses else None, supplier_id=supplier_id, limit=limit, cursor=cursor)
    return page.items, page.cursor


# ---------------------------------------------------------------- photos


def photo_prefix(order_id: str, customer_id: str) -> str:
    # a short, stable, non-reversible token of the customer (the same as the table's key hashes)
    return f"{PHOTO_PREFIX}/{order_id}/{hashlib.sha256(customer_id.encode()).hexdigest()[:16]}/"


def photo_upload(actor: Principal, order_id: str, *, content_type: str, size_bytes: int, file_name: str | None) -> files.Upload:
    """A presigned POST for one photo of a complaint about this order (the customer's own order)."""
    require(actor, CUSTOMERS, "upload complaint photos")
    _own_order(actor, order_id)
    p = policy()
    problems = rules.photo_problems([Photo("new", content_type, size_bytes)], p)
    if problems:
        raise RuleViolation(
            "invalid_photo",
            "; ".join(str(x["message"]) for x in problems),
            details=[{**x, "field": str(x["field"]).replace("photos[0].", "")} for x in problems],
        )
    name = PHOTO_NAME.sub("-", (file_name or "photo"))[:80].strip("-.") or "photo"
    key = f"{photo_prefix(order_id, actor.sub)}{new_id('img')}-{name}"
    return files.presigned_post(key, content_type, max_bytes=p.max_photo_bytes)


def _check_photos(photos: list[Photo], order_id: str, customer_id: str) -> list[Photo]:
    """Each photo is this customer's upload for this order, and S3 holds what was declared."""
    prefix = photo_prefix(order_id, customer_id)
    problems: list[dict[str, Any]] = []
    checked: list[Photo] = []
    for i, photo in enumerate(photos):
        where = f"photos[{i}]"
        if not photo.key.startswith(prefix):
            problems.append({"field": f"{where}.key", "message": "not a photo uploaded for this order"})
            continue
        head = files.head(photo.key)
        if head is None:
            problems.append({"field": f"{where}.key", "message": f"nothing was uploaded under {photo.key}"})
            continue
        size, stored_type = int(head.get("ContentLength", 0)), str(head.get("ContentType", ""))
        if stored_type and stored_type != photo.content_type:
            problems.append(
                {"field": f"{where}.content_type", "message": f"the upload is {stored_type}, not {photo.content_type}"}
            )
        checked.append(Photo(photo.key, stored_type or photo.content_type, size or photo.size_bytes))
    if problems:
        raise RuleViolation(
            "invalid_complaint",
            "the complaint cannot be opened: " + "; ".join(str(p["message"]) for p in problems),
            details=problems,
        )
    return checked


# ---------------------------------------------------------------- opening


def _delivery_times(shipments: list[ShipmentCopy], supplier_id: str) -> tuple[datetime | None, datetime | None]:
    """(delivered_at, expected_by) of a supplier's delivery, from the customer's copies of its parcels:
    the last parcel's delivery time, and the last dispatch plus the expected delivery time."""
    parcels = [s for s in shipments if s.supplier_id == supplier_id and s.status != "superseded"]
    delivered = [s.status_at or s.updated_at for s in parcels if s.status == "delivered"]
    expected = [s.created_at + timedelta(seconds=settings().delivery_expected_within_s) for s in parcels]
    return (max(delivered) if delivered else None), (max(expected) if expected else None)


def _commit(changes: list[Change], *, what: str, at: datetime) -> None:
    """One transaction of the port. A create that finds its key taken (a parcel's tracking number
    registered meanwhile, a delivery's first claims written meanwhile) answers as any lost race does:
    a Conflict about `what` (retried where the step is retried)."""
    try:
        uow.store().commit(changes, what=what, at=at)
    except AlreadyExists as exc:
        raise Conflict(f"{what} was changed by someone else; reload and try again") from exc


def open_complaint(
    actor: Principal,
    order_id: str,
    *,
    supplier_id: str,
    reason: ComplaintReason,
    wanted: Resolution,
    lines: list[RequestedLine],
    photos: list[Photo],
    description: str = "",
) -> ComplaintRecord:
    require(actor, CUSTOMERS, "open complaints")

    def attempt() -> tuple[Versioned[StoredComplaint], AuditEvent]:
        store = uow.store()
        found = store.complaint_order(order_id)
        if found is None or found.order.value.customer_id != actor.sub:
            raise NotFound(f"order {order_id} not found")
        order = found.order.value
        delivered_at, expected_by = _delivery_times(found.shipments, supplier_id)
        facts = rules.delivery_facts(order, supplier_id, delivered_at=delivered_at, expected_by=expected_by)
        claims = found.claims.get(supplier_id)
        earlier = [v.value.complaint for v in _complaints_of_order(order_id)]
        at = now()
        complaint = rules.open_complaint(
            complaint_id=new_id("cpl"),
            facts=facts,
            reason=reason,
            wanted=wanted,
            requested=lines,
            photos=photos,
            earlier=earlier,
            actor=actor,
            policy=policy(),
            now=at,
            description=description,
        )
        complaint.photos = _check_photos(complaint.photos, order_id, actor.sub)
        names = {line.sku: line.name for line in order.lines}
        stored = StoredComplaint(
            complaint=complaint,
            customer_email=order.customer_email,
            campaign_id=order.campaign_id,
            po_id=store.supplier_po(order.campaign_id, supplier_id),
            currency=order.currency,
            updated_at=at,
            line_names={l.sku: names.get(l.sku, l.sku) for l in complaint.lines},
        )
        count = 1 + (claims.value.complaints if claims else 0)
        event = _event(
            stored,
            "complaint.opened",
            actor,
            at,
            None,
            C.OPEN.value,
            customer_note="We have received your complaint and will get back to you.",
            data={
                "reason": reason.value,
                "wanted": wanted.value,
                "lines": [{"sku": l.sku, "quantity": l.quantity} for l in complaint.lines],
            },
        )
        _commit(
            [
                Save(stored, None),
                Save(DeliveryClaims(order_id, supplier_id, count), claims.version if claims else None),
                Record(event),
            ],
            what=f"delivery {order_id}/{supplier_id}",
            at=at,
        )
        return Versioned(stored, 1), event

    # A Conflict: another complaint on the delivery was opened meanwhile; check the quantities again.
    stored, event = on_conflict(attempt, retries=RETRIES, what=f"delivery {order_id}/{supplier_id}")
    _sync_exception(stored.value, None)
    return ComplaintRecord(stored, [event])


# ---------------------------------------------------------------- events


def refs(stored: StoredComplaint) -> dict[str, Any]:
    """What every complaint event carries: the notification rules and webhooks read these."""
    c = stored.complaint
    return {
        "complaint_id": c.id,
        "order_id": c.order_id,
        "supplier_id": c.supplier_id,
        "campaign_id": stored.campaign_id,
        "po_id": stored.po_id,
        "customer_email": stored.customer_email,
        "reason": c.reason.value,
        "status": c.status.value,
        "currency": stored.currency,
    }


def _event(
    stored: StoredComplaint,
    type_: str,
    actor: Principal,
    at: datetime,
    from_status: str | None,
    to_status: str | None,
    *,
    internal_note: str | None = None,
    customer_note: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(
        id=new_id("evt"),
        subject_type="complaint",
        subject_id=stored.id,
        type=type_,
        actor=actor,
        at=at,
        from_status=from_status,
        to_status=to_status,
        internal_note=internal_note,
        customer_note=customer_note,
        data={**refs(stored), **(data or {})},
    )


def _sync_exception(stored: StoredComplaint, before: str | None) -> None:
    """`complaint_open` is live while the complaint waits for customer care."""
    c = stored.complaint
    now_with_care = c.status in WITH_CARE
    was_with_care = before is not None and ComplaintStatus(before) in WITH_CARE
    if now_with_care and not was_with_care:
        exceptions.raise_or_bump(
            EXCEPTION_KIND,
            "complaint",
            c.id,
            {
                "complaint_id": c.id,
                "order_id": c.order_id,
                "supplier_id": c.supplier_id,
                "campaign_id": stored.campaign_id,
                "po_id": stored.po_id,
                "reason": c.reason.value,
                "status": c.status.value,
                "customer_email": stored.customer_email,
            },
        )
    elif was_with_care and not now_with_care:
        exceptions.resolve(EXCEPTION_KIND, "complaint", c.id, note=f"the complaint is {c.status.value}")


def plan_text(plan: Plan, currency: str, names: dict[str, str]) -> str:
    """The plan as the customer reads it."""
    parts = []
    for line in plan.lines:
        what = f"{line.quantity} x {names.get(line.sku, line.sku)}"
        if line.resolution is Resolution.REFUND:
            parts.append(f"{what}: a refund of {line.refund_cents / 100:.2f} {currency}")
        elif line.resolution is Resolution.REPLACEMENT:
            parts.append(f"{what}: a replacement sent by the supplier")
        else:
            parts.append(f"{what}: send it back and get {line.refund_cents / 100:.2f} {currency} refunded on receipt")
    return "We propose: " + "; ".join(parts) + ". Please accept or dispute this plan."


# ---------------------------------------------------------------- handling


@dataclass(frozen=True)
class Notes:
    internal_note: str | None = None
    customer_note: str | None = None


def act(
    actor: Principal,
    complaint_id: str,
    action: ComplaintAction,
    *,
    expected_version: int | None,
    notes: Notes = Notes(),
    order_id: str | None = None,
    question: str | None = None,
    answer: str | None = None,
    plan: list[ProposedLine] | None = None,
) -> ComplaintRecord:
    """One step of the complaint's life (see the domain's table) by a person: the role and status
    are the domain's checks, the object-level one (own order / own PO) is here. `expected_version`
    refuses with 409 when the complaint moved on since the caller read it."""

    def attempt() -> tuple[ComplaintRecord, str, AuditEvent]:
        record = _own(_load(complaint_id, with_order=action in (A.SUBMIT_PLAN, A.APPROVE_PLAN)), actor, order_id)
        stored, complaint = record.stored.value, record.complaint
        if expected_version is not None and expected_version != record.version:
            raise stale_subject(
                f"complaint {complaint_id}", "complaint", complaint_id, record.version, expected_version, record.events
            )
        at = now()
        before = complaint.status.value
        data: dict[str, Any] = {}
        customer_note = notes.customer_note
        internal_note = notes.internal_note
        if action is A.PROPOSE_PLAN:
            rules.propose_plan(complaint, plan or [], actor, policy(), at)
            assert complaint.plan is not None
            stored.plan_approved_by, stored.plan_approved_at = None, None  # a new plan is approved anew
            data = {"refund_cents": complaint.plan.refund_cents, "needs_approval": rules.needs_approval(complaint.plan, policy())}
        else:
            if action in (A.SUBMIT_PLAN, A.APPROVE_PLAN):
                rules.check_action(complaint, action, actor)  # role and status before the money question
                assert complaint.plan is not None and record.money is not None
                rules.check_refund_cap(record.money.captured_cents, record.money.refunded_cents, complaint.plan)
            if action is A.REJECT_PLAN and not internal_note:
                raise RuleViolation(
                    "note_required",
                    "say why the plan goes back to customer care",
                    details=[{"field": "note", "message": "required"}],
                )
            rules.apply_action(complaint, action, actor, policy())
        names = stored.line_names
        if action is A.ASK_SUPPLIER:
            stored.supplier_question = question
            data = {"question": question}
        elif action is A.ANSWER:
            stored.supplier_answer, stored.supplier_answered_at = answer, at
            data = {"answer": answer}
        elif action is A.APPROVE_PLAN and complaint.plan is not None:
            stored.plan_approved_by, stored.plan_approved_at = actor.sub, at
        if complaint.status in rules.PLAN_WITH_STAFF and customer_note:
            data["note_for_offer"] = customer_note  # told when the plan is offered, not before
            customer_note = None
        if complaint.status is C.PLAN_APPROVED and complaint.plan is not None:
            customer_note = customer_note or _note_for_offer(record) or plan_text(complaint.plan, stored.currency, names)
        if complaint.status in (C.PLAN_APPROVED, C.NEEDS_APPROVAL) and complaint.plan is not None:
            data["refund_cents"] = complaint.plan.refund_cents
        stored.updated_at = at
        type_ = EVENT_TYPES.get((action, complaint.status), f"complaint.{action.value}")
        event = _event(
            stored,
            type_,
            actor,
            at,
            before,
            complaint.status.value,
            internal_note=internal_note,
            customer_note=customer_note,
            data=data,
        )
        _commit([Save(stored, record.version), Record(event)], what=f"complaint {complaint_id}", at=at)
        record.stored = Versioned(stored, record.version + 1)
        return record, before, event

    record, before, event = on_conflict(
        attempt, retries=RETRIES, expected_version=expected_version, what=f"complaint {complaint_id}"
    )
    _sync_exception(record.stored.value, before)
    record.events.append(event)
    return record


def _note_for_offer(record: ComplaintRecord) -> str | None:
    """What care wrote to the customer when it submitted a plan that then waited for an admin."""
    held = [e for e in record.events if e.type == "complaint.plan_needs_approval"]
    if not held:
        return None
    return str(held[-1].data.get("note_for_offer") or "") or None


# Event types: `complaint.<action>` unless named here; the plan reaching the customer is one type
# however it got there (submitted under the threshold, or approved by an admin).
EVENT_TYPES: dict[tuple[ComplaintAction, ComplaintStatus], str] = {
    (A.ASK_SUPPLIER, C.AWAITING_SUPPLIER): "complaint.supplier_asked",
    (A.ANSWER, C.SUPPLIER_ANSWERED): "complaint.supplier_answered",
    (A.PROPOSE_PLAN, C.PLAN_PROPOSED): "complaint.plan_proposed",
    (A.SUBMIT_PLAN, C.PLAN_APPROVED): "complaint.plan_offered",
    (A.SUBMIT_PLAN, C.NEEDS_APPROVAL): "complaint.plan_needs_approval",
    (A.APPROVE_PLAN, C.PLAN_APPROVED): "complaint.plan_offered",
    (A.REJECT_PLAN, C.PLAN_PROPOSED): "complaint.plan_rejected",
    (A.ACCEPT_PLAN, C.ACCEPTED): "complaint.plan_accepted",
    (A.DISPUTE_PLAN, C.DISPUTED): "complaint.plan_disputed",
    (A.RESOLVE, C.RESOLVED): "complaint.resolved",
    (A.WITHDRAW, C.WITHDRAWN): "complaint.withdrawn",
}


def add_note(actor: Principal, complaint_id: str, notes: Notes) -> ComplaintRecord:
    require(actor, rules.CARE, "add notes to complaints")
    if not notes.internal_note and not notes.customer_note:
        raise RuleViolation(
            "invalid_note",
            "write an internal or a customer-facing note",
            details=[{"field": "internal_note", "message": "one of the two notes is required"}],
        )
    record = _load(complaint_id)
    status = record.complaint.status.value
    event = _event(
        record.stored.value,
        "complaint.note_added",
        actor,
        now(),
        status,
        status,
        internal_note=notes.internal_note,
        customer_note=notes.customer_note,
    )
    _commit([Record(event)], what=f"complaint {complaint_id}", at=event.at)
    record.events.append(event)
    return record


# ---------------------------------------------------------------- money: refunds and charge-backs


def _refund_changes(stored: StoredComplaint, dues: Iterable[RefundDue], captured: int, at: datetime) -> list[Change]:
    """Pending refunds (created once), the charge-backs, and what complaints refunded on the order,
    added under the cap: one transaction with the step that makes the refunds due."""
    dues = [d for d in dues if d.amount_cents > 0]
    if not dues:
        return []
    total = sum(d.amount_cents for d in dues)
    if total > captured:
        rules.check_refundable(total, captured, 0)
    c = stored.complaint
    changes: list[Change] = []
    for due in dues:
        refund = Payment(
            id=due.id,
            order_id=c.order_id,
            payment_kind=REFUND,
            supplier_id=c.supplier_id,
            amount_cents=due.amount_cents,
            currency=stored.currency,
            status=PENDING,
            idempotency_key=due.id,
            created_at=at,
            updated_at=at,
            complaint_id=c.id,
            sku=due.sku,
            reason=f"complaint {c.id}: {c.reason.value}",
            actor=SYSTEM.sub,
        )
        changes.append(Save(refund, None))
        if due.charge_back_cents > 0 and stored.po_id:
            charge_back = ChargeBack(
                refund_id=due.id,
                complaint_id=c.id,
                order_id=c.order_id,
                po_id=stored.po_id,
                supplier_id=c.supplier_id,
                campaign_id=stored.campaign_id,
                sku=due.sku,
                amount_cents=due.charge_back_cents,
                currency=stored.currency,
                created_at=at,
            )
            changes.append(Save(charge_back, None))
    changes.append(AddRefunded(c.order_id, total, captured_cents=captured))
    return changes


def _captured(order_id: str) -> tuple[int, int]:
    """(captured, refunded through complaints) of the order, read now."""
    order = uow.store().complaint_order(order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    money = _money(order)
    return money.captured_cents, money.refunded_cents


def carry_out(complaint_id: str) -> str:
    """The complaints consumer on `complaint.plan_accepted`: start the accepted plan (refunds due now,
    the return authorisation, the replacement for the supplier), then issue the refunds. Safe to run
    again: a started plan is not started twice, and only refunds still pending are sent."""

    def start() -> StoredComplaint | None:
        """None once the plan is started (now or before); the complaint when its plan refunds too much."""
        record = _load(complaint_id)
        stored, complaint = record.stored.value, record.complaint
        if complaint.status is not C.ACCEPTED:
            return None
        at = now()
        execution = rules.carry_out(complaint, at)
        captured, refunded = _captured(complaint.order_id)
        if sum(d.amount_cents for d in execution.refunds) > rules.refundable_cents(captured, refunded):
            return stored
        transition = rules.apply_action(complaint, A.START, SYSTEM, policy())
        stored.updated_at = at
        stored.replacement_lines = [SkuQuantity(r.sku, r.quantity) for r in execution.replacements]
        changes: list[Change] = [Save(stored, record.version)]
        if execution.rma is not None:
            rma = StoredReturn(execution.rma, return_instructions(execution.rma.id, complaint.supplier_id), at)
            changes.append(Save(rma, None))
        changes += _refund_changes(stored, execution.refunds, captured, at)
        note = started_text(stored, execution)
        changes.append(
            Record(
                _event(
                    stored,
                    "complaint.started",
                    SYSTEM,
                    at,
                    transition.from_status,
                    transition.to_status,
                    customer_note=note,
                    data={
                        "refunds": [{"refund_id": r.id, "sku": r.sku, "amount_cents": r.amount_cents} for r in execution.refunds],
                        "replacements": [{"sku": r.sku, "quantity": r.quantity} for r in execution.replacements],
                        "return_id": execution.rma.id if execution.rma else None,
                    },
                )
            )
        )
        if execution.replacements:  # the supplier is asked to ship (its own event: its own e-mail)
            changes.append(
                Record(
                    _event(
                        stored,
                        "complaint.replacement_requested",
                        SYSTEM,
                        at,
                        complaint.status.value,
                        complaint.status.value,
                        data={
                            "replacements": [{"sku": r.sku, "quantity": r.quantity} for r in execution.replacements],
                            "lines_text": ", ".join(f"{r.quantity} x {r.sku}" for r in execution.replacements),
                        },
                    )
                )
            )
        _commit(changes, what=f"complaint {complaint_id}", at=at)
        return None

    too_much = on_conflict(start, retries=RETRIES, what=f"complaint {complaint_id}")
    if too_much is not None:
        exceptions.raise_or_bump(
            EXCEPTION_KIND,
            "complaint",
            too_much.id,
            {**refs(too_much), "problem": "the plan refunds more than the order can still refund"},
            severity="critical",
        )
        return "refund_exceeds_captured"
    issued = issue_refunds(complaint_id)
    maybe_complete(complaint_id)
    return f"refunds:{issued}"


def started_text(stored: StoredComplaint, execution: rules.Execution) -> str:
    parts = []
    if execution.refunds:
        total = sum(r.amount_cents for r in execution.refunds)
        parts.append(f"we are refunding {total / 100:.2f} {stored.currency}")
    if execution.replacements:
        parts.append("the supplier will send a replacement")
    if execution.rma is not None:
        parts.append(f"please send the goods back quoting return {execution.rma.id}; your refund follows when they arrive")
    return "Your complaint is being handled: " + "; ".join(parts) + "."


def return_instructions(rma_id: str, supplier_id: str) -> str:
    return (
        f"Pack the items listed, write {rma_id} on the parcel and send it to supplier {supplier_id}'s "
        "returns address. Register the carrier and tracking number here once it is on its way."
    )


def issue_refunds(complaint_id: str) -> int:
    """Send this complaint's pending refunds to the gateway (idempotency key: the refund id) and
    finish each record. Returns how many succeeded now."""
    record = _load(complaint_id, with_order=True)
    stored = record.stored.value
    done = 0
    for found in record.refunds:
        refund = found.value
        if refund.status != PENDING:
            continue
        capture = _capture_reference(stored.complaint.order_id, stored.complaint.supplier_id)
        request = gateway.RefundRequest(
            refund_id=refund.idempotency_key,
            order_id=refund.order_id,
            amount_cents=refund.amount_cents,
            currency=refund.currency,
            reference=f"complaint {complaint_id} / {refund.sku}",
            transaction_id=capture,
        )
        try:
            result = gateway.refund(request)
        except gateway.GatewayDeclined as exc:
            _finish_refund(stored, found, FAILED, failure=declined(exc, refund, complaint_id=complaint_id))
            continue
        except gateway.GatewayUnavailable:
            logger.warning(
                "payment gateway unavailable; the refund stays pending",
                extra={"complaint_id": complaint_id, "refund_id": refund.id},
            )
            raise
        if _finish_refund(stored, found, SUCCEEDED, reference=result.transaction_id):
            done += 1
    return done


def _capture_reference(order_id: str, supplier_id: str) -> str | None:
    from .capture import capture_id

    found = uow.store().load(Payment, order_id, capture_id(order_id, supplier_id))
    return found.value.gateway_reference if found is not None and found.value.status == SUCCEEDED else None


def _finish_refund(
    stored: StoredComplaint,
    found: Versioned[Payment],
    status: str,
    *,
    reference: str | None = None,
    failure: str | None = None,
) -> bool:
    at = now()
    refund = found.value
    refund.status, refund.updated_at, refund.gateway_reference, refund.failure = status, at, reference, failure
    amount = f"{refund.amount_cents / 100:.2f} {refund.currency}"
    complaint_status = stored.complaint.status.value
    changes: list[Change] = [
        Save(refund, found.version),
        Record(
            _event(
                stored,
                "complaint.refund_issued" if status == SUCCEEDED else "complaint.refund_failed",
                SYSTEM,
                at,
                complaint_status,
                complaint_status,
                customer_note=f"We have refunded {amount} to your original payment method." if status == SUCCEEDED else None,
                internal_note=None if status == SUCCEEDED else f"refund {refund.id} failed: {(failure or '')[:200]}",
                data={
                    "refund_id": refund.id,
                    "sku": refund.sku,
                    "amount_cents": refund.amount_cents,
                    "currency": refund.currency,
                    "gateway_reference": reference,
                },
            )
        ),
    ]
    if status == SUCCEEDED:  # the campaign counts money that moved back, once it moved
        changes.append(CountCampaign(stored.campaign_id, refund.order_id, metrics.refund_succeeded(refund.amount_cents)))
    if status == FAILED:  # a failed refund gives its amount back to what the order can refund
        changes.append(AddRefunded(refund.order_id, -refund.amount_cents))
    try:
        uow.store().commit(changes, what=f"refund {refund.id}", at=at)
    except Conflict:
        return False  # a concurrent run finished it (same key: the same gateway answer)
    return True


def maybe_complete(complaint_id: str) -> bool:
    """A started plan whose refunds succeeded, whose return arrived and whose replacement was
    delivered is resolved (by the system, telling the customer)."""
    record = _load(complaint_id, with_order=True)
    stored = record.stored.value
    if record.complaint.status is not C.IN_PROGRESS:
        return False
    if any(r.value.status != SUCCEEDED for r in record.refunds):
        return False
    if record.rma is not None and record.rma.value.rma.status is not ReturnStatus.RECEIVED:
        return False
    if stored.replacement_lines and (stored.replacement is None or stored.replacement.status != PARCEL_DELIVERED):
        return False
    try:
        act(
            SYSTEM,
            complaint_id,
            A.RESOLVE,
            expected_version=record.version,
            notes=Notes(customer_note="Your complaint is resolved. Thank you for your patience."),
        )
    except (Conflict, InvalidTransition):
        return False
    return True


# ---------------------------------------------------------------- returns


def _parcel_pointer(carrier: str, tracking_number: str, stored: StoredComplaint, purpose: str, at: datetime) -> Save:
    if uow.store().load(ShipmentRecord, carrier, tracking_number) is not None:
        raise RuleViolation(
            "tracking_in_use",
            f"{carrier} {tracking_number} is already a shipment's tracking number",
            details=[{"field": "tracking_number", "message": "already used by another parcel"}],
        )
    return Save(ComplaintParcel(carrier, tracking_number, stored.id, stored.complaint.order_id, purpose, at), None)


def register_return_parcel(
    actor: Principal, order_id: str, complaint_id: str, *, carrier: str, tracking_number: str
) -> ComplaintRecord:
    """The customer sent the goods back: the return is in transit, and the carrier's webhooks for
    the number now reach it (its delivery is the return's receipt)."""
    require(actor, CUSTOMERS, "send returns")
    record = _own(_load(complaint_id), actor, order_id)
    if record.rma is None:
        raise InvalidTransition(f"complaint {complaint_id} has no return authorisation")
    stored, found = record.stored.value, record.rma
    rma = found.value
    at = now()
    transition = rules.apply_return_action(rma.rma, ReturnAction.SHIP, actor, at)
    rma.updated_at = at
    rma.parcel = Parcel(carrier, tracking_number, PARCEL_SHIPPED, at)
    status = stored.complaint.status.value
    event = _event(
        stored,
        "complaint.return_shipped",
        actor,
        at,
        status,
        status,
        data={
            "return_id": rma.rma.id,
            "carrier": carrier,
            "tracking_number": tracking_number,
            "from_return_status": transition.from_status,
        },
    )
    try:
        uow.store().commit(
            [
                Save(rma, found.version),
                _parcel_pointer(carrier, tracking_number, stored, RETURN_PARCEL, at),
                Record(event),
            ],
            what=f"return {rma.rma.id}",
            at=at,
        )
    except Conflict:
        raise Conflict(
            f"return {rma.rma.id} or parcel {carrier} {tracking_number} changed meanwhile; reload and try again"
        ) from None
    _replay_early(carrier, tracking_number)
    return _load(complaint_id, with_order=True)


def receive_return(actor: Principal, complaint_id: str, *, expected_version: int | None = None) -> ComplaintRecord:
    """The returned goods arrived (staff or the supplier by hand; the system on the carrier's
    delivery): the return's refunds are due, and the delivery shows what came back."""
    if actor is not SYSTEM and not actor.is_staff:
        require(actor, SUPPLIERS, "receive returns")

    def receive() -> None:
        record = _own(_load(complaint_id), actor) if actor is not SYSTEM else _load(complaint_id)
        stored, found = record.stored.value, record.rma
        if found is None:
            raise InvalidTransition(f"complaint {complaint_id} has no return authorisation")
        rma = found.value
        if expected_version is not None and found.version != expected_version:
            raise Conflict(f"return {rma.rma.id} is at version {found.version}, not {expected_version}; reload")
        at = now()
        rules.apply_return_action(rma.rma, ReturnAction.RECEIVE, actor, at)
        rma.rma.received_at, rma.updated_at = at, at
        dues = rules.refunds_on_receipt(rma.rma)
        captured, refunded = _captured(stored.complaint.order_id)
        rules.check_refundable(sum(d.amount_cents for d in dues), captured, refunded)
        changes: list[Change] = [Save(rma, found.version), *_refund_changes(stored, dues, captured, at)]
        changes += _returned_delivery_changes(stored, rma.rma, at)
        status = stored.complaint.status.value
        changes.append(
            Record(
                _event(
                    stored,
                    "complaint.return_received",
                    actor,
                    at,
                    status,
                    status,
                    customer_note="Your return has arrived; your refund is on its way.",
                    data={
                        "return_id": rma.rma.id,
                        "refunds": [{"refund_id": d.id, "sku": d.sku, "amount_cents": d.amount_cents} for d in dues],
                    },
                )
            )
        )
        uow.store().commit(changes, what=f"return {rma.rma.id}", at=at)

    on_conflict(receive, retries=RETRIES, expected_version=expected_version, what=f"complaint {complaint_id}")
    with contextlib.suppress(gateway.GatewayUnavailable):  # left pending: the complaints consumer
        issue_refunds(complaint_id)  # sends them on `complaint.return_received`
    maybe_complete(complaint_id)
    return _load(complaint_id, with_order=True)


def _returned_delivery_changes(stored: StoredComplaint, received: ReturnAuthorisation, at: datetime) -> list[Change]:
    """The order's delivery goes partially_returned or returned: what came back, over every
    received return of the delivery, against what was delivered."""
    c = stored.complaint
    found = uow.store().load(Order, c.order_id)
    if found is None:
        raise NotFound(f"order {c.order_id} not found")
    order = found.value
    rmas = [received]
    for other in _complaints_of_order(c.order_id):
        if other.value.id != c.id and other.value.complaint.supplier_id == c.supplier_id:
            rmas += [r.value.rma for r in uow.store().returns_of_complaint(other.value.id)]
    delivered = rules.delivered_quantities(order, c.supplier_id)
    returned = rules.returned_quantities(rmas)
    state = rules.return_state(delivered, Counter({k: min(v, delivered.get(k, 0)) for k, v in returned.items()}))
    if state is None:
        return []
    action = DeliveryAction.RETURN_ALL if state is rules.ReturnState.RETURNED else DeliveryAction.RETURN_PART
    delivery = order.delivery(c.supplier_id)
    if delivery.status.value == state.value:
        return []
    from ..domain.orders import apply_delivery_action

    transition = apply_delivery_action(order, c.supplier_id, action)
    order_event = AuditEvent(
        id=new_id("evt"),
        subject_type="order",
        subject_id=order.id,
        type=f"order.{state.value}",
        actor=SYSTEM,
        at=at,
        from_status=transition.from_status,
        to_status=transition.to_status,
        data={
            "order_id": order.id,
            "supplier_id": c.supplier_id,
            "complaint_id": c.id,
            "customer_email": order.customer_email,
            "delivery_status": state.value,
        },
    )
    return [Save(order, found.version, status_before=transition.from_status), Record(order_event)]


# ---------------------------------------------------------------- replacements


def ship_replacement(actor: Principal, complaint_id: str, *, carrier: str, tracking_number: str) -> ComplaintRecord:
    """The supplier sent the replacement: the customer is told, and the carrier's webhooks follow it."""
    require(actor, SUPPLIERS, "ship replacements")
    record = _own(_load(complaint_id), actor)
    stored = record.stored.value
    status = stored.complaint.status.value
    if stored.complaint.status is not C.IN_PROGRESS or not stored.replacement_lines:
        raise InvalidTransition(
            f"complaint {complaint_id} is {status}; a replacement ships once an accepted plan with a replacement is in progress"
        )
    if stored.replacement is not None:
        raise InvalidTransition(
            f"complaint {complaint_id}'s replacement was already sent "
            f"({stored.replacement.carrier} {stored.replacement.tracking_number})"
        )
    at = now()
    stored.replacement = Parcel(carrier, tracking_number, PARCEL_SHIPPED, at)
    stored.updated_at = at
    event = _event(
        stored,
        "complaint.replacement_shipped",
        actor,
        at,
        status,
        status,
        customer_note=f"Your replacement is on its way: {carrier.upper()} {tracking_number}.",
        data={"carrier": carrier, "tracking_number": tracking_number},
    )
    _commit(
        [
            Save(stored, record.version),
            _parcel_pointer(carrier, tracking_number, stored, REPLACEMENT_PARCEL, at),
            Record(event),
        ],
        what=f"complaint {complaint_id}",
        at=at,
    )
    _replay_early(carrier, tracking_number)
    return _load(complaint_id)


# ---------------------------------------------------------------- carrier events for complaint parcels


def parcel_for(carrier: str, tracking_number: str) -> ComplaintParcel | None:
    found = uow.store().load(ComplaintParcel, carrier, tracking_number)
    return found.value if found is not None else None


def on_parcel_event(parcel: ComplaintParcel, event: CarrierEvent) -> str:
    """A carrier event for a return or replacement parcel (`inbound.apply_carrier_event` routes it
    here; the raw event is kept as a TRACK item there). Delivered: the return is received, or the replacement
    arrived; earlier statuses only mark the parcel on its way."""
    if event.status is not TrackingStatus.DELIVERED:
        return "recorded"
    if parcel.purpose == RETURN_PARCEL:
        record = _load(parcel.complaint_id)
        if record.rma is None or record.rma.value.rma.status is ReturnStatus.RECEIVED:
            return "duplicate"
        receive_return(SYSTEM, parcel.complaint_id)
        return "return_received"

    def deliver() -> str:
        record = _load(parcel.complaint_id)
        stored = record.stored.value
        if stored.replacement is None or stored.replacement.status == PARCEL_DELIVERED:
            return "duplicate"
        at = now()
        stored.replacement = replace(stored.replacement, status=PARCEL_DELIVERED, status_at=at)
        stored.updated_at = at
        status = stored.complaint.status.value
        event_ = _event(
            stored,
            "complaint.replacement_delivered",
            SYSTEM,
            at,
            status,
            status,
            customer_note="Your replacement has been delivered.",
            data={"carrier": parcel.carrier, "tracking_number": parcel.tracking_number},
        )
        _commit([Save(stored, record.version), Record(event_)], what=f"complaint {stored.id}", at=at)
        return "replacement_delivered"

    outcome = on_conflict(deliver, retries=RETRIES, what=f"complaint {parcel.complaint_id}")
    if outcome == "replacement_delivered":
        maybe_complete(parcel.complaint_id)
    return outcome


def _replay_early(carrier: str, tracking_number: str) -> None:
    """Carrier events for the number that came before it was registered (kept as `TRACK#` items by
    `inbound.apply_carrier_event`) are applied to the parcel now, oldest first, and the
    `unknown_tracking` problem they raised is resolved. A number a shipment has is the shipment's:
    its events are replayed when the shipment is recorded."""
    store = uow.store()
    if store.load(ShipmentRecord, carrier, tracking_number) is not None:
        return
    parcel = parcel_for(carrier, tracking_number)
    early = store.track_events(carrier, tracking_number)
    for track in sorted(early, key=lambda t: t.event.occurred_at):
        if parcel is not None:
            on_parcel_event(parcel, track.event)
    if early:
        exceptions.resolve(
            "unknown_tracking", "tracking", parcel_ref(carrier, tracking_number), note="the supplier recorded the shipment"
        )


# ---------------------------------------------------------------- charge-backs


@dataclass(frozen=True)
class SupplierChargeBacks:
    supplier_id: str
    po_id: str
    amount_cents: int
    currency: str
    count: int


def charge_backs_of_campaign(actor: Principal, campaign_id: str) -> list[SupplierChargeBacks]:
    """What each supplier of the campaign is charged back for complaints (one Query)."""
    require(actor, READ_STAFF, "read charge-backs")
    totals: dict[str, list[ChargeBack]] = {}
    for charge_back in uow.store().campaign_charge_backs(campaign_id):
        totals.setdefault(charge_back.supplier_id, []).append(charge_back)
    return [
        SupplierChargeBacks(s, found[0].po_id, sum(c.amount_cents for c in found), found[0].currency, len(found))
        for s, found in sorted(totals.items())
    ]
