"""The staff home: each role's work brought to it, the menu's counts, and the trends.

A home is a few sections, each a ranked top of one kind of work with its count (`SECTIONS`; a role
sees the sections its team owns, an admin sees all of them, everyone sees what is assigned to them).
What it reads is bounded whatever the table holds:

- the exceptions queue's head and its counters: ONE Query (`Store.open_exceptions_head`), the first
  `HEAD_READ` records in rank order (severity, then age), split among the sections by kind; a section's
  count comes from the counters, so it is exact even when its records lie past the head (then the
  section says so and links to the queue);
- a buyer's purchase orders nearest their acknowledgement deadline: one Query (`pos_in`, oldest first);
- a buyer's campaigns closing within `CLOSING_WITHIN`: one Query (`campaigns_due`);
- accounting's payment proposals waiting for a decision, oldest first: one Query (`proposals_in`);
- what is assigned to me: one Query, and one per team of my roles (`assigned_to`, `assigned_to_team`).

The menu's counts (`counts`) are one read of the queue's counters, hashed into a tag (`Counts.tag`) a
poller sends back to learn "nothing changed" without a body. The trends (`trends`) read one Query per
series over a range of days or weeks (services/ports_trends.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..config import settings
from ..domain import exceptions as rules
from ..domain.assignments import RANK
from ..domain.exceptions import ExceptionRecord, Owner, Status
from ..domain.permissions import READ_STAFF, Principal, Role
from ..domain.purchase_orders import Stage
from . import clock, uow
from .guard import require
from .ports_exceptions import Cell
from .ports_trends import SERIES, periods

HEAD_READ = 100  # queue records the home reads (one Query, the counters in it)
SHOWN = 5  # items per section
POS_READ = 25  # POs in the acknowledgement stage read, oldest first
NEAR_DEADLINE = timedelta(hours=24)  # a PO due this soon is "near" its deadline
CLOSING_WITHIN = timedelta(hours=48)
PENDING_PROPOSAL = "pending"  # services.payments.PENDING (not imported: that module brings the bank adapter)
LISTED = frozenset({Status.OPEN, Status.ACKNOWLEDGED})
PRIORITY_RANK = {
    "critical": 0,
    "high": 1,
    "medium": 2,
    "low": 3,
}  # severities and priorities alike  # as the queue lists by default (snoozed hidden)


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    owner: Owner
    kinds: tuple[str, ...]
    menu: str | None = None  # the menu entry whose count it is


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "purchase_orders",
        "Purchase orders near or past their deadline",
        Owner.BUYER,
        ("supplier_rejected", "out_of_stock", "po_not_acknowledged", "stage_overdue"),
        "purchase-orders",
    ),
    SectionSpec("campaigns", "Campaigns closing", Owner.BUYER, ("campaign_close_waiting",), "campaigns"),
    SectionSpec("complaints", "Complaints waiting", Owner.CUSTOMER_CARE, ("complaint_open",), "complaints"),
    SectionSpec("held_orders", "Held orders waiting", Owner.CUSTOMER_CARE, ("order_on_hold", "cancellation_requested"), "orders"),
    SectionSpec("payments", "Payment proposals", Owner.ACCOUNTING, ("payment_approval_pending", "invoice_missing"), "payments"),
    SectionSpec(
        "failed_payments",
        "Failed payments and refunds",
        Owner.ACCOUNTING,
        ("payment_failed", "payment_overdue", "refund_failed", "manual_refund_due"),
    ),
    SectionSpec(
        "parcels",
        "Stale, late and unknown parcels",
        Owner.LOGISTICS,
        ("tracking_stale", "shipment_late", "unknown_tracking", "delivery_exception"),
    ),
    SectionSpec("webhooks", "Webhooks failing", Owner.ADMIN, ("webhook_delivery_failing", "inbound_webhook_failed")),
)
MENUS = ("exceptions", "orders", "campaigns", "purchase-orders", "complaints", "payments")


@dataclass(frozen=True)
class HomeItem:
    """One line of a section: an exception, or a subject (PO, campaign, assigned order...), with what ranks it."""

    kind: str  # exception / purchase_order / campaign / order / complaint
    id: str
    title: str
    priority: str  # a severity or an assignment's priority
    since: datetime
    due_at: datetime | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    reason: str | None = None
    assignee: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    count: int  # exact (counters) for exceptions; what was read for subjects (`more`: there may be more)
    items: list[HomeItem]
    kinds: tuple[str, ...] = ()
    more: bool = False


@dataclass(frozen=True)
class Counts:
    """Counts per menu entry and per home section, and their tag (a hash of both)."""

    menu: dict[str, int]
    sections: dict[str, int]

    @property
    def tag(self) -> str:
        text = json.dumps([self.menu, self.sections], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Home:
    roles: list[str]
    sections: list[Section]
    counts: Counts


def _teams(actor: Principal) -> set[Owner]:
    if Role.ADMIN in actor.roles:
        return set(Owner)
    return {Owner(r.value) for r in actor.roles if r.value in {o.value for o in Owner}}


def _tally(cells: dict[Cell, int]) -> Counts:
    by_kind: dict[str, int] = {}
    for (status, _severity, kind), n in cells.items():
        if n > 0 and Status(status) in LISTED:
            by_kind[kind] = by_kind.get(kind, 0) + n
    sections = {s.key: sum(by_kind.get(k, 0) for k in s.kinds) for s in SECTIONS}
    menu = dict.fromkeys(MENUS, 0)
    menu["exceptions"] = sum(by_kind.values())
    for s in SECTIONS:
        if s.menu:
            menu[s.menu] += sections[s.key]
    return Counts(menu, sections)


def counts(actor: Principal) -> Counts:
    """The menu's and the sections' counts: one read of the exceptions queue's counters."""
    require(actor, READ_STAFF, "read the counts")
    return _tally(uow.store().open_exception_counts())


