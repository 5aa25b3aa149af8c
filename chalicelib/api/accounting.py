"""Accounting routes: the payment-proposal queue, approve and reject; customer money recorded by hand,
retried, and refunded outside complaints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from ..domain.orders import RequestedLine
from ..domain.payments import PaymentKind
from ..domain.permissions import (
    APPROVE_REFUNDS,
    DECIDE_PAYMENTS,
    GIVE_UP_DELIVERIES,
    READ_PAYMENTS,
    RECORD_PAYMENTS,
    REFUND_ORDERS,
)
from ..lazy import lazy_module
from .http import Call, endpoint
from .staff import staff_order_view

if TYPE_CHECKING:
    from ..services import order_payments, payments
    from .views import common
    from .views import staff as views
else:
    payments = lazy_module("chalicelib.services.payments")
    order_payments = lazy_module("chalicelib.services.order_payments")
    common = lazy_module("chalicelib.api.views.common")
    views = lazy_module("chalicelib.api.views.staff")

accounting_api = Blueprint(__name__)
READ = READ_PAYMENTS
DECIDE = DECIDE_PAYMENTS
TAG = "staff: accounting"


@endpoint(
    accounting_api,
    "/staff/payment-proposals",
    "GET",
    summary="Payment proposals in a status (pending by default), oldest first",
    tag=TAG,
    roles=READ,
    query="ProposalListQuery",
    response="PaymentProposalPage",
)
def list_proposals(call: Call) -> views.PaymentProposalPage:
    q: views.ProposalListQuery = call.query
    items, cursor = payments.list_proposals(call.actor, status=q.status, limit=q.limit, cursor=q.cursor)
    return views.PaymentProposalPage(items=[common.PaymentProposalView.pick(p) for p in items], next_cursor=cursor)


@endpoint(
    accounting_api,
    "/staff/payment-proposals/{proposal_id}/approve",
    "POST",
    summary="Approve a pending proposal: the payment goes to the bank",
    tag=TAG,
    roles=DECIDE,
    body="ProposalDecisionRequest",
    response="PaymentProposalView",
)
def approve(call: Call, proposal_id: str) -> common.PaymentProposalView:
    return common.PaymentProposalView.pick(payments.decide(call.actor, proposal_id, approve=True, note=call.body.note))


@endpoint(
    accounting_api,
    "/staff/payment-proposals/{proposal_id}/reject",
    "POST",
    summary="Reject a pending proposal, saying why: the supplier proposes again",
    tag=TAG,
    roles=DECIDE,
    body="ProposalRejectRequest",
    response="PaymentProposalView",
)
def reject(call: Call, proposal_id: str) -> common.PaymentProposalView:
    return common.PaymentProposalView.pick(payments.decide(call.actor, proposal_id, approve=False, note=call.body.note))


# ---------------------------------------------------------------- customer money (issue 16)

ORDER_MONEY_TAG = "staff: customer money"


@endpoint(
    accounting_api,
    "/staff/orders/{order_id}/payments",
    "POST",
    summary="Record money received outside the gateway (offline, cash on delivery) or an adjustment",
    tag=ORDER_MONEY_TAG,
    roles=RECORD_PAYMENTS,
    body="PaymentRecordRequest",
    response="StaffOrderView",
    status=201,
)
def record_payment(call: Call, order_id: str) -> views.StaffOrderView:
    b: views.PaymentRecordRequest = call.body
    done = order_payments.record_payment(
        call.actor,
        order_id,
        kind=PaymentKind(b.kind),
        amount_cents=b.amount_cents,
        reason=b.reason,
        reference=b.reference,
        expected_version=b.expected_version,
    )
    return staff_order_view(done.record, call.actor)


@endpoint(
    accounting_api,
    "/staff/orders/{order_id}/payments/{payment_id}/retry",
    "POST",
    summary="Try a declined capture again (a new attempt with its own idempotency key)",
    tag=ORDER_MONEY_TAG,
    roles=RECORD_PAYMENTS,
    response="StaffOrderView",
)
def retry_payment(call: Call, order_id: str, payment_id: str) -> views.StaffOrderView:
    return staff_order_view(order_payments.retry_capture(call.actor, order_id, payment_id).record, call.actor)


@endpoint(
    accounting_api,
    "/staff/orders/{order_id}/refunds",
    "POST",
    summary="Refund outside a complaint (goodwill): lines or an amount, never above what was paid; above "
    "the approval threshold it waits for an admin",
    tag=ORDER_MONEY_TAG,
    roles=REFUND_ORDERS,
    body="StaffRefundRequest",
    response="StaffOrderView",
    status=201,
)
def refund(call: Call, order_id: str) -> views.StaffOrderView:
    b: views.StaffRefundRequest = call.body
    lines = [RequestedLine(line.sku, line.quantity) for line in b.lines] if b.lines is not None else None
    done = order_payments.refund(
        call.actor,
        order_id,
        reason=b.reason,
        lines=lines,
        amount_cents=b.amount_cents,
        reference=b.reference,
        expected_version=b.expected_version,
    )
    return staff_order_view(done.record, call.actor)


@endpoint(
    accounting_api,
    "/staff/orders/{order_id}/refunds/{refund_id}/approve",
    "POST",
    summary="Approve a refund above the threshold: it goes out",
    tag=ORDER_MONEY_TAG,
    roles=APPROVE_REFUNDS,
    body="RefundDecisionRequest",
    response="StaffOrderView",
)
def approve_refund(call: Call, order_id: str, refund_id: str) -> views.StaffOrderView:
    b: views.RefundDecisionRequest = call.body
    done = order_payments.decide_refund(
        call.actor, order_id, refund_id, approve=True, note=b.note, expected_version=b.expected_version
    )
    return staff_order_view(done.record, call.actor)


@endpoint(
    accounting_api,
    "/staff/orders/{order_id}/refunds/{refund_id}/reject",
    "POST",
    summary="Reject a refund above the threshold, saying why",
    tag=ORDER_MONEY_TAG,
    roles=APPROVE_REFUNDS,
    body="RefundRejectRequest",
    response="StaffOrderView",
)
def reject_refund(call: Call, order_id: str, refund_id: str) -> views.StaffOrderView:
    b: views.RefundRejectRequest = call.body
    done = order_payments.decide_refund(
        call.actor, order_id, refund_id, approve=False, note=b.note, expected_version=b.expected_version
    )
    return staff_order_view(done.record, call.actor)


@endpoint(
    accounting_api,
    "/staff/orders/{order_id}/deliveries/{supplier_id}/not-delivered",
    "POST",
    summary="Close a dispatched delivery that will never arrive (returned to sender, not sent again): it "
    "costs the customer nothing and what they paid for it goes back",
    tag=ORDER_MONEY_TAG,
    roles=GIVE_UP_DELIVERIES,
    body="GiveUpDeliveryRequest",
    response="StaffOrderView",
)
def give_up_delivery(call: Call, order_id: str, supplier_id: str) -> views.StaffOrderView:
    b: views.GiveUpDeliveryRequest = call.body
    record = order_payments.give_up_delivery(
        call.actor, order_id, supplier_id, reason=b.reason, expected_version=b.expected_version
    )
    return staff_order_view(record, call.actor)


@endpoint(
    accounting_api,
    "/staff/orders/{order_id}/refunds/{refund_id}/transferred",
    "POST",
    summary="Record the bank transfer made for a refund of money received offline (it was awaiting it)",
    tag=ORDER_MONEY_TAG,
    roles=RECORD_PAYMENTS,
    body="TransferMadeRequest",
    response="StaffOrderView",
)
def transfer_made(call: Call, order_id: str, refund_id: str) -> views.StaffOrderView:
    b: views.TransferMadeRequest = call.body
    done = order_payments.record_transfer(
        call.actor, order_id, refund_id, reference=b.reference, expected_version=b.expected_version
    )
    return staff_order_view(done.record, call.actor)
