"""Assigning orders, complaints and purchase orders to a person or a team (issue 21, item 3), and
"My work": everything assigned to me (or my team), exceptions included, ranked as the exceptions queue
ranks (priority or severity first, then oldest).

An assignment is its own small aggregate beside its subject (the subject's item is not rewritten, so
assigning never races the subject's own changes); it is changed under its version with an audit event
on the subject's history (`order.assigned`, `po.unassigned`, ...), so the subject's trail says who took
it over. Any staff role may assign, as with exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config import settings
from ..domain import exceptions as exception_rules
from ..domain.assignments import RANK, Assignment, Priority, Subject, assignment
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, NotFound
from ..domain.exceptions import Owner, QueueFilter
from ..domain.orders import Order
from ..domain.permissions import READ_STAFF, Principal
from . import exceptions, uow
from .clock import new_id, now
from .guard import require
from .ports import Record, Remove, Save, Versioned
from .ports_complaints import StoredComplaint
from .ports_purchase_orders import PORecord

AUDIT_SUBJECT = {Subject.ORDER: "order", Subject.COMPLAINT: "complaint", Subject.PURCHASE_ORDER: "po"}
SEVERITY_RANK = {s: i for i, s in enumerate(("critical", "high", "medium", "low"))}
WORK_LIMIT = 100  # each source's page in "My work"


def _must_exist(subject: Subject, subject_id: str) -> None:
    kind: type = {Subject.ORDER: Order, Subject.COMPLAINT: StoredComplaint, Subject.PURCHASE_ORDER: PORecord}[subject]
    if uow.store().load(kind, subject_id) is None:
        raise NotFound(f"{subject.value.replace('_', ' ')} {subject_id} not found")


def get(actor: Principal, subject: Subject, subject_id: str) -> Versioned[Assignment] | None:
    require(actor, READ_STAFF, "read assignments")
    return uow.store().load(Assignment, subject.value, subject_id)


def _stale(found: Versioned[Assignment] | None, expected: int | None) -> None:
    current = found.version if found is not None else 0
    if expected is not None and current != expected:
        who = found.value.assigned_by if found is not None else None
        raise Conflict(
            f"the assignment is at version {current}, not {expected}; reload and try again",
            details=[
                {
                    "field": "expected_version",
                    "message": "the assignment changed since you read it",
                    "current_version": current,
                    **({"changed_by": who, "changed_at": found.value.assigned_at.isoformat()} if found and who else {}),
                }
            ],
        )


def assign(
    actor: Principal,
    subject: Subject,
    subject_id: str,
    *,
    assignee: str | None,
    team: Owner | None,
    priority: Priority = Priority.MEDIUM,
    note: str | None = None,
    expected_version: int | None = None,
) -> Versioned[Assignment]:
    """Assign (or re-assign) the subject; `expected_version` (0: not assigned yet) refuses a change made
    since the caller read it. Two reads (the subject, its assignment) and one transaction."""
    require(actor, READ_STAFF, "assign work")
    at = now()
    new = assignment(  # what is asked is checked before anything is read
        subject, subject_id, assignee=assignee, team=team, priority=priority, at=at, by=actor.email or actor.sub, note=note
    )
    _must_exist(subject, subject_id)
    store = uow.store()
    found = store.load(Assignment, subject.value, subject_id)
    _stale(found, expected_version)
    if found is not None and (found.value.assignee, found.value.team, found.value.priority) == (
        new.assignee,
        new.team,
        new.priority,
    ):
        return found  # the same assignment again: nothing to write or tell
    previous = found.value if found is not None else None
    event = AuditEvent(
        new_id("evt"),
        AUDIT_SUBJECT[subject],
        subject_id,
        f"{AUDIT_SUBJECT[subject]}.assigned",
        actor,
        at,
        internal_note=note,
        data={
            "assignee": new.assignee,
            "team": new.team.value if new.team else None,
            "priority": new.priority.value,
            "previous_assignee": previous.assignee if previous else None,
            "previous_team": previous.team.value if previous and previous.team else None,
        },
    )
    version = found.version if found is not None else None
    store.commit([Save(new, version), Record(event)], what=f"the assignment of {subject.value} {subject_id}", at=at)
    return Versioned(new, (version or 0) + 1)


def unassign(actor: Principal, subject: Subject, subject_id: str, *, expected_version: int | None = None) -> None:
    require(actor, READ_STAFF, "unassign work")
    store = uow.store()
    found = store.load(Assignment, subject.value, subject_id)
    if found is None:
        raise NotFound(f"{subject.value.replace('_', ' ')} {subject_id} is not assigned")
    _stale(found, expected_version)
    at = now()
    event = AuditEvent(
        new_id("evt"),
        AUDIT_SUBJECT[subject],
        subject_id,
        f"{AUDIT_SUBJECT[subject]}.unassigned",
        actor,
        at,
        data={"previous_assignee": found.value.assignee, "previous_team": found.value.team.value if found.value.team else None},
    )
    store.commit(
        [Remove(found.value, found.version), Record(event)], what=f"the assignment of {subject.value} {subject_id}", at=at
    )


@dataclass(frozen=True)
class WorkItem:
    """One line of "My work": an assigned subject or an exception, with what ranks it."""

    kind: str  # order / complaint / purchase_order / exception
    id: str
    title: str
    rank: int  # 0 = critical
    priority: str  # a priority, or an exception's severity
    since: datetime
    assignee: str | None
    team: str | None
    status: str | None = None
    due_at: datetime | None = None


def _from_assignment(a: Assignment) -> WorkItem:
    words = a.subject.value.replace("_", " ")
    title = f"{words.capitalize()} {a.subject_id}" + (f": {a.note}" if a.note else "")
    return WorkItem(
        a.subject.value,
        a.subject_id,
        title,
        RANK[a.priority],
        a.priority.value,
        a.assigned_at,
        a.assignee,
        a.team.value if a.team else None,
    )


def _from_exception(r: exception_rules.ExceptionRecord) -> WorkItem:
    return WorkItem(
        "exception",
        r.id,
        r.title,
        SEVERITY_RANK.get(r.severity.value, 2),
        r.severity.value,
        r.opened_at,
        r.assignee,
        exceptions.owner_of(r.kind).value,
        r.status.value,
        exception_rules.next_due(r, settings().exception_policy()),
    )


def my_work(actor: Principal, *, team: Owner | None = None) -> list[WorkItem]:
    """What is assigned to me (by my verified address), or to `team`: subjects and exceptions, ranked by
    priority or severity then oldest. One Query for the subjects, the exceptions queue's read for the rest."""
    require(actor, READ_STAFF, "read assigned work")
    store = uow.store()
    if team is not None:
        subjects = store.assigned_to_team(team, limit=WORK_LIMIT).items
        queued = [r for r in exceptions.queue(QueueFilter()).items if exceptions.owner_of(r.kind) is team and r.assignee is None]
    else:
        me = (actor.email or "").lower()
        subjects = store.assigned_to(me, limit=WORK_LIMIT).items if me else []
        queued = list(exceptions.queue(QueueFilter(assignee=me)).items) if me else []
    work = [_from_assignment(v.value) for v in subjects] + [_from_exception(r) for r in queued]
    return sorted(work, key=lambda w: (w.rank, w.since, w.kind, w.id))
