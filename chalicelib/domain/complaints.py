"""Complaints: a delivery arrived wrong, or never arrived. Pure rules, no I/O.

A complaint is about one delivery (one supplier's share of an order). It names the lines it
claims and how many of each, why, the photos that show it and what the customer would like
done. A customer may open one

- on a `delivered` delivery, for damaged, wrong_item, missing_item or not_as_described goods,
  within the complaint window counted from `delivered_at`;
- on a `dispatched` delivery past its expected date, for lost_in_transit, within the same
  window counted from that date.

Across all the complaints on a delivery (withdrawn ones aside) a line is never claimed for
more than was delivered.

Its life, kept as data in `COMPLAINT_ACTIONS` / `NEXT_STATUS` (roles in brackets):

    open ──ask_supplier [care]──► awaiting_supplier ──answer [supplier]──► supplier_answered
     │  ▲                                │                                     │
     │  └── (disputed is back with care) └──── propose_plan [care] ◄───────────┘
     └───────────── propose_plan [care] ──────┐
                                              ▼
             reject [admin] ──────────► plan_proposed ──submit [care]──► plan_approved (refund total ≤ threshold)
                 │                                  └──────────────────► needs_approval (above it)
                 └──── needs_approval ──approve [admin]──► plan_approved
    plan_approved ──accept [customer]──► accepted ──start [care]──► in_progress ──resolve [care]──► resolved
                  └─dispute [customer]──► disputed
    open, awaiting_supplier, supplier_answered, disputed ──withdraw [customer]──► withdrawn

A plan gives each claimed line it covers one resolution: a refund (an amount up to what the
line's quantity was paid), a replacement (shipped by the supplier) or a return for refund
(a return authorisation; the refund is due when the return is received). Money only leaves
as `RefundDue`s whose ids derive from (complaint, sku), so a retried step can only ever name
the same refund; `check_refund_cap` keeps every refund within what the order captured.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .errors import InvalidTransition, RuleViolation
from .orders import ARRIVED, DeliveryStatus, Order, OrderLine, RequestedLine, Transition
from .permissions import ActionRule, Principal, Role, check_rule, roles


class ComplaintReason(StrEnum):
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    MISSING_ITEM = "missing_item"
    NOT_AS_DESCRIBED = "not_as_described"
    LOST_IN_TRANSIT = "lost_in_transit"


class Resolution(StrEnum):
    """What puts a line right: the customer asks for one, the plan decides one per line."""

    REFUND = "refund"
    REPLACEMENT = "replacement"
    RETURN_FOR_REFUND = "return_for_refund"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    AWAITING_SUPPLIER = "awaiting_supplier"  # care asked the supplier
    SUPPLIER_ANSWERED = "supplier_answered"  # back with care
    PLAN_PROPOSED = "plan_proposed"  # care's draft, not shown to the customer yet
    NEEDS_APPROVAL = "needs_approval"  # refund total above the threshold: an admin decides
    PLAN_APPROVED = "plan_approved"  # offered to the customer
    ACCEPTED = "accepted"
    DISPUTED = "disputed"  # the customer refused the plan: back with care
    IN_PROGRESS = "in_progress"  # refunds issued, replacements shipping, return authorised
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


class ComplaintAction(StrEnum):
    ASK_SUPPLIER = "ask_supplier"
    ANSWER = "answer"
    PROPOSE_PLAN = "propose_plan"
    SUBMIT_PLAN = "submit_plan"
    APPROVE_PLAN = "approve_plan"
    REJECT_PLAN = "reject_plan"
    ACCEPT_PLAN = "accept_plan"
    DISPUTE_PLAN = "dispute_plan"
    START = "start"
    RESOLVE = "resolve"
    WITHDRAW = "withdraw"


R = ComplaintReason
C = ComplaintStatus
A = ComplaintAction
D = DeliveryStatus

# ---------------------------------------------------------------- what may be claimed, as data

# Which reasons a delivery's status allows, and what its complaint window counts from.
REASONS_FOR: dict[DeliveryStatus, frozenset[ComplaintReason]] = {
    D.DELIVERED: frozenset({R.DAMAGED, R.WRONG_ITEM, R.MISSING_ITEM, R.NOT_AS_DESCRIBED}),
    # After a partial return the rest of the delivery can still be complained about.
    D.PARTIALLY_RETURNED: frozenset({R.DAMAGED, R.WRONG_ITEM, R.MISSING_ITEM, R.NOT_AS_DESCRIBED}),
    D.DISPATCHED: frozenset({R.LOST_IN_TRANSIT}),
}
OPEN_RULE = ActionRule(roles(Role.CUSTOMER), frozenset(REASONS_FOR), "complain about a delivery")

# Nothing can be sent back that never arrived.
RESOLUTIONS_FOR: dict[ComplaintReason, frozenset[Resolution]] = {
    R.DAMAGED: frozenset(Resolution),
    R.WRONG_ITEM: frozenset(Resolution),
    R.NOT_AS_DESCRIBED: frozenset(Resolution),
    R.MISSING_ITEM: frozenset({Resolution.REFUND, Resolution.REPLACEMENT}),
    R.LOST_IN_TRANSIT: frozenset({Resolution.REFUND, Resolution.REPLACEMENT}),
}

# Who bears a refund: the supplier (a charge-back) or the shop. Lost in transit is a setting
# (`ComplaintPolicy.supplier_bears_lost_in_transit`): whose carrier lost it is a commercial choice.
SUPPLIER_BEARS: dict[ComplaintReason, bool] = {
    R.DAMAGED: True,
    R.WRONG_ITEM: True,
    R.MISSING_ITEM: True,
    R.NOT_AS_DESCRIBED: True,
}

DEFAULT_PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


@dataclass(frozen=True)
class ComplaintPolicy:
    """What settings may change."""

    window_s: int = 30 * 24 * 3600  # after delivery (or the expected date, for a lost parcel)
    max_photos: int = 6
    max_photo_bytes: int = 10 * 1024 * 1024
    photo_types: frozenset[str] = DEFAULT_PHOTO_TYPES
    approval_threshold_cents: int = 10_000  # a plan refunding more than this needs an admin
    supplier_bears_lost_in_transit: bool = True

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.max_photos < 0 or self.max_photo_bytes <= 0 or self.approval_threshold_cents < 0:
            raise ValueError("complaint policy: window and photo size must be positive, counts not negative")


def supplier_bears(reason: ComplaintReason, policy: ComplaintPolicy) -> bool:
    if reason is R.LOST_IN_TRANSIT:
        return policy.supplier_bears_lost_in_transit
    return SUPPLIER_BEARS[reason]


# ---------------------------------------------------------------- the complaint


@dataclass(frozen=True)
class DeliveryFacts:
    """What a complaint is checked against: one delivery as the service reads it (its lines,
    when it arrived, when it was due)."""

    order_id: str
    supplier_id: str
    customer_id: str
    status: DeliveryStatus
    lines: tuple[OrderLine, ...]
    delivered_at: datetime | None = None
    expected_by: datetime | None = None  # past this instant a dispatched parcel counts as lost

    def line(self, sku: str) -> OrderLine | None:
        return next((line for line in self.lines if line.sku == sku), None)


def delivery_facts(
    order: Order, supplier_id: str, *, delivered_at: datetime | None, expected_by: datetime | None
) -> DeliveryFacts:
    """The facts of one of the order's deliveries (raises RuleViolation `unknown_delivery`)."""
    delivery = order.delivery(supplier_id)
    return DeliveryFacts(
        order.id,
        supplier_id,
        order.customer_id,
        delivery.status,
        tuple(line for line in order.lines if line.supplier_id == supplier_id),
        delivered_at,
        expected_by,
    )


