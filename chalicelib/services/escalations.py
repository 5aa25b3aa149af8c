"""The escalation sweep and subject deadlines, on the storage port.

Everything that must happen by time is in the store's due index (`Store.due_entries`): exception
records (grace end, snooze end, next escalation) and subject deadlines (e.g. a parcel's expected
delivery), and a webhook delivery's next attempt (an area not on the port yet: its entry goes to
`services.webhooks` as read). What the sweep reads grows with what is due, never with the table.
Handling an entry moves it out of the due range (a record's next step, a deadline retired), so the
next sweep does not read it again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..config import settings
from ..domain import exceptions as rules
from ..domain.errors import Conflict, InvalidTransition, NotFound
from ..domain.exceptions import ExceptionRecord, Owner
from ..observability import logger
from . import exceptions, uow, webhooks
from .clock import now
from .deadlines import CAPTURE_RETRY
from .deadlines import clear_deadline as clear_deadline  # written in services/deadlines.py; named here too
from .ports import Save
from .ports_exceptions import Deadline, Due, DueDeadline
from .ports_outbound import WebhookDelivery

RETIRED_KEPT = timedelta(days=30)  # a passed deadline stays on its subject (out of the index) this long


# ---------------------------------------------------------------- subject deadlines (written by services/deadlines.py)


def _retry_captures(deadline: Deadline) -> str:
    from .order_payments import retry_failed_captures

    return f"captures_retried:{retry_failed_captures(deadline.subject_id)}"


# Deadlines that do something when they pass, instead of raising an exception kind.
DEADLINE_ACTIONS: dict[str, Callable[[Deadline], str]] = {CAPTURE_RETRY: _retry_captures}


# ---------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    read: int = 0
    actions: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, **self.actions}


def due_entries(at: datetime, shards: int) -> list[Due]:
    """Every entry due by `at` (`Store.due_entries`: on DynamoDB one Query per shard, more pages only
    when more is due)."""
    return uow.store().due_entries(at, shards=shards)


def sweep(at: datetime | None = None) -> SweepResult:
    """Open exceptions whose grace has passed, wake snoozed ones, escalate those left open past a
    threshold, raise the kind of each passed deadline. Safe to run twice and concurrently: every
    change is conditional on the version it read, and a lost race is left to the winner."""
    at = at or now()
    result = SweepResult()
    for entry in due_entries(at, settings().due_index_shards):
        result.read += 1
        try:
            if isinstance(entry, ExceptionRecord):
                result.actions[_exception_due(entry, at)] += 1
            elif isinstance(entry, DueDeadline):
                result.actions[_deadline_due(entry)] += 1
            elif isinstance(entry, WebhookDelivery):
                result.actions[webhooks.retry_due(entry, at)] += 1
        except (Conflict, InvalidTransition):
            result.actions["lost_race"] += 1  # someone changed it meanwhile; the next sweep sees the new state
    logger.info("escalation sweep", extra=result.as_dict())
    return result


def _exception_due(entry: ExceptionRecord, at: datetime) -> str:
    policy = settings().exception_policy()
    outcome: list[str] = ["none"]

    def act(record: ExceptionRecord, when: datetime) -> exceptions.Change | None:
        due = rules.on_due(record, at, policy)
        outcome[0] = due.action
        if due.action == "open":
            rules.open_(record, when)
            return exceptions.Change("exception.raised", data={"after_grace": True})
        if due.action == "wake":
            rules.wake(record)
            late = rules.on_due(record, at, policy)  # a threshold passed while it slept: escalate now
            if late.action == "escalate":
                record.level = late.level
                return exceptions.Change(
                    "exception.escalated", mirror=True, data={"target": escalation_target(record), "woke": True}
                )
            return exceptions.Change("exception.woke", mirror=True)
        if due.action == "escalate":
            record.level = due.level
            return exceptions.Change("exception.escalated", data={"target": escalation_target(record)})
        return None

    try:
        exceptions.change(entry.id, act, retries=1, expected_version=entry.version, loaded=entry)
    except NotFound:
        return "gone"
    return outcome[0]


def escalation_target(record: ExceptionRecord) -> str:
    """Level 1: the assignee (the owning team while nobody is assigned); level 2: the team its kind
    names (`escalates_to`: e.g. a held order's deadline goes to the buyer), else the campaign's buyer,
    but care keeps its own kinds (a complaint is care's to answer, not the buyer's); the buyer only
    with a campaign to find the buyer by, else the owning team; level 3: the admins."""
    if record.level <= 1:
        return "assignee" if record.assignee else record.owner.value
    if record.level == 2:
        named = rules.kind(record.kind).escalates_to
        wanted = named or (Owner.BUYER if record.owner is not Owner.CUSTOMER_CARE else record.owner)
        if wanted is Owner.BUYER and not record.campaign_id:
            return record.owner.value
        return wanted.value
    return Owner.ADMIN.value


def _deadline_due(due: DueDeadline) -> str:
    """The deadline passed unmet: raise its kind (dedupes on the subject) and retire the deadline in
    the same transaction, under the version read: if it was moved meanwhile, nothing is written (then
    the next sweep decides)."""
    deadline = due.deadline
    at = now()
    retired = Save(replace(deadline, fired_at=at, kept_until=at + RETIRED_KEPT), due.version)
    if deadline.kind in DEADLINE_ACTIONS:  # retired first: the action runs once, whatever happens next
        try:
            uow.store().commit([retired], what=f"deadline {deadline.id}", at=at)
        except Conflict:
            return "lost_race"
        DEADLINE_ACTIONS[deadline.kind](deadline)
        return "deadline_acted"
    try:
        exceptions.raise_or_bump(
            deadline.kind,
            deadline.subject_type,
            deadline.subject_id,
            {**deadline.details, "due_at": deadline.due_at.isoformat()},
            retries=1,
            with_changes=[retired],
        )
    except Conflict:
        return "lost_race"
    return "deadline_passed"
