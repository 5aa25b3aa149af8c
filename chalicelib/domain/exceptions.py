"""Exceptions: the problems brought to staff. Pure rules, no I/O.

An exception is one record per (kind, subject). Its life:

    pending ──grace passes──► open ──acknowledge──► acknowledged
       │                       │  ▲                     │
       │ condition clears      │  └──snooze expires─── snoozed ◄── snooze (open or acknowledged)
       ▼                       ▼
    resolved (never shown)   resolved (by staff with a note, or by itself when its condition clears)

- A kind with a grace period starts `pending`: a blip that clears within the grace period
  never reaches the queue nor anyone's inbox.
- A repeat bumps `count` and `last_seen`; it never adds a row.
- Open, acknowledged and snoozed records escalate while left unresolved: level 1 tells the
  assignee (or the owning team when nobody is assigned), level 2 the campaign's buyer,
  level 3 the admins. Snoozing pauses escalation until the snooze ends. The hours to each
  level follow the record's severity, unless its kind has its own SLA (`Kind.escalation_h`,
  e.g. `complaint_open`) or settings give the kind one.
- A record may carry a decision deadline (`details["decide_by"]`, e.g. an order held for
  pre-approval must be decided before its campaign closes): then level 1 comes after its hours or
  at the deadline, whichever is first, level 2 at the deadline, and level 3 as long after the
  deadline as level 3 follows level 2 in hours. A kind may name who hears at level 2
  (`Kind.escalates_to`) instead of the default.
- Each record carries its next due time (grace end, snooze end or next escalation), which
  the sweep finds on a sparse index: the sweep reads what is due, never the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from .errors import InvalidTransition, RuleViolation


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_RANK: dict[Severity, int] = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class Status(StrEnum):
    PENDING = "pending"  # within its grace period: not in the queue yet
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


ACTIVE = frozenset({Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED})  # in the staff queue
LIVE = ACTIVE | {Status.PENDING}  # a repeat bumps the record instead of opening a new one


class Owner(StrEnum):
    """The team that handles a kind: told when it opens, summarised in its daily digest."""

    BUYER = "buyer"
    ACCOUNTING = "accounting"
    LOGISTICS = "logistics"
    CUSTOMER_CARE = "customer_care"
    ADMIN = "admin"


Hours = tuple[int, int, int]  # hours after opening at which escalation levels 1, 2 and 3 are reached


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    severity: Severity
    owner: Owner
    grace_s: int = 0
    clears_when: str = ""
    escalation_h: Hours | None = None  # its own SLA, instead of its severity's escalation thresholds
    # Who hears at level 2 instead of the default (the campaign's buyer, but care keeps care's kinds).
    escalates_to: Owner | None = None


_H = 3600
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "supplier_rejected",
            "Supplier rejected a purchase order",
            Severity.CRITICAL,
            Owner.BUYER,
            clears_when="resolved by the buyer (re-sourced or cancelled)",
        ),
        Kind(
            "out_of_stock",
            "Supplier cannot deliver some lines",
            Severity.HIGH,
            Owner.BUYER,
            clears_when="resolved by the buyer",
        ),
        Kind(
            "po_not_acknowledged",
            "Purchase order not acknowledged in time",
            Severity.HIGH,
            Owner.BUYER,
            clears_when="the supplier acknowledges",
        ),
        Kind(
            "invoice_missing",
            "Invoice not uploaded in time",
            Severity.MEDIUM,
            Owner.ACCOUNTING,
            clears_when="the invoice arrives",
        ),
        Kind(
            "payment_approval_pending",
            "Payment proposal waiting for approval",
            Severity.MEDIUM,
            Owner.ACCOUNTING,
            clears_when="accounting approves or rejects the proposal",
        ),
        Kind("payment_failed", "Payment failed", Severity.HIGH, Owner.ACCOUNTING, clears_when="the payment goes through"),
        Kind(
            "payment_overdue",
            "An offline payment has not arrived",
            Severity.MEDIUM,
            Owner.ACCOUNTING,
            clears_when="the payment is recorded, or the order is cancelled",
        ),
        Kind(
            "manual_refund_due",
            "Money to pay back to a customer by transfer",
            Severity.HIGH,
            Owner.ACCOUNTING,
            clears_when="a refund with the transfer's reference settles the order",
        ),
        Kind(
            "refund_failed",
            "A refund to a customer failed",
            Severity.HIGH,
            Owner.ACCOUNTING,
            clears_when="the refund goes through",
        ),
        Kind("stage_overdue", "Supplier stage overdue", Severity.MEDIUM, Owner.BUYER, clears_when="the stage completes"),
        Kind(
            "shipment_late",
            "Parcel not delivered by its expected date",
            Severity.MEDIUM,
            Owner.LOGISTICS,
            grace_s=12 * _H,
            clears_when="the parcel is delivered",
        ),
        Kind(
            "tracking_stale",
            "No tracking update from the carrier",
            Severity.MEDIUM,
            Owner.LOGISTICS,
            clears_when="the carrier reports again",
        ),
        Kind(
            "delivery_exception",
            "Carrier reported a delivery problem",
            Severity.MEDIUM,
            Owner.LOGISTICS,
            grace_s=2 * _H,
            clears_when="the parcel is delivered",
        ),
        Kind(
            "unknown_tracking",
            "Carrier events for a parcel nobody recorded",
            Severity.LOW,
            Owner.LOGISTICS,
            grace_s=1 * _H,
            clears_when="the supplier records the parcel",
        ),
        Kind(
            "webhook_delivery_failing",
            "Outbound webhooks failing for a subscriber",
            Severity.MEDIUM,
            Owner.ADMIN,
            grace_s=_H // 4,
            clears_when="a delivery to the subscriber succeeds",
        ),
        Kind(
            "inbound_webhook_failed",
            "An inbound webhook could not be applied",
            Severity.MEDIUM,
            Owner.ADMIN,
            clears_when="resolved by staff",
        ),
        Kind(
            "complaint_open",
            "Customer complaint waiting for customer care",
            Severity.HIGH,
            Owner.CUSTOMER_CARE,
            clears_when="the complaint is resolved or withdrawn",
            escalation_h=(4, 24, 48),
        ),
        # Care decides a held order; the campaign's buyer hears when its decision deadline passes,
        # since the close will reject it or wait for it (WAYBILL_HELD_AT_CLOSE).
        Kind(
            "order_on_hold",
            "Order waiting for pre-approval",
            Severity.HIGH,
            Owner.CUSTOMER_CARE,
            clears_when="the order is approved, rejected or cancelled",
            escalates_to=Owner.BUYER,
        ),
        # A customer asks to cancel after the close: care (or the supplier) decides before the parcel leaves.
        Kind(
            "cancellation_requested",
            "Customer asks to cancel after the close",
            Severity.HIGH,
            Owner.CUSTOMER_CARE,
            clears_when="customer care or the supplier accepts or refuses the request",
        ),
        Kind(
            "campaign_close_waiting",
            "Campaign close waiting for held orders",
            Severity.CRITICAL,
            Owner.BUYER,
            clears_when="every held order is decided and the campaign closes",
        ),
    )
}

# The detail that carries a record's decision deadline (ISO 8601), when its kind has one.
DEADLINE_DETAIL = "decide_by"


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown exception kind {name!r}") from None


# A supplier stage past its deadline raises this kind on the PO; completing the stage clears it.
OVERDUE_KIND: dict[str, str] = {
    "acknowledge": "po_not_acknowledged",
    "invoice": "invoice_missing",
    "payment_approval": "payment_approval_pending",
    "shipment": "shipment_late",
}


def overdue_kind(stage: str) -> str:
    return OVERDUE_KIND.get(stage, "stage_overdue")


# ---------------------------------------------------------------- policy (from settings)

DEFAULT_ESCALATION_H: dict[Severity, Hours] = {
    Severity.CRITICAL: (1, 4, 24),
    Severity.HIGH: (4, 24, 72),
    Severity.MEDIUM: (24, 72, 168),
    Severity.LOW: (72, 168, 336),
}
LEVELS = 3
SEVERITY_NAMES = frozenset(s.value for s in Severity)  # an escalation setting names a severity or a kind


@dataclass(frozen=True)
class Policy:
    """What settings may change: each kind's severity and grace period, and the escalation thresholds
    (hours after opening at which levels 1, 2 and 3 are reached) per severity and per kind. A kind's
    own thresholds (settings first, then `Kind.escalation_h`) win over its severity's."""

    severities: Mapping[str, Severity] = field(default_factory=dict)
    graces_s: Mapping[str, int] = field(default_factory=dict)
    escalation_h: Mapping[Severity, Hours] = field(default_factory=lambda: dict(DEFAULT_ESCALATION_H))
    kind_escalation_h: Mapping[str, Hours] = field(default_factory=dict)

    def severity(self, kind_name: str) -> Severity:
        return self.severities.get(kind_name, kind(kind_name).severity)

    def grace_s(self, kind_name: str) -> int:
        return self.graces_s.get(kind_name, kind(kind_name).grace_s)

    def escalation_hours(self, severity: Severity, kind_name: str | None = None) -> Hours:
        """The kind's own SLA when it has one, else its severity's thresholds."""
        if kind_name is not None:
            known = KINDS.get(kind_name)
            own = self.kind_escalation_h.get(kind_name) or (known.escalation_h if known else None)
            if own is not None:
                return own
        return self.escalation_h[severity]

    def escalation_at(
        self,
        severity: Severity,
        opened_at: datetime,
        level: int,
        kind_name: str | None = None,
        deadline: datetime | None = None,
    ) -> datetime | None:
        """When the record (of `kind_name`, if given) reaches `level` (1..3); None past the last level.
        With a decision `deadline`: level 1 after its hours or at the deadline, whichever is first;
        level 2 at the deadline; level 3 as long after it as level 3 follows level 2 in hours."""
        if level < 1 or level > LEVELS:
            return None
        hours = self.escalation_hours(severity, kind_name)
        if deadline is None:
            return opened_at + timedelta(hours=hours[level - 1])
        if level == 1:
            return min(opened_at + timedelta(hours=hours[0]), deadline)
        if level == 2:
            return deadline
        return deadline + timedelta(hours=hours[2] - hours[1])


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"{what}: expected name=value, got {part!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