@dataclass(frozen=True)
class ClaimedLine:
    """A claimed line, with the unit price paid (kept so a plan needs nothing else)."""

    sku: str
    quantity: int
    unit_price_cents: int

    @property
    def paid_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Photo:
    key: str  # the uploaded object's key
    content_type: str
    size_bytes: int


@dataclass(frozen=True)
class ProposedLine:
    """A plan line as care proposes it. `refund_cents` for a refund or a return for refund;
    0 for a replacement."""

    sku: str
    resolution: Resolution
    quantity: int
    refund_cents: int = 0


@dataclass(frozen=True)
class PlanLine:
    sku: str
    resolution: Resolution
    quantity: int
    refund_cents: int  # paid back now (refund) or on receipt (return_for_refund); 0 for a replacement
    paid_cents: int  # what the customer paid for `quantity`: the refund's cap
    charge_back_cents: int  # the supplier's share of the refund


@dataclass(frozen=True)
class Plan:
    lines: tuple[PlanLine, ...]
    supplier_bears: bool
    proposed_by: str
    proposed_at: datetime

    @property
    def refund_cents(self) -> int:
        """Everything the plan pays back, now or on receipt of a return."""
        return sum(line.refund_cents for line in self.lines)

    @property
    def charge_back_cents(self) -> int:
        return sum(line.charge_back_cents for line in self.lines)

    def lines_of(self, resolution: Resolution) -> tuple[PlanLine, ...]:
        return tuple(line for line in self.lines if line.resolution is resolution)


