"""What staff send and see of assignments and "My work" (services/assignments.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from .common import Note, Request, View

if TYPE_CHECKING:
    from ...domain.assignments import Assignment
    from ...services.assignments import WorkItem
    from ...services.ports_common import Versioned

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
QueryVersion = Annotated[int, Field(ge=1)]  # from a query string: "3" is 3
Team = Literal["buyer", "accounting", "logistics", "customer_care", "admin"]
Priority = Literal["critical", "high", "medium", "low"]


class AssignRequest(Request):
    assignee: Email | None = Field(None, description="the staff member's address")
    team: Team | None = Field(None, description="the team (at least one of assignee and team)")
    priority: Priority = "medium"
    note: Note | None = None
    expected_version: int | None = Field(None, strict=True, ge=0, description="the version read (0: not assigned)")


class UnassignQuery(Request):
    expected_version: QueryVersion | None = Field(None, description="refuse with 409 if it changed since")


class AssignmentView(View):
    subject: str
    subject_id: str
    assigned: bool
    assignee: str | None = None
    team: str | None = None
    priority: str | None = None
    note: str | None = None
    assigned_at: datetime | None = None
    assigned_by: str | None = None
    version: int = Field(description="send back as expected_version (0: not assigned)")

    @classmethod
    def of(cls, subject: str, subject_id: str, found: Versioned[Assignment] | None) -> AssignmentView:
        if found is None:
            return cls(subject=subject, subject_id=subject_id, assigned=False, version=0)
        a = found.value
        return cls(
            subject=subject,
            subject_id=subject_id,
            assigned=True,
            assignee=a.assignee,
            team=a.team.value if a.team else None,
            priority=a.priority.value,
            note=a.note,
            assigned_at=a.assigned_at,
            assigned_by=a.assigned_by,
            version=found.version,
        )


class WorkQuery(Request):
    team: Team | None = Field(None, description="a team's unassigned-to-a-person work instead of mine")


class WorkItemView(View):
    kind: Literal["order", "complaint", "purchase_order", "exception"]
    id: str
    title: str
    priority: str = Field(description="the assignment's priority, or the exception's severity")
    since: datetime
    assignee: str | None
    team: str | None
    status: str | None
    due_at: datetime | None

    @classmethod
    def of(cls, w: WorkItem) -> WorkItemView:
        return cls.pick(w)


class WorkView(View):
    items: list[WorkItemView]
    total: int