@lru_cache(maxsize=8)
def parse_policy(severities: str = "", graces: str = "", escalation: str = "") -> Policy:
    """Settings text to a policy, refusing anything unknown:
    severities `tracking_stale=high,...`, graces (seconds) `tracking_stale=3600,...`,
    escalation (hours per level) per severity or per kind `critical=1/4/24,complaint_open=2/8/24,...`."""
    sev: dict[str, Severity] = {}
    for name, value in _pairs(severities, "exception severities"):
        kind(name)
        sev[name] = Severity(value)
    grace: dict[str, int] = {}
    for name, value in _pairs(graces, "exception graces"):
        kind(name)
        grace[name] = int(value)
        if grace[name] < 0:
            raise ValueError(f"exception graces: {name} must not be negative")
    esc = dict(DEFAULT_ESCALATION_H)
    per_kind: dict[str, Hours] = {}
    for name, value in _pairs(escalation, "exception escalation"):
        if name not in SEVERITY_NAMES and name not in KINDS:
            raise ValueError(f"exception escalation: {name!r} is neither a severity nor an exception kind")
        hours = tuple(int(h) for h in value.split("/"))
        if len(hours) != LEVELS or hours[0] <= 0 or any(b <= a for a, b in zip(hours, hours[1:], strict=False)):
            raise ValueError(f"exception escalation: {name} needs {LEVELS} increasing hours, got {value!r}")
        if name in KINDS:
            per_kind[name] = (hours[0], hours[1], hours[2])
        else:
            esc[Severity(name)] = (hours[0], hours[1], hours[2])
    return Policy(severities=sev, graces_s=grace, escalation_h=esc, kind_escalation_h=per_kind)


