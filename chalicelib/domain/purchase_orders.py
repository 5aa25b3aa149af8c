"""Purchase orders: one per (campaign, supplier), worked through stages by the supplier,
accounting and the bank. Step Functions sequences the stages and holds the deadlines; the
rules of each stage live here.

Stages, in order: acknowledge -> invoice -> payment_proposal -> payment_approval ->
bank_payment -> settlement -> shipment. A full rejection or a cancellation ends the PO.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .errors import InvalidTransition, RuleViolation


class Stage(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    INVOICE = "invoice"
    PAYMENT_PROPOSAL = "payment_proposal"
    PAYMENT_APPROVAL = "payment_approval"
    BANK_PAYMENT = "bank_payment"
    SETTLEMENT = "settlement"
    SHIPMENT = "shipment"


STAGES: tuple[Stage, ...] = tuple(Stage)


class POStatus(StrEnum):
    OPEN = "open"  # somewhere in its stages
    REJECTED = "rejected"  # the supplier refused every line
    CANCELLED = "cancelled"
    SHIPPED = "shipped"  # the last stage is done


class Decision(StrEnum):
    """What a completed stage tells the state machine (its Choice states branch on it)."""

    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially_accepted"
    REJECTED = "rejected"
    APPROVED = "approved"
    DONE = "done"
    CANCELLED = "cancelled"


class RejectReason(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    DISCONTINUED = "discontinued"
    PRICE_CHANGED = "price_changed"
    OTHER = "other"


# Who acts in each stage (notifications and permissions follow this).
STAGE_ACTOR: dict[Stage, str] = {
    Stage.ACKNOWLEDGE: "supplier",
    Stage.INVOICE: "supplier",
    Stage.PAYMENT_PROPOSAL: "supplier",
    Stage.PAYMENT_APPROVAL: "accounting",
    Stage.BANK_PAYMENT: "system",
    Stage.SETTLEMENT: "bank",
    Stage.SHIPMENT: "supplier",
}


def po_id(campaign_id: str, supplier_id: str) -> str:
    """Deterministic: closing a campaign twice can only ever name the same PO."""
    digest = hashlib.sha256(f"{campaign_id}\x00{supplier_id}".encode()).hexdigest()[:24]
    return f"po_{digest}"


@dataclass
class POLine:
    sku: str
    name: str
    ordered_quantity: int
    unit_cost_cents: int
    accepted_quantity: int | None = None  # None until acknowledged
    reject_reason: RejectReason | None = None

    @property
    def ordered_cents(self) -> int:
        return self.ordered_quantity * self.unit_cost_cents

    @property
    def accepted_cents(self) -> int:
        return (self.accepted_quantity or 0) * self.unit_cost_cents


@dataclass
class PurchaseOrder:
    id: str
    campaign_id: str
    supplier_id: str
    currency: str
    lines: list[POLine]
    created_at: datetime
    order_count: int = 0
    orders_to_ship: int | None = None  # orders with an accepted delivery (known once the acknowledgement is shared out)
    orders_shipped: int = 0
    # Of `orders_shipped`, those its parcels counted on their own, apart from the PO (so that parcels of
    # one PO never wait for each other): a store adds them in when it reads the PO by its id, and a save
    # of the PO leaves them where they are (see services/shipments.py).
    orders_shipped_apart: int = 0
    status: POStatus = POStatus.OPEN
    stage: Stage | None = None  # the stage open now (None between stages and when finished)
    invoiced_cents: int = 0
    proposed_cents: int = 0
    paid_cents: int = 0
    reminders: dict[str, int] = field(default_factory=dict)
    stage_started_at: datetime | None = None  # when the open stage first opened (a reopening keeps it)
    stage_due_at: datetime | None = None  # the deadline it was first given: late is judged against this

    @property
    def ordered_cents(self) -> int:
        return sum(line.ordered_cents for line in self.lines)

    @property
    def accepted_cents(self) -> int:
        return sum(line.accepted_cents for line in self.lines)

    def line(self, sku: str) -> POLine:
        for line in self.lines:
            if line.sku == sku:
                return line
        raise RuleViolation("unknown_line", f"purchase order {self.id} has no line for SKU {sku}")


def require_stage(po: PurchaseOrder, stage: Stage) -> None:
    """An action belongs to one stage; in any other (or a repeat) it is a 409 that changes nothing."""
    if po.status is not POStatus.OPEN:
        raise InvalidTransition(f"purchase order {po.id} is {po.status.value}")
    if po.stage is not stage:
        now = po.stage.value if po.stage else "between stages"
        raise InvalidTransition(f"purchase order {po.id} is at {now}; this action belongs to {stage.value}")


@dataclass(frozen=True)
class LineAcceptance:
    sku: str
    accepted_quantity: int
    reason: RejectReason | None = None


def acknowledge(po: PurchaseOrder, acceptances: list[LineAcceptance]) -> Decision:
    """Record the supplier's answer for every line; return the decision for the workflow."""
    require_stage(po, Stage.ACKNOWLEDGE)
    given = {a.sku: a for a in acceptances}
    problems = []
    if len(given) != len(acceptances):
        problems.append({"field": "lines", "message": "each SKU may appear once"})
    missing = [line.sku for line in po.lines if line.sku not in given]
    if missing:
        problems.append({"field": "lines", "message": f"answer every line; missing: {', '.join(missing)}"})
    for a in acceptances:
        try:
            line = po.line(a.sku)
        except RuleViolation as exc:
            problems.append({"field": "lines", "message": exc.message})
            continue
        if not 0 <= a.accepted_quantity <= line.ordered_quantity:
            problems.append({"field": f"lines.{a.sku}", "message": f"accepted quantity must be 0 to {line.ordered_quantity}"})
        elif a.accepted_quantity < line.ordered_quantity and a.reason is None:
            problems.append({"field": f"lines.{a.sku}", "message": "say why the rest is not accepted"})
    if problems:
        raise RuleViolation("invalid_acknowledgement", "; ".join(str(p["message"]) for p in problems), details=problems)
    for line in po.lines:
        a = given[line.sku]
        line.accepted_quantity = a.accepted_quantity
        line.reject_reason = a.reason if a.accepted_quantity < line.ordered_quantity else None
    accepted = sum(line.accepted_quantity or 0 for line in po.lines)
    ordered = sum(line.ordered_quantity for line in po.lines)
    if accepted == 0:
        po.status = POStatus.REJECTED
        decision = Decision.REJECTED
    elif accepted < ordered:
        decision = Decision.PARTIALLY_ACCEPTED
    else:
        decision = Decision.ACCEPTED
    po.stage = None
    return decision