@dataclass
class Complaint:
    id: str
    order_id: str
    supplier_id: str
    customer_id: str
    reason: ComplaintReason
    wanted: Resolution  # what the customer asked for; the plan decides
    lines: list[ClaimedLine]
    photos: list[Photo]
    opened_at: datetime
    description: str = ""
    status: ComplaintStatus = ComplaintStatus.OPEN
    plan: Plan | None = None

    def line(self, sku: str) -> ClaimedLine | None:
        return next((line for line in self.lines if line.sku == sku), None)


# ---------------------------------------------------------------- opening


def window_closes_at(since: datetime, policy: ComplaintPolicy) -> datetime:
    return since + timedelta(seconds=policy.window_s)


def check_window(now: datetime, since: datetime, policy: ComplaintPolicy) -> None:
    """Open until the window's last instant, inclusive."""
    closes = window_closes_at(since, policy)
    if now > closes:
        raise RuleViolation("complaint_window_closed", f"complaints about this delivery were taken until {closes.isoformat()}")


def check_eligible(facts: DeliveryFacts, reason: ComplaintReason, now: datetime, policy: ComplaintPolicy) -> None:
    """The delivery's status allows this reason, a lost parcel is overdue, and the window is open."""
    subject = f"delivery {facts.order_id}/{facts.supplier_id}"
    if facts.status not in REASONS_FOR:  # OPEN_RULE says the same; repeated so this stands alone
        raise InvalidTransition(f"{subject} is {facts.status.value}; a complaint needs delivered, dispatched")
    if reason not in REASONS_FOR[facts.status]:
        allowed = ", ".join(sorted(REASONS_FOR[facts.status]))
        raise RuleViolation(
            "reason_not_allowed", f"{subject} is {facts.status.value}: the reason can be {allowed}, not {reason.value}"
        )
    if facts.status is not D.DISPATCHED:
        if facts.delivered_at is None:
            raise ValueError(f"{subject} is delivered without a delivered_at")
        check_window(now, facts.delivered_at, policy)
        return
    if facts.expected_by is None or now <= facts.expected_by:
        due = facts.expected_by.isoformat() if facts.expected_by else "no expected date"
        raise RuleViolation("not_overdue", f"{subject} is on its way ({due}): it is not lost yet")
    check_window(now, facts.expected_by, policy)


def already_claimed(complaints: Iterable[Complaint], order_id: str, supplier_id: str) -> Counter[str]:
    """Quantity per SKU that complaints on this delivery claim already (withdrawn ones give theirs back)."""
    claimed: Counter[str] = Counter()
    for c in complaints:
        if (c.order_id, c.supplier_id) == (order_id, supplier_id) and c.status is not C.WITHDRAWN:
            claimed.update({line.sku: line.quantity for line in c.lines})
    return claimed