# ---------------------------------------------------------------- the record


@dataclass
class ExceptionRecord:
    id: str
    kind: str
    subject_type: str
    subject_id: str
    severity: Severity
    status: Status
    count: int
    opened_at: datetime  # first seen (pending) or entered the queue (open)
    last_seen: datetime
    details: dict[str, Any] = field(default_factory=dict)
    level: int = 0  # escalation level reached (0..3)
    assignee: str | None = None
    acknowledged_by: str | None = None
    snoozed_until: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    version: int | None = None

    @property
    def title(self) -> str:
        return kind(self.kind).title

    @property
    def owner(self) -> Owner:
        return kind(self.kind).owner

    @property
    def supplier_id(self) -> str | None:
        value = self.details.get("supplier_id")
        return str(value) if value else None

    @property
    def campaign_id(self) -> str | None:
        value = self.details.get("campaign_id")
        return str(value) if value else None

    @property
    def deadline(self) -> datetime | None:
        """The decision deadline its details carry (`decide_by`), if any: escalation follows it."""
        value = self.details.get(DEADLINE_DETAIL)
        if not value:
            return None
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            return None


def new_record(
    exc_id: str,
    kind_name: str,
    subject_type: str,
    subject_id: str,
    at: datetime,
    policy: Policy,
    details: Mapping[str, Any],
    severity: Severity | None = None,
) -> ExceptionRecord:
    """A first sighting: pending for its grace period, or open at once."""
    grace = policy.grace_s(kind_name)
    return ExceptionRecord(
        id=exc_id,
        kind=kind_name,
        subject_type=subject_type,
        subject_id=subject_id,
        severity=severity or policy.severity(kind_name),
        status=Status.PENDING if grace > 0 else Status.OPEN,
        count=1,
        opened_at=at,
        last_seen=at,
        details=dict(details),
    )


