"""Paying suppliers: accounting decides on proposals, the bank port pushes approved ones, the
bank's signed webhook settles them.

A proposal moves pending -> approved | rejected -> pushed -> settled | failed. "pushed" is
written (under the proposal's version) before the bank is called, so a redelivered stage or a
concurrent caller never pushes again while a push may be in flight; after a lease long enough
for every retry of the first attempt, a stage still open is pushed again with the same
idempotency key (the bank executes one payment per key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..adapters import bank
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import Item, PaymentProposalItem
from ..config import settings
from ..domain import purchase_orders as domain
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, InvalidTransition, NotFound
from ..domain.permissions import DECIDE_PAYMENTS, READ_PAYMENTS, SYSTEM, Principal
from ..domain.purchase_orders import Stage
from ..observability import logger
from . import exceptions, stages
from .clock import new_id, now
from .guard import require
from .retry import on_conflict
from .supplier_portal import Proposal, proposal_view

DECIDE = DECIDE_PAYMENTS
READ = READ_PAYMENTS
PENDING, APPROVED, REJECTED, PUSHED, SETTLED, FAILED = "pending", "approved", "rejected", "pushed", "settled", "failed"
PROPOSAL_STATUSES = (PENDING, APPROVED, REJECTED, PUSHED, SETTLED, FAILED)


def _load_proposal(proposal_id: str) -> PaymentProposalItem:
    key = keys.proposal(proposal_id)
    item = repo.get(key, PaymentProposalItem) if key else None
    if item is None:
        raise NotFound(f"payment proposal {proposal_id} not found")
    return item


def _move(item: PaymentProposalItem, status: str, at: datetime, **changes: Any) -> repo.Write:
    """The proposal in its new status (and GSI3 queue); the loaded version is the condition."""
    item.status = status
    item.GSI3PK = keys.proposals_pk(status)
    item.updated_at = at
    for name, value in changes.items():
        setattr(item, name, value)
    return repo.Write(item)


def _event(
    item: PaymentProposalItem,
    type_: str,
    at: datetime,
    from_status: str,
    *,
    actor: Principal = SYSTEM,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> repo.Write:
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="payment_proposal",
        subject_id=item.id,
        type=type_,
        actor=actor,
        at=at,
        from_status=from_status,
        to_status=item.status,
        internal_note=note,
        data={
            "po_id": item.po_id,
            "proposal_id": item.id,
            "supplier_id": item.supplier_id,
            "amount_cents": int(item.amount_cents),
            "currency": item.currency,
            **(data or {}),
        },
    )
    return repo.event_write(keys.po_pk(item.po_id), event)


# ---------------------------------------------------------------- accounting


def list_proposals(actor: Principal, *, status: str, limit: int, cursor: str | None) -> tuple[list[Proposal], str | None]:
    """One query on the proposals in a status, oldest first (the pending queue is the default)."""
    require(actor, READ, "list payment proposals")
    page = repo.query_page(Item.gsi3, keys.proposals_pk(status), limit=limit, cursor=cursor, newest_first=False)
    return [proposal_view(i) for i in page.items if isinstance(i, PaymentProposalItem)], page.cursor


def decide(actor: Principal, proposal_id: str, *, approve: bool, note: str | None) -> Proposal:
    """Approve or reject a pending proposal: the proposal and the PO change in one transaction, and
    the approval stage completes (approved -> the workflow opens the bank payment)."""
    require(actor, DECIDE, "approve or reject payment proposals")
    item = _load_proposal(proposal_id)
    if item.status != PENDING:
        raise InvalidTransition(f"payment proposal {proposal_id} is {item.status}; only a pending one is decided")
    amount = int(item.amount_cents)
    at = now()
    writes = [_move(item, APPROVED if approve else REJECTED, at, note=note, decided_by=actor.sub)]
    stages.complete_stage(
        actor,
        item.po_id,
        Stage.PAYMENT_APPROVAL,
        lambda po: domain.decide_payment(po, approve, amount),
        internal_note=note,
        event_data={"proposal_id": proposal_id, "amount_cents": amount},
        extra_writes=writes,
    )
    return proposal_view(item)


# ---------------------------------------------------------------- the bank payment stage


def _lease() -> timedelta:
    s = settings()
    return timedelta(seconds=s.bank_timeout_s * (s.bank_retries + 1) + 2**s.bank_retries + 30)


def _raise_payment_failed(po_id: str, details: dict[str, Any]) -> None:
    logger.warning("payment failed", extra={"po_id": po_id, **details})
    exceptions.raise_or_bump("payment_failed", "po", po_id, details)


def _proposal_in(po_id: str, statuses: tuple[str, ...]) -> PaymentProposalItem | None:
    items = repo.query_all(keys.po_pk(po_id), range_key_condition=Item.SK.startswith("PROPOSAL#"))
    found = [i for i in items if isinstance(i, PaymentProposalItem) and i.status in statuses]
    return max(found, key=lambda i: i.created_at) if found else None


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
    item = _proposal_in(po_id, (APPROVED, PUSHED))
    if item is None:
        logger.warning("bank payment stage without an approved proposal", extra={"po_id": po_id})
        return BankOutcome("skipped")
    at = now()
    if item.status == PUSHED and at - item.updated_at < _lease():
        return BankOutcome("in_flight", item.id)
    previous = item.status
    try:
        repo.commit([_move(item, PUSHED, at), _event(item, "payment.pushed", at, previous)], what=f"payment proposal {item.id}")
    except Conflict:
        return BankOutcome("in_flight", item.id)  # someone else claimed the push just now
    order = bank.PaymentOrder(
        payment_id=item.id,
        amount_cents=int(item.amount_cents),
        currency=item.currency,
        supplier_id=item.supplier_id,
        reference=f"{item.campaign_id}/{po_id}",
    )
    amount = int(item.amount_cents)
    try:
        accepted = bank.push_payment(order)
    except bank.PaymentRefused as exc:
        at = now()
        writes = [
            _move(item, FAILED, at, failure=exc.body[:1000] or f"HTTP {exc.status}"),
            _event(item, "payment.failed", at, PUSHED, data={"status": exc.status}),
        ]
        stages.complete_stage(
            SYSTEM,
            po_id,
            Stage.BANK_PAYMENT,
            lambda po: domain.record_bank_payment(po, False, amount),
            extra_writes=writes,
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
    item = _load_proposal(payment_id)
    if item.status not in (PUSHED, SETTLED):
        raise InvalidTransition(f"payment {payment_id} is {item.status}; only a pushed payment settles")
    if item.status == PUSHED:  # the money went through: an earlier failure is history
        exceptions.resolve("payment_failed", "po", item.po_id, note=f"payment {payment_id} settled")
    loaded = stages.load_po(item.po_id)
    stage_open = loaded.task_token is not None and loaded.po.stage is Stage.SETTLEMENT
    at = now()
    writes: list[repo.Write] = []
    if item.status == PUSHED:
        writes = [_move(item, SETTLED, at), _event(item, "payment.settled", at, PUSHED, actor=actor)]
    if stage_open:
        amount = int(item.amount_cents)
        stages.complete_stage(
            actor,
            item.po_id,
            Stage.SETTLEMENT,
            lambda po: domain.record_settlement(po, amount),
            extra_writes=writes,
            loaded=loaded,
            event_data={"proposal_id": item.id, "amount_cents": amount},
        )
        return "completed"
    if writes:
        repo.commit(writes, what=f"payment proposal {payment_id}")
        return "recorded"
    return "already_settled"


def _settle_retrying(payment_id: str, attempts: int = 3) -> str:
    """A lost race with the stage consumer (version conflict) is retried on fresh reads."""
    return on_conflict(lambda: settle(payment_id), retries=attempts, what=f"payment proposal {payment_id}")


def on_settlement_stage(po_id: str) -> str:
    """The workflow opened the settlement stage: complete it at once if the bank already settled."""
    item = _proposal_in(po_id, (SETTLED,))
    if item is None:
        return "waiting"
    try:
        return settle(item.id)
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