def line_problems(facts: DeliveryFacts, requested: list[RequestedLine], claimed: Mapping[str, int]) -> list[dict[str, Any]]:
    if not requested:
        return [{"field": "lines", "message": "name at least one line"}]
    problems: list[dict[str, Any]] = []
    counts = Counter(r.sku for r in requested)
    for i, req in enumerate(requested):
        where = f"lines[{i}]"
        line = facts.line(req.sku)
        if counts[req.sku] > 1:
            problems.append({"field": f"{where}.sku", "message": f"SKU {req.sku} appears more than once"})
        if line is None:
            problems.append({"field": f"{where}.sku", "message": f"SKU {req.sku} is not in this delivery"})
            continue
        left = line.quantity - claimed.get(req.sku, 0)
        if not 1 <= req.quantity <= left:
            problems.append(
                {
                    "field": f"{where}.quantity",
                    "message": f"{req.sku}: between 1 and {left} can be claimed "
                    f"({line.quantity} delivered, {claimed.get(req.sku, 0)} claimed before)",
                }
            )
    return problems


def photo_problems(photos: list[Photo], policy: ComplaintPolicy) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    if len(photos) > policy.max_photos:
        problems.append({"field": "photos", "message": f"at most {policy.max_photos} photos"})
    keys = Counter(p.key for p in photos)
    for i, photo in enumerate(photos):
        where = f"photos[{i}]"
        if keys[photo.key] > 1:
            problems.append({"field": f"{where}.key", "message": f"photo {photo.key} appears more than once"})
        if photo.content_type not in policy.photo_types:
            problems.append(
                {
                    "field": f"{where}.content_type",
                    "message": f"{photo.content_type} is not one of {', '.join(sorted(policy.photo_types))}",
                }
            )
        if not 0 < photo.size_bytes <= policy.max_photo_bytes:
            problems.append({"field": f"{where}.size_bytes", "message": f"a photo has 1 to {policy.max_photo_bytes} bytes"})
    return problems


def open_complaint(
    *,
    complaint_id: str,
    facts: DeliveryFacts,
    reason: ComplaintReason,
    wanted: Resolution,
    requested: list[RequestedLine],
    photos: list[Photo],
    earlier: Iterable[Complaint],
    actor: Principal,
    policy: ComplaintPolicy,
    now: datetime,
    description: str = "",
) -> Complaint:
    """A new open complaint, or: Forbidden (not a customer), InvalidTransition (the delivery is
    neither delivered nor dispatched), RuleViolation (reason, window, or `invalid_complaint`
    naming every problem with the lines, photos and wanted resolution). `earlier`: the
    complaints already on this delivery. Ownership of the order is the service's check."""
    check_rule(
        OPEN_RULE,
        action="open a complaint on",
        noun="deliveries",
        subject=f"delivery {facts.order_id}/{facts.supplier_id}",
        status=facts.status.value,
        actor=actor,
    )
    check_eligible(facts, reason, now, policy)
    problems = line_problems(facts, requested, already_claimed(earlier, facts.order_id, facts.supplier_id))
    problems += photo_problems(photos, policy)
    if wanted not in RESOLUTIONS_FOR[reason]:
        problems.append({"field": "wanted", "message": f"{wanted.value} is not possible for {reason.value}"})
    if problems:
        raise RuleViolation(
            "invalid_complaint",
            "the complaint cannot be opened: " + "; ".join(str(p["message"]) for p in problems),
            details=problems,
        )
    lines = []
    for r in requested:
        line = facts.line(r.sku)
        assert line is not None  # line_problems found none missing
        lines.append(ClaimedLine(r.sku, r.quantity, line.unit_price_cents))
    return Complaint(
        id=complaint_id,
        order_id=facts.order_id,
        supplier_id=facts.supplier_id,
        customer_id=facts.customer_id,
        reason=reason,
        wanted=wanted,
        lines=lines,
        photos=list(photos),
        opened_at=now,
        description=description,
    )


# ---------------------------------------------------------------- handling: the role x status matrix