def bump(record: ExceptionRecord, at: datetime, details: Mapping[str, Any], severity: Severity | None = None) -> ExceptionRecord:
    """A repeat of a live record: count it, merge what it says; severity only ever rises."""
    if record.status not in LIVE:
        raise InvalidTransition(f"exception {record.id} is {record.status.value}")
    record.count += 1
    record.last_seen = at
    record.details = {**record.details, **details}
    if severity is not None and SEVERITY_RANK[severity] < SEVERITY_RANK[record.severity]:
        record.severity = severity
    return record


def next_due(record: ExceptionRecord, policy: Policy) -> datetime | None:
    """When the sweep must next look at this record; None when nothing more can happen by time."""
    if record.status is Status.PENDING:
        return record.opened_at + timedelta(seconds=policy.grace_s(record.kind))
    if record.status is Status.SNOOZED:
        return record.snoozed_until
    if record.status in ACTIVE:
        return policy.escalation_at(record.severity, record.opened_at, record.level + 1, record.kind, record.deadline)
    return None


@dataclass(frozen=True)
class Due:
    """What the sweep does with a due record."""

    action: str  # open / wake / escalate / none
    level: int = 0


def on_due(record: ExceptionRecord, at: datetime, policy: Policy) -> Due:
    """Grace over: open it. Snooze over: back in the queue. Past a threshold: escalate to the highest
    level reached (a late sweep skips levels instead of sending each one)."""
    due = next_due(record, policy)
    if due is None or due > at:
        return Due("none")
    if record.status is Status.PENDING:
        return Due("open")
    if record.status is Status.SNOOZED:
        return Due("wake")
    level = record.level
    while level < LEVELS:
        reached = policy.escalation_at(record.severity, record.opened_at, level + 1, record.kind, record.deadline)
        if reached is None or reached > at:
            break
        level += 1
    return Due("escalate", level) if level > record.level else Due("none")


# ---------------------------------------------------------------- staff actions


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    SNOOZE = "snooze"
    RESOLVE = "resolve"


ALLOWED: dict[Action, frozenset[Status]] = {
    Action.ACKNOWLEDGE: frozenset({Status.OPEN}),
    Action.ASSIGN: ACTIVE,
    Action.SNOOZE: frozenset({Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED}),
    Action.RESOLVE: ACTIVE,
}
MAX_SNOOZE = timedelta(days=30)


def allowed_actions(record: ExceptionRecord) -> list[str]:
    return [a.value for a, statuses in ALLOWED.items() if record.status in statuses]


def check(record: ExceptionRecord, action: Action) -> None:
    if record.status not in ALLOWED[action]:
        raise InvalidTransition(f"cannot {action.value} an exception that is {record.status.value}")


def acknowledge(record: ExceptionRecord, by: str) -> None:
    check(record, Action.ACKNOWLEDGE)
    record.status = Status.ACKNOWLEDGED
    record.acknowledged_by = by


