"""Complaint routes for the three audiences: the customer opens and follows a complaint on its
own order (accepts or disputes the plan, sends a return); customer care handles it (asks the
supplier, proposes and submits a plan, resolves) and an admin approves plans above the
threshold; the supplier answers and ships replacements. Another customer's or supplier's
complaint is a 404."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.complaints import PLAN_WITH_STAFF, ComplaintAction, ComplaintReason, Photo, ProposedLine, Resolution
from ..domain.complaints import allowed_actions as complaint_actions
from ..domain.orders import RequestedLine
from ..domain.permissions import APPROVE_COMPLAINT_PLANS, HANDLE_COMPLAINTS, READ_STAFF, Principal, Role, roles
from ..lazy import lazy_module
from .http import Call, endpoint

if TYPE_CHECKING:
    from .. import config
    from ..adapters import files
    from ..services import complaints
    from ..services.ports_common import Versioned
    from ..services.ports_complaints import StoredComplaint
    from .views import complaints as views
else:
    complaints = lazy_module("chalicelib.services.complaints")
    files = lazy_module("chalicelib.adapters.files")
    config = lazy_module("chalicelib.config")
    views = lazy_module("chalicelib.api.views.complaints")

complaints_api = Blueprint(__name__)
CUSTOMER = roles(Role.CUSTOMER)
SUPPLIER = roles(Role.SUPPLIER)
A = ComplaintAction


def _customer(call: Call) -> Principal:
    """On the customer routes the caller acts as a customer only (see api/customer.py)."""
    return dataclasses.replace(call.actor, roles=CUSTOMER)


def _supplier(call: Call) -> Principal:
    return dataclasses.replace(call.actor, roles=SUPPLIER)


def _threshold() -> int:
    return int(config.settings().complaint_approval_threshold_cents)


def _sight(status: str, *, staff: bool = False, customer: bool = False) -> views.ComplaintSight:
    """Who sees what of a complaint: staff everything; the supplier no customer details or refunds; the
    customer no internal notes, identities, charge-backs or supplier answers, and a plan once it is offered."""
    return views.ComplaintSight(staff=staff, customer=customer, plan=not (customer and status in PLAN_WITH_STAFF))


def _summary(stored: Versioned[StoredComplaint], *, staff: bool = False, customer: bool = False) -> views.ComplaintSummaryView:
    status = stored.value.complaint.status.value
    return views.ComplaintSummaryView.of(stored, _sight(status, staff=staff, customer=customer), threshold_cents=_threshold())


def _view(record: complaints.ComplaintRecord, viewer: Principal, *, staff: bool) -> views.ComplaintView:
    """The complaint as `viewer` may see it: off the staff routes, a token naming a supplier reads as the supplier."""
    customer = not staff and viewer.supplier_id is None
    return views.ComplaintView.of_record(
        record,
        _sight(record.complaint.status.value, staff=staff, customer=customer),
        threshold_cents=_threshold(),
        actions=complaint_actions(record.complaint, viewer),
        photo_urls={p.key: files.presigned_get(p.key) for p in record.complaint.photos},
    )


# ---------------------------------------------------------------- customer


@endpoint(
    complaints_api,
    "/orders/{order_id}/complaint-photos",
    "POST",
    tag="customer",
    roles=CUSTOMER,
    summary="Get a presigned upload for one photo of a complaint about my order",
    body="ComplaintPhotoUploadRequest",
    response="PhotoUploadView",
    status=201,
)
def photo_upload(call: Call, order_id: str) -> views.PhotoUploadView:
    body: views.ComplaintPhotoUploadRequest = call.body
    upload = complaints.photo_upload(
        _customer(call), order_id, content_type=body.content_type, size_bytes=body.size_bytes, file_name=body.file_name
    )
    return views.PhotoUploadView.pick(upload)


@endpoint(
    complaints_api,
    "/orders/{order_id}/complaints",
    "POST",
    tag="customer",
    roles=CUSTOMER,
    summary="Complain about a delivery of my order (delivered, or lost past its expected date)",
    body="OpenComplaintRequest",
    response="ComplaintView",
    status=201,
)
def open_complaint(call: Call, order_id: str) -> views.ComplaintView:
    body: views.OpenComplaintRequest = call.body
    me = _customer(call)
    record = complaints.open_complaint(
        me,
        order_id,
        supplier_id=body.supplier_id,
        reason=ComplaintReason(body.reason),
        wanted=Resolution(body.wanted_resolution),
        lines=[RequestedLine(l.sku, l.quantity) for l in body.lines],
        photos=[Photo(p.key, p.content_type, p.size_bytes) for p in body.photos],
        description=body.description,
    )
    return _view(record, me, staff=False)


@endpoint(
    complaints_api,
    "/orders/{order_id}/complaints",
    "GET",
    tag="customer",
    roles=CUSTOMER,
    summary="My complaints about this order",
    response="ComplaintListView",
)
def list_my_complaints(call: Call, order_id: str) -> views.ComplaintListView:
    items = complaints.list_for_order(_customer(call), order_id)
    return views.ComplaintListView(
        items=[_summary(i, customer=True) for i in sorted(items, key=lambda i: i.value.complaint.opened_at, reverse=True)]
    )


@endpoint(
    complaints_api,
    "/orders/{order_id}/complaints/{complaint_id}",
    "GET",
    tag="customer",
    roles=CUSTOMER,
    summary="Follow my complaint: its plan, refunds, return and customer-facing timeline",
    response="ComplaintView",
)
def get_my_complaint(call: Call, order_id: str, complaint_id: str) -> views.ComplaintView:
    me = _customer(call)
    return _view(complaints.get_for_customer(me, order_id, complaint_id), me, staff=False)


def _customer_step(
    call: Call, order_id: str, complaint_id: str, action: ComplaintAction, internal_note: str | None = None
) -> views.ComplaintView:
    me = _customer(call)
    complaints.act(
        me,
        complaint_id,
        action,
        expected_version=call.body.expected_version,
        order_id=order_id,
        notes=complaints.Notes(internal_note=internal_note),
    )
    return _view(complaints.get_for_customer(me, order_id, complaint_id), me, staff=False)


@endpoint(
    complaints_api,
    "/orders/{order_id}/complaints/{complaint_id}/accept",
    "POST",
    tag="customer",
    roles=CUSTOMER,
    summary="Accept the plan offered: it is carried out",
    body="ComplaintVersionRequest",
    response="ComplaintView",
)
def accept_plan(call: Call, order_id: str, complaint_id: str) -> views.ComplaintView:
    return _customer_step(call, order_id, complaint_id, A.ACCEPT_PLAN)


@endpoint(
    complaints_api,
    "/orders/{order_id}/complaints/{complaint_id}/dispute",
    "POST",
    tag="customer",
    roles=CUSTOMER,
    summary="Refuse the plan offered: it goes back to customer care",
    body="ComplaintDisputeRequest",
    response="ComplaintView",
)
def dispute_plan(call: Call, order_id: str, complaint_id: str) -> views.ComplaintView:
    return _customer_step(
        call, order_id, complaint_id, A.DISPUTE_PLAN, internal_note=f"The customer disputes the plan: {call.body.reason}"
    )


@endpoint(
    complaints_api,
    "/orders/{order_id}/complaints/{complaint_id}/withdraw",
    "POST",
    tag="customer",
    roles=CUSTOMER,
    summary="Withdraw my complaint before a plan is offered",
    body="ComplaintVersionRequest",
    response="ComplaintView",
)
def withdraw(call: Call, order_id: str, complaint_id: str) -> views.ComplaintView:
    return _customer_step(call, order_id, complaint_id, A.WITHDRAW)


@endpoint(
    complaints_api,
    "/orders/{order_id}/complaints/{complaint_id}/return-shipment",
    "POST",
    tag="customer",
    roles=CUSTOMER,
    summary="I sent the goods back: the carrier and tracking number of the return parcel",
    body="ParcelIn",
    response="ComplaintView",
)
def return_shipment(call: Call, order_id: str, complaint_id: str) -> views.ComplaintView:
    me = _customer(call)
    record = complaints.register_return_parcel(
        me, order_id, complaint_id, carrier=call.body.carrier, tracking_number=call.body.tracking_number
    )
    return _view(record, me, staff=False)


# ---------------------------------------------------------------- staff


@endpoint(
    complaints_api,
    "/staff/complaints",
    "GET",
    tag="staff",
    roles=READ_STAFF,
    summary="Complaints, newest first, by status and supplier",
    query="ComplaintListQuery",
    response="ComplaintPage",
)
def list_complaints(call: Call) -> views.ComplaintPage:
    q: views.ComplaintListQuery = call.query
    items, cursor = complaints.search(
        call.actor,
        statuses=q.status.split(",") if q.status else None,
        supplier_id=q.supplier_id,
        limit=q.limit,
        cursor=q.cursor,
        order_id=q.order_id,
    )
    return views.ComplaintPage(items=[_summary(i, staff=True) for i in items], next_cursor=cursor)


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}",
    "GET",
    tag="staff",
    roles=READ_STAFF,
    summary="A complaint with its photos, plan, money, return and full audit trail",
    response="ComplaintView",
)
def get_complaint(call: Call, complaint_id: str) -> views.ComplaintView:
    return _view(complaints.get_for_staff(call.actor, complaint_id), call.actor, staff=True)


def _staff_step(
    call: Call,
    complaint_id: str,
    action: ComplaintAction,
    *,
    notes: complaints.Notes,
    question: str | None = None,
    plan: list[ProposedLine] | None = None,
) -> views.ComplaintView:
    complaints.act(
        call.actor, complaint_id, action, expected_version=call.body.expected_version, notes=notes, question=question, plan=plan
    )
    return _view(complaints.get_for_staff(call.actor, complaint_id), call.actor, staff=True)


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}/ask-supplier",
    "POST",
    tag="staff",
    roles=HANDLE_COMPLAINTS,
    summary="Ask the supplier for its side (it sees the question on its PO)",
    body="ComplaintAskRequest",
    response="ComplaintView",
)
def ask_supplier(call: Call, complaint_id: str) -> views.ComplaintView:
    return _staff_step(
        call,
        complaint_id,
        A.ASK_SUPPLIER,
        question=call.body.question,
        notes=complaints.Notes(internal_note=call.body.internal_note),
    )


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}/plan",
    "POST",
    tag="staff",
    roles=HANDLE_COMPLAINTS,
    summary="Propose (or revise) the handling plan: per line a refund, a replacement or a return for refund",
    body="ComplaintPlanRequest",
    response="ComplaintView",
)
def propose_plan(call: Call, complaint_id: str) -> views.ComplaintView:
    lines = [ProposedLine(l.sku, Resolution(l.resolution), l.quantity, l.refund_cents) for l in call.body.lines]
    return _staff_step(
        call, complaint_id, A.PROPOSE_PLAN, plan=lines, notes=complaints.Notes(internal_note=call.body.internal_note)
    )


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}/submit",
    "POST",
    tag="staff",
    roles=HANDLE_COMPLAINTS,
    summary="Offer the plan to the customer, or send it to an admin when it refunds above the threshold",
    body="ComplaintSubmitRequest",
    response="ComplaintView",
)
def submit_plan(call: Call, complaint_id: str) -> views.ComplaintView:
    return _staff_step(call, complaint_id, A.SUBMIT_PLAN, notes=complaints.Notes(customer_note=call.body.customer_note))


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}/approve",
    "POST",
    tag="staff",
    roles=APPROVE_COMPLAINT_PLANS,
    summary="Approve a plan above the threshold: it is offered to the customer",
    body="ComplaintApproveRequest",
    response="ComplaintView",
)
def approve_plan(call: Call, complaint_id: str) -> views.ComplaintView:
    return _staff_step(call, complaint_id, A.APPROVE_PLAN, notes=complaints.Notes(internal_note=call.body.internal_note))


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}/reject",
    "POST",
    tag="staff",
    roles=APPROVE_COMPLAINT_PLANS,
    summary="Send a plan back to customer care, saying why",
    body="ComplaintRejectRequest",
    response="ComplaintView",
)
def reject_plan(call: Call, complaint_id: str) -> views.ComplaintView:
    return _staff_step(call, complaint_id, A.REJECT_PLAN, notes=complaints.Notes(internal_note=call.body.note))


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}/resolve",
    "POST",
    tag="staff",
    roles=HANDLE_COMPLAINTS,
    summary="Close a plan that has been carried out",
    body="ComplaintResolveRequest",
    response="ComplaintView",
)
def resolve(call: Call, complaint_id: str) -> views.ComplaintView:
    return _staff_step(
        call,
        complaint_id,
        A.RESOLVE,
        notes=complaints.Notes(internal_note=call.body.internal_note, customer_note=call.body.customer_note),
    )


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}/notes",
    "POST",
    tag="staff",
    roles=HANDLE_COMPLAINTS,
    summary="Add an internal or customer-facing note",
    body="ComplaintNoteRequest",
    response="ComplaintView",
)
def add_note(call: Call, complaint_id: str) -> views.ComplaintView:
    complaints.add_note(
        call.actor, complaint_id, complaints.Notes(internal_note=call.body.internal_note, customer_note=call.body.customer_note)
    )
    return _view(complaints.get_for_staff(call.actor, complaint_id), call.actor, staff=True)


@endpoint(
    complaints_api,
    "/staff/complaints/{complaint_id}/return/receive",
    "POST",
    tag="staff",
    roles=HANDLE_COMPLAINTS,
    summary="The returned goods arrived (when the carrier did not say so)",
    body="ComplaintVersionRequest",
    response="ComplaintView",
)
def staff_receive_return(call: Call, complaint_id: str) -> views.ComplaintView:
    complaints.receive_return(call.actor, complaint_id, expected_version=call.body.expected_version)
    return _view(complaints.get_for_staff(call.actor, complaint_id), call.actor, staff=True)


@endpoint(
    complaints_api,
    "/staff/campaigns/{campaign_id}/charge-backs",
    "GET",
    tag="staff",
    roles=READ_STAFF,
    summary="What each supplier of the campaign is charged back for complaints",
    response="CampaignChargeBacksView",
)
def charge_backs(call: Call, campaign_id: str) -> views.CampaignChargeBacksView:
    rows = complaints.charge_backs_of_campaign(call.actor, campaign_id)
    return views.CampaignChargeBacksView(campaign_id=campaign_id, suppliers=[views.SupplierChargeBackView.pick(r) for r in rows])


@endpoint(
    complaints_api,
    "/staff/purchase-orders/{po_id}/complaints",
    "GET",
    tag="staff",
    roles=READ_STAFF,
    summary="Complaints about deliveries of a purchase order, newest first",
    response="ComplaintListView",
)
def staff_po_complaints(call: Call, po_id: str) -> views.ComplaintListView:
    items = complaints.list_for_po(call.actor, po_id)
    return views.ComplaintListView(items=[_summary(i, staff=True) for i in items])


# ---------------------------------------------------------------- supplier


@endpoint(
    complaints_api,
    "/supplier/purchase-orders/{po_id}/complaints",
    "GET",
    tag="supplier",
    roles=SUPPLIER,
    summary="Complaints about deliveries of my purchase order",
    response="ComplaintListView",
)
def supplier_po_complaints(call: Call, po_id: str) -> views.ComplaintListView:
    items = complaints.list_for_po(_supplier(call), po_id)
    return views.ComplaintListView(items=[_summary(i) for i in items])


@endpoint(
    complaints_api,
    "/supplier/complaints/{complaint_id}",
    "GET",
    tag="supplier",
    roles=SUPPLIER,
    summary="A complaint about my delivery: lines, photos, the question asked, the plan",
    response="ComplaintView",
)
def supplier_complaint(call: Call, complaint_id: str) -> views.ComplaintView:
    me = _supplier(call)
    return _view(complaints.get_for_supplier(me, complaint_id), me, staff=False)


@endpoint(
    complaints_api,
    "/supplier/complaints/{complaint_id}/answer",
    "POST",
    tag="supplier",
    roles=SUPPLIER,
    summary="Answer customer care's question",
    body="ComplaintAnswerRequest",
    response="ComplaintView",
)
def supplier_answer(call: Call, complaint_id: str) -> views.ComplaintView:
    me = _supplier(call)
    complaints.act(me, complaint_id, A.ANSWER, expected_version=call.body.expected_version, answer=call.body.answer)
    return _view(complaints.get_for_supplier(me, complaint_id), me, staff=False)


@endpoint(
    complaints_api,
    "/supplier/complaints/{complaint_id}/replacement-shipment",
    "POST",
    tag="supplier",
    roles=SUPPLIER,
    summary="I sent the replacement: its carrier and tracking number",
    body="ParcelIn",
    response="ComplaintView",
)
def replacement_shipment(call: Call, complaint_id: str) -> views.ComplaintView:
    me = _supplier(call)
    record = complaints.ship_replacement(me, complaint_id, carrier=call.body.carrier, tracking_number=call.body.tracking_number)
    return _view(record, me, staff=False)


@endpoint(
    complaints_api,
    "/supplier/complaints/{complaint_id}/return/receive",
    "POST",
    tag="supplier",
    roles=SUPPLIER,
    summary="The returned goods arrived",
    body="ComplaintVersionRequest",
    response="ComplaintView",
)
def supplier_receive_return(call: Call, complaint_id: str) -> views.ComplaintView:
    me = _supplier(call)
    complaints.receive_return(me, complaint_id, expected_version=call.body.expected_version)
    return _view(complaints.get_for_supplier(me, complaint_id), me, staff=False)