def _exception_item(r: ExceptionRecord) -> HomeItem:
    reason = r.details.get("reason")
    return HomeItem(
        "exception",
        r.id,
        r.title,
        r.severity.value,
        r.opened_at,
        rules.next_due(r, settings().exception_policy()),
        r.subject_type,
        r.subject_id,
        str(reason) if reason else None,
        r.assignee,
        r.version,
    )


def _pos_near_deadline(now: datetime) -> tuple[list[HomeItem], bool]:
    page = uow.store().pos_in(Stage.ACKNOWLEDGE.value, limit=POS_READ, newest_first=False)
    near = [v.value for v in page.items if v.value.stage_deadline is not None and v.value.stage_deadline <= now + NEAR_DEADLINE]
    near.sort(key=lambda r: (r.stage_deadline or now, r.po.id))
    items = [
        HomeItem(
            "purchase_order",
            r.po.id,
            f"{r.po.supplier_id} has not acknowledged",
            "critical" if r.stage_deadline is not None and r.stage_deadline <= now else "high",
            r.po.created_at,
            r.stage_deadline,
            "purchase_order",
            r.po.id,
        )
        for r in near
    ]
    return items, page.cursor is not None


def _proposals_waiting() -> tuple[list[HomeItem], bool]:
    page = uow.store().proposals_in(PENDING_PROPOSAL, limit=SHOWN)
    items = [
        HomeItem(
            "payment_proposal",
            p.value.id,
            f"Proposal to pay {p.value.supplier_id}: waiting for a decision",  # the amount: on the payments screen
            "medium",
            p.value.created_at,
            None,
            "purchase_order",
            p.value.po_id,
        )
        for p in page.items
    ]
    return items, page.cursor is not None


def _campaigns_closing(now: datetime) -> list[HomeItem]:
    due = uow.store().campaigns_due(now + CLOSING_WITHIN, limit=SHOWN + 1)
    return [
        HomeItem(
            "campaign",
            v.value.campaign.id,
            v.value.campaign.name,
            "high",
            v.value.created_at,
            v.value.campaign.ends_at,
            "campaign",
            v.value.campaign.id,
        )
        for v in due
    ]


