"""The assignments area's reads (services/assignments.py): a person's or a team's assigned subjects,
ranked by priority then age, one Query each."""

from __future__ import annotations

from typing import Protocol

from ..domain.assignments import Assignment
from ..domain.exceptions import Owner
from .ports_common import Page, Versioned


class AssignmentReads(Protocol):
    def assigned_to(self, assignee: str, *, limit: int, cursor: str | None = None) -> Page[Versioned[Assignment]]:
        """The subjects assigned to this person (lower-case address): priority first, then oldest."""
        ...

    def assigned_to_team(self, team: Owner, *, limit: int, cursor: str | None = None) -> Page[Versioned[Assignment]]:
        """The subjects assigned to this team, ranked the same way."""
        ...