CUSTOMER = roles(Role.CUSTOMER)
CARE = roles(Role.CUSTOMER_CARE, Role.ADMIN)
ADMIN = roles(Role.ADMIN)
WITH_CARE = frozenset({C.OPEN, C.AWAITING_SUPPLIER, C.SUPPLIER_ANSWERED, C.DISPUTED})  # no plan on offer
# A plan in these statuses is staff's draft: the customer sees neither it, nor its amount, nor what
# staff wrote to go with it, until it is offered (submitted under the threshold, or approved).
PLAN_WITH_STAFF = frozenset({C.PLAN_PROPOSED, C.NEEDS_APPROVAL})
FINAL = frozenset({C.RESOLVED, C.WITHDRAWN})

COMPLAINT_ACTIONS: dict[ComplaintAction, ActionRule] = {
    A.ASK_SUPPLIER: ActionRule(CARE, WITH_CARE - {C.AWAITING_SUPPLIER}, "ask the supplier for its side"),
    A.ANSWER: ActionRule(roles(Role.SUPPLIER), frozenset({C.AWAITING_SUPPLIER}), "the supplier answers care"),
    A.PROPOSE_PLAN: ActionRule(CARE, WITH_CARE | {C.PLAN_PROPOSED}, "propose (or revise) a handling plan"),
    A.SUBMIT_PLAN: ActionRule(CARE, frozenset({C.PLAN_PROPOSED}), "offer the plan, or send it for approval"),
    A.APPROVE_PLAN: ActionRule(ADMIN, frozenset({C.NEEDS_APPROVAL}), "approve a plan above the threshold"),
    A.REJECT_PLAN: ActionRule(ADMIN, frozenset({C.NEEDS_APPROVAL}), "send a plan back to care"),
    A.ACCEPT_PLAN: ActionRule(CUSTOMER, frozenset({C.PLAN_APPROVED}), "accept the plan"),
    A.DISPUTE_PLAN: ActionRule(CUSTOMER, frozenset({C.PLAN_APPROVED}), "refuse the plan"),
    A.START: ActionRule(CARE, frozenset({C.ACCEPTED}), "issue refunds, order replacements, authorise the return"),
    A.RESOLVE: ActionRule(CARE, frozenset({C.IN_PROGRESS}), "close a carried-out plan"),
    A.WITHDRAW: ActionRule(CUSTOMER, WITH_CARE, "the customer withdraws before a plan is offered"),
}

NEXT_STATUS: dict[ComplaintAction, ComplaintStatus] = {
    A.ASK_SUPPLIER: C.AWAITING_SUPPLIER,
    A.ANSWER: C.SUPPLIER_ANSWERED,
    A.PROPOSE_PLAN: C.PLAN_PROPOSED,
    A.SUBMIT_PLAN: C.PLAN_APPROVED,
    A.APPROVE_PLAN: C.PLAN_APPROVED,
    A.REJECT_PLAN: C.PLAN_PROPOSED,
    A.ACCEPT_PLAN: C.ACCEPTED,
    A.DISPUTE_PLAN: C.DISPUTED,
    A.START: C.IN_PROGRESS,
    A.RESOLVE: C.RESOLVED,
    A.WITHDRAW: C.WITHDRAWN,
}
# Where an action leads instead when the plan's refund total is above the approval threshold.
ABOVE_THRESHOLD: dict[ComplaintAction, ComplaintStatus] = {A.SUBMIT_PLAN: C.NEEDS_APPROVAL}


def needs_approval(plan: Plan, policy: ComplaintPolicy) -> bool:
    return plan.refund_cents > policy.approval_threshold_cents


def check_action(complaint: Complaint, action: ComplaintAction, actor: Principal) -> None:
    """Forbidden for the wrong role, InvalidTransition for the wrong status. Which customer or
    supplier owns the complaint is the service's check."""
    check_rule(
        COMPLAINT_ACTIONS[action],
        action=action.value,
        noun="complaints",
        subject=f"complaint {complaint.id}",
        status=complaint.status.value,
        actor=actor,
    )


def next_status(complaint: Complaint, action: ComplaintAction, policy: ComplaintPolicy) -> ComplaintStatus:
    if action in ABOVE_THRESHOLD and complaint.plan is not None and needs_approval(complaint.plan, policy):
        return ABOVE_THRESHOLD[action]
    return NEXT_STATUS[action]