def _assigned(actor: Principal, teams: set[Owner], head: list[ExceptionRecord]) -> tuple[list[HomeItem], bool]:
    """Subjects assigned to me or to my teams (one Query each; an admin: to me only), and the queue's
    records in the head assigned to me, ranked by priority or severity, then oldest."""
    store = uow.store()
    me = (actor.email or "").lower()
    found = [store.assigned_to(me, limit=SHOWN + 1)] if me else []
    if Role.ADMIN not in actor.roles:
        found += [store.assigned_to_team(t, limit=SHOWN + 1) for t in sorted(teams)]
    seen: set[tuple[str, str]] = set()
    ranked: list[tuple[int, HomeItem]] = []
    for page in found:
        for v in page.items:
            a = v.value
            if (a.subject.value, a.subject_id) in seen:
                continue
            seen.add((a.subject.value, a.subject_id))
            words = a.subject.value.replace("_", " ").capitalize()
            title = f"{words} {a.subject_id}" + (f": {a.note}" if a.note else "")
            item = HomeItem(a.subject.value, a.subject_id, title, a.priority.value, a.assigned_at, assignee=a.assignee)
            ranked.append((RANK[a.priority], item))
    for r in head:
        if me and r.assignee == me:
            ranked.append((rules.SEVERITY_RANK[r.severity], _exception_item(r)))
    ranked.sort(key=lambda p: (p[0], p[1].since, p[1].id))
    more = any(p.cursor for p in found) or len(ranked) > SHOWN
    return [i for _, i in ranked[:SHOWN]], more


def home(actor: Principal) -> Home:
    """The actor's home: its roles' sections (module docstring: what each reads)."""
    require(actor, READ_STAFF, "read the home")
    now = clock.now()
    teams = _teams(actor)
    cells, head = uow.store().open_exceptions_head(limit=HEAD_READ)
    tally = _tally(cells)
    listed = [r for r in head.records if r.status in LISTED]
    sections: list[Section] = []
    for spec in SECTIONS:
        if spec.owner not in teams:
            continue
        records = [r for r in listed if r.kind in spec.kinds]
        count = tally.sections[spec.key]
        more = count > min(len(records), SHOWN)
        subjects: list[HomeItem] = []  # what the section reads beside the queue
        if spec.key == "purchase_orders":
            subjects, more_read = _pos_near_deadline(now)
        elif spec.key == "payments":
            subjects, more_read = _proposals_waiting()
        elif spec.key == "campaigns":
            subjects = _campaigns_closing(now)
            more_read = len(subjects) > SHOWN
        else:
            more_read = False
        # a subject listed for itself is not listed again for its exception of the same wait (a PO past
        # its acknowledgement deadline, a proposal past its approval deadline), nor counted twice
        listed_for_itself = {i.subject_id for i in subjects}
        same_wait = {"po_not_acknowledged", "payment_approval_pending"}
        before = len(records)
        records = [r for r in records if not (r.kind in same_wait and r.subject_id in listed_for_itself)]
        count += len(subjects) - (before - len(records))
        merged = subjects + [_exception_item(r) for r in records]
        merged.sort(key=lambda i: (PRIORITY_RANK.get(i.priority, 2), i.since, i.id))  # as the queue ranks
        items = merged[:SHOWN]
        more = more or more_read or len(merged) > SHOWN
        sections.append(Section(spec.key, spec.title, count, items, spec.kinds, more))
    assigned, more = _assigned(actor, teams, listed)
    sections.insert(0, Section("assigned", "Assigned to me or my team", len(assigned), assigned, (), more))
    return Home(sorted(r.value for r in actor.roles), sections, tally)


@dataclass(frozen=True)
class Series:
    name: str
    period: str  # day / week
    points: list[tuple[str, dict[str, int]]] = field(default_factory=list)


DAYS = 30
WEEKS = 12


def trends(actor: Principal, *, days: int = DAYS, weeks: int = WEEKS) -> list[Series]:
    """Orders placed per day, exceptions opened and resolved per day, PO stages completed (and late) per
    week: one Query per series, every period of the range present (zeros where nothing happened)."""
    require(actor, READ_STAFF, "read the trends")
    today = clock.now().date()
    ranges: dict[str, tuple[date, date]] = {
        "orders": (today - timedelta(days=days - 1), today),
        "exceptions": (today - timedelta(days=days - 1), today),
        "stages": (today - timedelta(weeks=weeks - 1), today),
    }
    out = []
    for name, (first, last) in ranges.items():
        wanted = periods(name, first, last)
        found = uow.store().trend(name, wanted[0], wanted[-1])
        zero = dict.fromkeys(SERIES[name][1], 0)
        out.append(Series(name, SERIES[name][0], [(p, {**zero, **found.get(p, {})}) for p in wanted]))
    return out
