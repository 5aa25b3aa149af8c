"""Accounting routes: the payment-proposal queue, approve and reject."""

from __future__ import annotations

from chalice import Blueprint

from ..domain.permissions import DECIDE_PAYMENTS, READ_PAYMENTS
from ..lazy import lazy_module
from .http import Call, endpoint

s = lazy_module("chalicelib.api.schemas")
payments = lazy_module("chalicelib.services.payments")

accounting_api = Blueprint(__name__)
READ = READ_PAYMENTS
DECIDE = DECIDE_PAYMENTS
TAG = "staff: accounting"


@endpoint(accounting_api, "/staff/payment-proposals", "GET",
          summary="Payment proposals in a status (pending by default), oldest first", tag=TAG,
          roles=READ, query="ProposalListQuery", response="PaymentProposalPage")
def list_proposals(call: Call) -> s.PaymentProposalPage:
    q: s.ProposalListQuery = call.query
    items, cursor = payments.list_proposals(call.actor, status=q.status, limit=q.limit, cursor=q.cursor)
    return s.PaymentProposalPage(items=[s.PaymentProposalView.pick(p) for p in items], next_cursor=cursor)


@endpoint(accounting_api, "/staff/payment-proposals/{proposal_id}/approve", "POST",
          summary="Approve a pending proposal: the payment goes to the bank", tag=TAG, roles=DECIDE,
          body="ProposalDecisionRequest", response="PaymentProposalView")
def approve(call: Call, proposal_id: str) -> s.PaymentProposalView:
    return s.PaymentProposalView.pick(payments.decide(call.actor, proposal_id, approve=True, note=call.body.note))


@endpoint(accounting_api, "/staff/payment-proposals/{proposal_id}/reject", "POST",
          summary="Reject a pending proposal, saying why: the supplier proposes again", tag=TAG, roles=DECIDE,
          body="ProposalRejectRequest", response="PaymentProposalView")
def reject(call: Call, proposal_id: str) -> s.PaymentProposalView:
    return s.PaymentProposalView.pick(payments.decide(call.actor, proposal_id, approve=False, note=call.body.note))
