"""Assignments in the single table (services/ports_assignments.py): one item per subject, in a person's
and a team's work index, removed when the subject is unassigned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.assignments import RANK, Assignment, Priority, Subject
from ...domain.exceptions import Owner
from ...services.ports_common import Page, Versioned
from . import keys
from . import repository as repo
from .mapping import Mapper, Writes, register
from .models import AssignmentItem, Item


def _assignment(item: AssignmentItem) -> Assignment:
    return Assignment(
        Subject(item.subject),
        item.subject_id,
        item.assignee,
        Owner(item.team) if item.team else None,
        Priority(item.priority),
        item.assigned_at,
        item.assigned_by,
        item.note,
    )


def _load(subject: str, subject_id: str) -> tuple[Assignment, int] | None:
    item = repo.get(keys.assignment(subject, subject_id), AssignmentItem)
    return None if item is None else (_assignment(item), int(item.version or 0))


def _save(a: Assignment, version: int | None, _at: datetime) -> Writes:
    sk = keys.work_sk(RANK[a.priority], a.assigned_at, a.subject.value, a.subject_id)
    item = AssignmentItem(
        *keys.assignment(a.subject.value, a.subject_id),
        GSI1PK=keys.work_pk(a.assignee) if a.assignee else None,
        GSI1SK=sk if a.assignee else None,
        GSI2PK=keys.team_work_pk(a.team.value) if a.team else None,
        GSI2SK=sk if a.team else None,
        subject=a.subject.value,
        subject_id=a.subject_id,
        assignee=a.assignee,
        team=a.team.value if a.team else None,
        priority=a.priority.value,
        assigned_at=a.assigned_at,
        assigned_by=a.assigned_by,
        note=a.note,
    )
    return [repo.Write(repo.with_version(item, version), Item.PK.does_not_exist() if version is None else None)]


def _remove(a: Assignment, version: int) -> Writes:
    item = repo.with_version(AssignmentItem(*keys.assignment(a.subject.value, a.subject_id)), version)
    return [repo.Delete(item)]


register(Assignment, Mapper(_load, _save, _remove))


def _page(index: Any, pk: str, *, limit: int, cursor: str | None) -> Page[Versioned[Assignment]]:
    page = repo.query_page(index, pk, limit=limit, cursor=cursor, newest_first=False)
    found = [Versioned(_assignment(i), int(i.version or 0)) for i in page.items if isinstance(i, AssignmentItem)]
    return Page(found, page.cursor)


class AssignmentsDynamo:
    def assigned_to(self, assignee: str, *, limit: int, cursor: str | None = None) -> Page[Versioned[Assignment]]:
        return _page(Item.gsi1, keys.work_pk(assignee), limit=limit, cursor=cursor)

    def assigned_to_team(self, team: Owner, *, limit: int, cursor: str | None = None) -> Page[Versioned[Assignment]]:
        return _page(Item.gsi2, keys.team_work_pk(team.value), limit=limit, cursor=cursor)