def apply_action(complaint: Complaint, action: ComplaintAction, actor: Principal, policy: ComplaintPolicy) -> Transition:
    """Check and apply any action but propose_plan (which needs the plan: `propose_plan`)."""
    if action is A.PROPOSE_PLAN:
        raise ValueError("a plan is proposed with propose_plan")
    check_action(complaint, action, actor)
    before = complaint.status
    complaint.status = next_status(complaint, action, policy)
    return Transition(action.value, before.value, complaint.status.value)


def allowed_actions(complaint: Complaint, actor: Principal) -> list[str]:
    """What this actor may do with this complaint now: the buttons a page shows."""
    return [
        a.value for a, rule in COMPLAINT_ACTIONS.items() if actor.has_any(rule.roles) and complaint.status in rule.from_statuses
    ]


# ---------------------------------------------------------------- the plan


def plan_line_problems(complaint: Complaint, proposed: list[ProposedLine]) -> list[dict[str, Any]]:
    if not proposed:
        return [{"field": "lines", "message": "a plan has at least one line"}]
    problems: list[dict[str, Any]] = []
    counts = Counter(p.sku for p in proposed)
    possible = RESOLUTIONS_FOR[complaint.reason]
    for i, p in enumerate(proposed):
        where = f"lines[{i}]"
        claimed = complaint.line(p.sku)
        if counts[p.sku] > 1:
            problems.append({"field": f"{where}.sku", "message": f"SKU {p.sku} appears more than once"})
        if claimed is None:
            problems.append({"field": f"{where}.sku", "message": f"SKU {p.sku} is not claimed by this complaint"})
            continue
        if p.resolution not in possible:
            problems.append(
                {"field": f"{where}.resolution", "message": f"{p.resolution.value} is not possible for {complaint.reason.value}"}
            )
        if not 1 <= p.quantity <= claimed.quantity:
            problems.append(
                {"field": f"{where}.quantity", "message": f"{p.sku}: quantity between 1 and {claimed.quantity} (claimed)"}
            )
            continue
        paid = p.quantity * claimed.unit_price_cents
        if p.resolution is Resolution.REPLACEMENT and p.refund_cents != 0:
            problems.append({"field": f"{where}.refund_cents", "message": f"{p.sku}: a replacement refunds nothing"})
        elif p.resolution is not Resolution.REPLACEMENT and not 1 <= p.refund_cents <= paid:
            problems.append(
                {
                    "field": f"{where}.refund_cents",
                    "message": f"{p.sku}: refund between 1 and {paid} cents (paid for {p.quantity})",
                }
            )
    return problems


def build_plan(complaint: Complaint, proposed: list[ProposedLine], *, policy: ComplaintPolicy, by: str, at: datetime) -> Plan:
    """A validated plan, with each line's cap and the supplier's share; or RuleViolation
    `invalid_plan` naming every problem. Claimed lines the plan leaves out get nothing."""
    problems = plan_line_problems(complaint, proposed)
    if problems:
        raise RuleViolation(
            "invalid_plan", "the plan is not valid: " + "; ".join(str(p["message"]) for p in problems), details=problems
        )
    bears = supplier_bears(complaint.reason, policy)
    lines = []
    for p in proposed:
        claimed = complaint.line(p.sku)
        assert claimed is not None  # plan_line_problems found none missing
        lines.append(
            PlanLine(
                p.sku,
                p.resolution,
                p.quantity,
                p.refund_cents,
                p.quantity * claimed.unit_price_cents,
                p.refund_cents if bears else 0,
            )
        )
    return Plan(tuple(lines), bears, by, at)


def propose_plan(
    complaint: Complaint, proposed: list[ProposedLine], actor: Principal, policy: ComplaintPolicy, at: datetime
) -> Transition:
    """Care proposes (or revises) the plan; it replaces any earlier one."""
    check_action(complaint, A.PROPOSE_PLAN, actor)
    complaint.plan = build_plan(complaint, proposed, policy=policy, by=actor.sub, at=at)
    before = complaint.status
    complaint.status = NEXT_STATUS[A.PROPOSE_PLAN]
    return Transition(A.PROPOSE_PLAN.value, before.value, complaint.status.value)


