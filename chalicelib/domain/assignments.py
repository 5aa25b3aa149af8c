"""Who works on an order, a complaint or a purchase order (issue 21, item 3): a person, a team, or both,
with a priority that ranks it in their work the way the exceptions queue ranks by severity (critical
first, then oldest). Exceptions keep their own assignee (domain/exceptions.py); "My work" lists both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .errors import RuleViolation
from .exceptions import Owner


class Subject(StrEnum):
    ORDER = "order"
    COMPLAINT = "complaint"
    PURCHASE_ORDER = "purchase_order"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


RANK = {p: i for i, p in enumerate(Priority)}  # 0 first, as the queue's severity rank


@dataclass(frozen=True)
class Assignment:
    """One subject's assignment; `id` is its key in storage."""

    subject: Subject
    subject_id: str
    assignee: str | None
    team: Owner | None
    priority: Priority
    assigned_at: datetime
    assigned_by: str
    note: str | None = None

    @property
    def id(self) -> str:
        return f"{self.subject.value}:{self.subject_id}"


def assignment(
    subject: Subject,
    subject_id: str,
    *,
    assignee: str | None,
    team: Owner | None,
    priority: Priority,
    at: datetime,
    by: str,
    note: str | None = None,
) -> Assignment:
    """A person (an address, kept lower-case), a team, or both; neither is refused (unassign instead)."""
    if not assignee and team is None:
        raise RuleViolation(
            "nobody_assigned",
            "name a person, a team, or both (to unassign, DELETE the assignment)",
            details=[{"field": "body.assignee", "message": "a person or a team is needed"}],
        )
    return Assignment(subject, subject_id, assignee.strip().lower() if assignee else None, team, priority, at, by, note)
