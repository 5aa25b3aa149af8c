"""Paying suppliers: accounting decides on proposals, the bank port pushes approved ones, the
bank's signed webhook settles them.

A proposal moves pending -> approved | rejected -> pushed -> settled | failed. "pushed" is
written (under the proposal's version) before the bank is called, so a redelivered stage or a
concurrent caller never pushes again while a push may be in flight; after a lease long enough
for every retry of the first attempt, a stage still open is pushed again with the same
idempotency key (the bank executes one payment per key)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..adapters import bank
from ..config import settings
from ..domain import purchase_orders as domain
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, InvalidTransition, NotFound
from ..domain.permissions import DECIDE_PAYMENTS, READ_PAYMENTS, SYSTEM, Principal
from ..domain.purchase_orders import Stage
from ..observability import logger
from . import exceptions, stages, uow
from .clock import new_id, now
from .guard import require
from .ports import Change, Record, Save, Versioned
from .ports_purchase_orders import PaymentProposal
from .retry import on_conflict
from .supplier_portal import Proposal, proposal_view

DECIDE = DECIDE_PAYMENTS
READ = READ_PAYMENTS
PENDING, APPROVED, REJECTED, PUSHED, SETTLED, FAILED = "pending", "approved", "rejected", "pushed", "settled", "failed"
PROPOSAL_STATUSES = (PENDING, APPROVED, REJECTED, PUSHED, SETTLED, FAILED)


def _load_proposal(proposal_id: str) -> Versioned[PaymentProposal]:
    found = uow.store().load(PaymentProposal, proposal_id)
    if found is None:
        raise NotFound(f"payment proposal {proposal_id} not found")
    return found


def _move(found: Versioned[PaymentProposal], status: str, at: datetime, **changes: Any) -> Save:
    """The proposal in its new status (and its status's queue); the loaded version is the condition."""
    return Save(replace(found.value, status=status, updated_at=at, **changes), found.version)


def _event(
    proposal: PaymentProposal,
    type_: str,
    at: datetime,
    from_status: str,
    *,
    actor: Principal = SYSTEM,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> Record:
    """Kept in the PO's history (a proposal id names its PO)."""
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="payment_proposal",
        subject_id=proposal.id,
        type=type_,
        actor=actor,
        at=at,
        from_status=from_status,
        to_status=proposal.status,
        internal_note=note,
        data={
            "po_id": proposal.po_id,
            "proposal_id": proposal.id,
            "supplier_id": proposal.supplier_id,
            "amount_cents": proposal.amount_cents,
            "currency": proposal.currency,
            **(data or {}),
        },
    )
    return Record(event)


# ---------------------------------------------------------------- accounting


def list_proposals(actor: Principal, *, status: str, limit: int, cursor: str | None) -> tuple[list[Proposal], str | None]:
    """One query on the proposals in a status, oldest first (the pending queue is the default)."""
    require(actor, READ, "list payment proposals")
    page = uow.store().proposals_in(status, limit=limit, cursor=cursor)
    return [proposal_view(p.value) for p in page.items], page.cursor


def decide(actor: Principal, proposal_id: str, *, approve: bool, note: str | None) -> Proposal:
    """Approve or reject a pending proposal: the proposal and the PO change in one transaction, and
    the approval stage completes (approved -> the workflow opens the bank payment)."""
    require(actor, DECIDE, "approve or reject payment proposals")
    found, po = uow.store().proposal_with_po(proposal_id)  # one read: a proposal id names its PO
    if found is None:
        raise NotFound(f"payment proposal {proposal_id} not found")
    if found.value.status != PENDING:
        raise InvalidTransition(f"payment proposal {proposal_id} is {found.value.status}; only a pending one is decided")
    amount = found.value.amount_cents
    at = now()
    decided = _move(found, APPROVED if approve else REJECTED, at, note=note, decided_by=actor.sub)
    stages.complete_stage(
        actor,
        found.value.po_id,
        Stage.PAYMENT_APPROVAL,
        lambda po: domain.decide_payment(po, approve, amount),
        internal_note=note,
        event_data={"proposal_id": proposal_id, "amount_cents": amount},
        loaded=stages.loaded_po(found.value.po_id, po),
        extra=[decided],
    )
    assert isinstance(decided.obj, PaymentProposal)
    return proposal_view(decided.obj)


# ---------------------------------------------------------------- the bank payment stage


def _lease() -> timedelta:
    s = settings()
    return timedelta(seconds=s.bank_timeout_s * (s.bank_retries + 1) + 2**s.bank_retries + 30)


def _raise_payment_failed(po_id: str, details: dict[str, Any]) -> None:
    logger.warning("payment failed", extra={"po_id": po_id, **details})
    exceptions.raise_or_bump("payment_failed", "po", po_id, details)


def _proposal_in(po_id: str, statuses: tuple[str, ...]) -> Versioned[PaymentProposal] | None:
    found = [p for p in uow.store().po_proposals(po_id) if p.value.status in statuses]
    return max(found, key=lambda p: p.value.created_at) if found else None


@dataclass
class BankOutcome:
    result: str  # paid, refused, skipped, in_flight
    proposal_id: str | None = None


def on_bank_payment_stage(po_id: str) -> BankOutcome:
    """The workflow opened the bank payment stage: push the approved proposal to the bank once.

    Safe to call again (redelivery, retry): a PO no longer in the stage, or a push in flight,
    is left alone. A refusal (4xx) gives the amount back and raises `payment_failed`; a bank
    that does not answer raises `payment_failed` too and re-raises, so the queue retries with
    the same idempotency key."""
    loaded = stages.load_po(po_id)
    if loaded.task_token is None or loaded.po.stage is not Stage.BANK_PAYMENT:
        return BankOutcome("skipped")
    found = _proposal_in(po_id, (APPROVED, PUSHED))
    if found is None:
        logger.warning("bank payment stage without an approved proposal", extra={"po_id": po_id})
        return BankOutcome("skipped")
    at = now()
    if found.value.status == PUSHED and at - found.value.updated_at < _lease():
        return BankOutcome("in_flight", found.value.id)
    previous = found.value.status
    push = _move(found, PUSHED, at)
    assert isinstance(push.obj, PaymentProposal)
    item = push.obj
    try:
        uow.store().commit([push, _event(item, "payment.pushed", at, previous)], what=f"payment proposal {item.id}", at=at)
    except Conflict:
        return BankOutcome("in_flight", item.id)  # someone else claimed the push just now
    pushed = Versioned(item, found.version + 1)
    order = bank.PaymentOrder(
        payment_id=item.id,
        amount_cents=item.amount_cents,
        currency=item.currency,
        supplier_id=item.supplier_id,
        reference=f"{item.campaign_id}/{po_id}",
    )
    amount = item.amount_cents
    try:
        accepted = bank.push_payment(order)
    except bank.PaymentRefused as exc:
        at = now()
        failed = _move(pushed, FAILED, at, failure=exc.body[:1000] or f"HTTP {exc.status}")
        assert isinstance(failed.obj, PaymentProposal)
        changes: list[Change] = [failed, _event(failed.obj, "payment.failed", at, PUSHED, data={"status": exc.status})]
        stages.complete_stage(
            SYSTEM,
            po_id,
            Stage.BANK_PAYMENT,
            lambda po: domain.record_bank_payment(po, False, amount),
            extra=changes,
            event_data={"proposal_id": item.id, "paid": False},
        )
        _raise_payment_failed(po_id, {"proposal_id": item.id, "status": exc.status, "reason": exc.body[:500]})
        return BankOutcome("refused", item.id)
    except bank.BankUnavailable as exc:
        _raise_payment_failed(po_id, {"proposal_id": item.id, "reason": str(exc)[:500]})
        raise
    reference = accepted.body.get("reference") if isinstance(accepted.body.get("reference"), str) else None
    try:
        stages.complete_stage(
            SYSTEM,
            po_id,
            Stage.BANK_PAYMENT,
            lambda po: domain.record_bank_payment(po, True, amount),
            event_data={"proposal_id": item.id, "paid": True, "bank_reference": reference},
        )
    except (InvalidTransition, Conflict):
        return BankOutcome("paid", item.id)  # completed meanwhile (e.g. cancelled); the bank has the order
    return BankOutcome("paid", item.id)


# ---------------------------------------------------------------- settlement


def settle(payment_id: str, *, actor: Principal = SYSTEM) -> str:
    """The bank settled a payment: the proposal becomes settled and, if the settlement stage is
    open, it completes in the same transaction. A settlement that overtakes the workflow is
    recorded now and completes the stage when it opens (`on_settlement_stage`)."""
    found = _load_proposal(payment_id)
    item = found.value
    if item.status not in (PUSHED, SETTLED):
        raise InvalidTransition(f"payment {payment_id} is {item.status}; only a pushed payment settles")
    if item.status == PUSHED:  # the money went through: an earlier failure is history
        exceptions.resolve("payment_failed", "po", item.po_id, note=f"payment {payment_id} settled")
    loaded = stages.load_po(item.po_id)
    stage_open = loaded.task_token is not None and loaded.po.stage is Stage.SETTLEMENT
    at = now()
    changes: list[Save | Record] = []
    if item.status == PUSHED:
        settled = _move(found, SETTLED, at)
        assert isinstance(settled.obj, PaymentProposal)
        changes = [settled, _event(settled.obj, "payment.settled", at, PUSHED, actor=actor)]
    if stage_open:
        amount = item.amount_cents
        stages.complete_stage(
            actor,
            item.po_id,
            Stage.SETTLEMENT,
            lambda po: domain.record_settlement(po, amount),
            extra=changes,
            loaded=loaded,
            event_data={"proposal_id": item.id, "amount_cents": amount},
        )
        return "completed"
    if changes:
        uow.store().commit(changes, what=f"payment proposal {payment_id}", at=at)
        return "recorded"
    return "already_settled"


def _settle_retrying(payment_id: str, attempts: int = 3) -> str:
    """A lost race with the stage consumer (version conflict) is retried on fresh reads."""
    return on_conflict(lambda: settle(payment_id), retries=attempts, what=f"payment proposal {payment_id}")


def on_settlement_stage(po_id: str) -> str:
    """The workflow opened the settlement stage: complete it at once if the bank already settled."""
    found = _proposal_in(po_id, (SETTLED,))
    if found is None:
        return "waiting"
    try:
        return settle(found.value.id)
    except (InvalidTransition, Conflict):
        return "waiting"


# ---------------------------------------------------------------- the bank's webhook (applied from the inbound queue)


def apply_bank_event(body: dict[str, Any]) -> str:
    """A verified, stored bank webhook (see services.inbound): `payment.settled` settles the payment."""
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    payment_id = data.get("payment_id") if isinstance(data, dict) else None
    if body.get("type") != "payment.settled" or not isinstance(payment_id, str):
        return "ignored"
    return _settle_retrying(payment_id)