# ---------------------------------------------------------------- money


def _amount(cents: int) -> str:
    return f"{cents / 100:.2f}"


def refundable_cents(captured_cents: int, refunded_cents: int) -> int:
    """What the order can still pay back."""
    if captured_cents < 0 or refunded_cents < 0:
        raise ValueError("captured and refunded amounts are never negative")
    return max(0, captured_cents - refunded_cents)


def check_refundable(amount_cents: int, captured_cents: int, refunded_cents: int) -> None:
    """RuleViolation `refund_exceeds_captured` unless the amount fits in what is left: check it
    when a plan is submitted or approved, and again before each refund is issued."""
    left = refundable_cents(captured_cents, refunded_cents)
    if amount_cents > left:
        raise RuleViolation(
            "refund_exceeds_captured",
            f"a refund of {_amount(amount_cents)} exceeds what the order can still refund: "
            f"{_amount(captured_cents)} captured, {_amount(refunded_cents)} already refunded, "
            f"{_amount(left)} left",
        )


def check_refund_cap(captured_cents: int, refunded_cents: int, plan: Plan) -> None:
    check_refundable(plan.refund_cents, captured_cents, refunded_cents)


def refund_id(complaint_id: str, sku: str) -> str:
    """Deterministic: one complaint refunds one SKU once, however often a step is retried."""
    digest = hashlib.sha256(f"complaint\x00{complaint_id}\x00{sku}".encode()).hexdigest()[:24]
    return f"rfd_{digest}"