def assign(record: ExceptionRecord, assignee: str | None) -> None:
    check(record, Action.ASSIGN)
    record.assignee = assignee


def snooze(record: ExceptionRecord, until: datetime, at: datetime) -> None:
    check(record, Action.SNOOZE)
    if until <= at:
        raise RuleViolation(
            "snooze_in_past",
            "snooze until a time in the future",
            details=[{"field": "until", "message": "must be in the future"}],
        )
    if until - at > MAX_SNOOZE:
        raise RuleViolation(
            "snooze_too_long",
            f"snooze for at most {MAX_SNOOZE.days} days",
            details=[{"field": "until", "message": f"at most {MAX_SNOOZE.days} days ahead"}],
        )
    record.status = Status.SNOOZED
    record.snoozed_until = until


def wake(record: ExceptionRecord) -> None:
    """The snooze ended: back to where it was (acknowledged stays acknowledged)."""
    if record.status is not Status.SNOOZED:
        raise InvalidTransition(f"exception {record.id} is not snoozed")
    record.status = Status.ACKNOWLEDGED if record.acknowledged_by else Status.OPEN
    record.snoozed_until = None


def open_(record: ExceptionRecord, at: datetime) -> None:
    """Grace over and still there: into the queue. Its age (and escalation clock) starts now."""
    if record.status is not Status.PENDING:
        raise InvalidTransition(f"exception {record.id} is not pending")
    record.status = Status.OPEN
    record.opened_at = at


def resolve(record: ExceptionRecord, at: datetime, note: str) -> None:
    if record.status not in LIVE:
        raise InvalidTransition(f"exception {record.id} is already {record.status.value}")
    record.status = Status.RESOLVED
    record.resolved_at = at
    record.resolution = note
    record.snoozed_until = None


# ---------------------------------------------------------------- the queue


@dataclass(frozen=True)
class QueueFilter:
    kinds: frozenset[str] = frozenset()
    severities: frozenset[Severity] = frozenset()
    supplier_id: str | None = None
    campaign_id: str | None = None
    assignee: str | None = None  # an address, or "none" for the unassigned
    statuses: frozenset[Status] = frozenset({Status.OPEN, Status.ACKNOWLEDGED})  # snoozed hidden by default
    team: Owner | None = None  # the team that owns the kind

    def owns(self, kind_name: str) -> bool:
        """Whether the team filter (if any) keeps this kind."""
        return self.team is None or (kind_name in KINDS and KINDS[kind_name].owner is self.team)

    def matches(self, r: ExceptionRecord, *, ignore: str = "") -> bool:
        if not self.owns(r.kind):
            return False
        if ignore != "kind" and self.kinds and r.kind not in self.kinds:
            return False
        if ignore != "severity" and self.severities and r.severity not in self.severities:
            return False
        if self.supplier_id and r.supplier_id != self.supplier_id:
            return False
        if self.campaign_id and r.campaign_id != self.campaign_id:
            return False
        if self.assignee == "none" and r.assignee:
            return False
        if self.assignee and self.assignee != "none" and r.assignee != self.assignee:
            return False
        return r.status in self.statuses


def rank_key(r: ExceptionRecord) -> tuple[int, datetime, str]:
    """Severity first, then age (oldest first)."""
    return SEVERITY_RANK[r.severity], r.opened_at, r.id


@dataclass
class RankedQueue:
    items: list[ExceptionRecord]
    by_kind: dict[str, int]  # over every filter but the kind filter (facets)
    by_severity: dict[str, int]  # over every filter but the severity filter
    total: int


def rank(records: Iterable[ExceptionRecord], flt: QueueFilter) -> RankedQueue:
    records = list(records)
    items = sorted((r for r in records if flt.matches(r)), key=rank_key)
    by_kind = Counter(r.kind for r in records if flt.matches(r, ignore="kind"))
    by_severity = Counter(r.severity.value for r in records if flt.matches(r, ignore="severity"))
    return RankedQueue(
        items=items,
        by_kind=dict(sorted(by_kind.items())),
        by_severity={s.value: by_severity.get(s.value, 0) for s in Severity},
        total=len(items),
    )
