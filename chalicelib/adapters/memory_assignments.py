"""The assignments area's reads in memory (`services.ports_assignments.AssignmentReads`), ranked as the
DynamoDB store's work indexes rank them: priority, then oldest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from ..domain.assignments import RANK, Assignment
from ..domain.exceptions import Owner
from ..services.ports_common import Page, Versioned

ASSIGNMENTS_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {
    Assignment: lambda a: (a.subject.value, a.subject_id),
}


def _rank(a: Assignment) -> tuple[str, ...]:
    at = a.assigned_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")
    return (str(RANK[a.priority]), at, a.subject.value, a.subject_id)


class AssignmentsMemory:
    """Mixed into `MemoryStore`, whose dict and pager it uses."""

    _page: Callable[..., Page[Any]]
    _versioned: Callable[[type], list[Versioned[Any]]]

    def assigned_to(self, assignee: str, *, limit: int, cursor: str | None = None) -> Page[Versioned[Assignment]]:
        rows = [(_rank(v.value), v) for v in self._versioned(Assignment) if v.value.assignee == assignee]
        return self._page(f"work/{assignee}", rows, limit=limit, cursor=cursor)

    def assigned_to_team(self, team: Owner, *, limit: int, cursor: str | None = None) -> Page[Versioned[Assignment]]:
        rows = [(_rank(v.value), v) for v in self._versioned(Assignment) if v.value.team == team]
        return self._page(f"team-work/{team.value}", rows, limit=limit, cursor=cursor)