def return_id(complaint_id: str) -> str:
    """Deterministic: a complaint has at most one return authorisation."""
    return "rma_" + hashlib.sha256(f"return\x00{complaint_id}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class RefundDue:
    id: str
    complaint_id: str
    order_id: str
    sku: str
    amount_cents: int
    charge_back_cents: int  # what the supplier is charged back for it


@dataclass(frozen=True)
class Replacement:
    """Units the supplier ships again, at its own cost."""

    sku: str
    quantity: int


# ---------------------------------------------------------------- returns


class ReturnStatus(StrEnum):
    AUTHORISED = "authorised"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"  # the refund is due


class ReturnAction(StrEnum):
    SHIP = "ship"
    RECEIVE = "receive"


# A return that arrives before anyone recorded it shipped is still received.
RETURN_ACTIONS: dict[ReturnAction, ActionRule] = {
    ReturnAction.SHIP: ActionRule(
        roles(Role.CUSTOMER, Role.CUSTOMER_CARE, Role.ADMIN),
        frozenset({ReturnStatus.AUTHORISED}),
        "the customer sends the goods back",
    ),
    ReturnAction.RECEIVE: ActionRule(
        roles(Role.SUPPLIER, Role.CUSTOMER_CARE, Role.ADMIN),
        frozenset({ReturnStatus.AUTHORISED, ReturnStatus.IN_TRANSIT}),
        "the returned goods arrived",
    ),
}
RETURN_NEXT: dict[ReturnAction, ReturnStatus] = {
    ReturnAction.SHIP: ReturnStatus.IN_TRANSIT,
    ReturnAction.RECEIVE: ReturnStatus.RECEIVED,
}


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    quantity: int
    refund_cents: int
    charge_back_cents: int


@dataclass
class ReturnAuthorisation:
    id: str
    complaint_id: str
    order_id: str
    supplier_id: str
    lines: tuple[ReturnLine, ...]
    authorised_at: datetime
    status: ReturnStatus = ReturnStatus.AUTHORISED
    received_at: datetime | None = None


def apply_return_action(rma: ReturnAuthorisation, action: ReturnAction, actor: Principal, at: datetime) -> Transition:
    check_rule(
        RETURN_ACTIONS[action],
        action=action.value,
        noun="returns",
        subject=f"return {rma.id}",
        status=rma.status.value,
        actor=actor,
    )
    before = rma.status
    rma.status = RETURN_NEXT[action]
    if rma.status is ReturnStatus.RECEIVED:
        rma.received_at = at
    return Transition(action.value, before.value, rma.status.value)


def refunds_on_receipt(rma: ReturnAuthorisation) -> tuple[RefundDue, ...]:
    """The refunds a received return makes due (InvalidTransition before it is received)."""
    if rma.status is not ReturnStatus.RECEIVED:
        raise InvalidTransition(f"return {rma.id} is {rma.status.value}; its refund is due once received")
    return tuple(
        RefundDue(
            refund_id(rma.complaint_id, line.sku),
            rma.complaint_id,
            rma.order_id,
            line.sku,
            line.refund_cents,
            line.charge_back_cents,
        )
        for line in rma.lines
    )


# ---------------------------------------------------------------- carrying the plan out


@dataclass(frozen=True)
class Execution:
    """What an accepted plan sets going: refunds now, replacements for the supplier to ship,
    and the return authorisation whose receipt makes the remaining refunds due."""

    refunds: tuple[RefundDue, ...]
    replacements: tuple[Replacement, ...]
    rma: ReturnAuthorisation | None


def carry_out(complaint: Complaint, at: datetime) -> Execution:
    """Derived from the accepted plan alone, with deterministic ids: running it twice yields the same."""
    if complaint.plan is None or complaint.status not in (C.ACCEPTED, C.IN_PROGRESS):
        raise InvalidTransition(f"complaint {complaint.id} is {complaint.status.value}; only an accepted plan is carried out")
    plan = complaint.plan
    refunds = tuple(
        RefundDue(
            refund_id(complaint.id, line.sku),
            complaint.id,
            complaint.order_id,
            line.sku,
            line.refund_cents,
            line.charge_back_cents,
        )
        for line in plan.lines_of(Resolution.REFUND)
    )
    replacements = tuple(Replacement(line.sku, line.quantity) for line in plan.lines_of(Resolution.REPLACEMENT))
    returns = tuple(
        ReturnLine(line.sku, line.quantity, line.refund_cents, line.charge_back_cents)
        for line in plan.lines_of(Resolution.RETURN_FOR_REFUND)
    )
    rma = (
        ReturnAuthorisation(return_id(complaint.id), complaint.id, complaint.order_id, complaint.supplier_id, returns, at)
        if returns
        else None
    )
    return Execution(refunds, replacements, rma)


# ---------------------------------------------------------------- what the customer sees returned


class ReturnState(StrEnum):
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"


def delivered_quantities(order: Order, supplier_id: str | None = None) -> Counter[str]:
    """Quantity per SKU on the order's delivered deliveries (one supplier's, or all)."""
    delivered = {d.supplier_id for d in order.deliveries if d.status in ARRIVED}
    wanted = delivered if supplier_id is None else delivered & {supplier_id}
    out: Counter[str] = Counter()
    for line in order.lines:
        if line.supplier_id in wanted:
            out[line.sku] += line.quantity
    return out


def returned_quantities(rmas: Iterable[ReturnAuthorisation]) -> Counter[str]:
    """Quantity per SKU back with the supplier: received returns only."""
    out: Counter[str] = Counter()
    for rma in rmas:
        if rma.status is ReturnStatus.RECEIVED:
            for line in rma.lines:
                out[line.sku] += line.quantity
    return out


def return_state(delivered: Mapping[str, int], returned: Mapping[str, int]) -> ReturnState | None:
    """`returned` when every delivered unit came back, `partially_returned` when some did, None
    when none did (the order or delivery shows its own status)."""
    for sku, quantity in returned.items():
        if not 0 <= quantity <= delivered.get(sku, 0):
            raise ValueError(f"{quantity} of {sku} returned, only {delivered.get(sku, 0)} delivered")
    back = sum(q for q in returned.values() if q > 0)
    if back == 0:
        return None
    return ReturnState.RETURNED if back == sum(q for q in delivered.values() if q > 0) else ReturnState.PARTIALLY_RETURNED