def record_invoice(po: PurchaseOrder, amount_cents: int) -> Decision:
    require_stage(po, Stage.INVOICE)
    if amount_cents <= 0:
        raise RuleViolation("invalid_amount", "an invoice amount is positive")
    if amount_cents > po.accepted_cents:
        raise RuleViolation(
            "invoice_above_accepted", f"the invoice ({amount_cents}) exceeds the accepted lines ({po.accepted_cents})"
        )
    po.invoiced_cents += amount_cents
    po.stage = None
    return Decision.DONE


def propose_payment(po: PurchaseOrder, amount_cents: int) -> Decision:
    require_stage(po, Stage.PAYMENT_PROPOSAL)
    open_amount = po.invoiced_cents - po.proposed_cents
    if not 0 < amount_cents <= open_amount:
        raise RuleViolation(
            "proposal_above_invoiced", f"propose between 1 and {open_amount}: what is invoiced and not yet proposed"
        )
    po.proposed_cents += amount_cents
    po.stage = None
    return Decision.DONE


def decide_payment(po: PurchaseOrder, approved: bool, amount_cents: int) -> Decision:
    """Accounting's decision; a rejected proposal is given back so the supplier can propose again."""
    require_stage(po, Stage.PAYMENT_APPROVAL)
    if not approved:
        po.proposed_cents -= amount_cents
    po.stage = None
    return Decision.APPROVED if approved else Decision.REJECTED


def completes_shipment(po: PurchaseOrder, newly_shipped: int) -> bool:
    """Whether a parcel with `newly_shipped` orders not shipped before is the one that ends the
    shipment stage (every order with an accepted delivery has left, counting it)."""
    return po.orders_to_ship is not None and po.orders_shipped + newly_shipped >= po.orders_to_ship


def record_shipment(po: PurchaseOrder, newly_shipped: int) -> Decision | None:
    """A shipment left with `newly_shipped` orders not shipped before. The stage ends (DONE) when
    every order with an accepted delivery has left; until then it stays open for more shipments."""
    require_stage(po, Stage.SHIPMENT)
    po.orders_shipped += newly_shipped
    if not completes_shipment(po, 0):
        return None
    po.stage = None
    po.status = POStatus.SHIPPED
    return Decision.DONE


def cancel(po: PurchaseOrder) -> Decision:
    if po.status is not POStatus.OPEN:
        raise InvalidTransition(f"purchase order {po.id} is {po.status.value}")
    po.status = POStatus.CANCELLED
    po.stage = None
    return Decision.CANCELLED


def overdue_action(reminders_so_far: int, max_reminders: int) -> str:
    """After a missed deadline: remind whoever must act, until the reminders run out; then escalate."""
    return "escalate" if reminders_so_far >= max_reminders else "remind"


def record_bank_payment(po: PurchaseOrder, paid: bool, amount_cents: int) -> Decision:
    """The bank took the payment order (DONE), or refused it: the amount is given back to be
    proposed again (REJECTED sends the workflow back to the payment proposal)."""
    require_stage(po, Stage.BANK_PAYMENT)
    if not paid:
        po.proposed_cents -= amount_cents
    po.stage = None
    return Decision.DONE if paid else Decision.REJECTED


def record_settlement(po: PurchaseOrder, amount_cents: int) -> Decision:
    require_stage(po, Stage.SETTLEMENT)
    po.paid_cents += amount_cents
    po.stage = None
    return Decision.DONE


def open_stage(po: PurchaseOrder, stage: Stage, *, at: datetime, due_at: datetime) -> None:
    """The workflow opens `stage`. Reopened after a missed deadline, it keeps when it first opened and
    the deadline it was first given (time in stage and lateness count from those)."""
    if po.stage is not stage or po.stage_started_at is None:
        po.stage_started_at, po.stage_due_at = at, due_at
    po.stage = stage
