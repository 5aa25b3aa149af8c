"""Assignments on both stores: saved and removed under their version, a person's and a team's work ranked
by priority then oldest, paged with a cursor that returns each exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.assignments import Assignment, Priority, Subject
from chalicelib.domain.errors import Conflict
from chalicelib.domain.exceptions import Owner
from chalicelib.services.ports import Remove, Save, Store
from tests.unit.factories import NOW


def made(
    subject_id: str, priority: Priority, minutes: int, *, assignee: str | None = "ada@waybill.example", team: Owner | None = None
) -> Assignment:
    return Assignment(
        Subject.ORDER, subject_id, assignee, team, priority, NOW + timedelta(minutes=minutes), "bea@waybill.example"
    )


def test_a_persons_work_is_ranked_by_priority_then_oldest_and_paged_once_each(store: Store):
    for a in (
        made("o-low", Priority.LOW, 0),
        made("o-crit-late", Priority.CRITICAL, 5),
        made("o-crit-early", Priority.CRITICAL, 1),
        made("o-medium", Priority.MEDIUM, 2),
        made("o-other", Priority.CRITICAL, 0, assignee="carl@waybill.example"),
    ):
        store.commit([Save(a, None)], what="an assignment", at=NOW)
    first = store.assigned_to("ada@waybill.example", limit=2)
    rest = store.assigned_to("ada@waybill.example", limit=10, cursor=first.cursor)
    order = [v.value.subject_id for v in first.items + rest.items]
    assert order == ["o-crit-early", "o-crit-late", "o-medium", "o-low"]
    assert rest.cursor is None


def test_a_teams_work_lists_what_the_team_holds_and_a_removed_one_leaves_it(store: Store):
    team = made("o-team", Priority.HIGH, 0, assignee=None, team=Owner.LOGISTICS)
    both = made("o-both", Priority.LOW, 1, team=Owner.LOGISTICS)
    for a in (team, both):
        store.commit([Save(a, None)], what="an assignment", at=NOW)
    assert [v.value.subject_id for v in store.assigned_to_team(Owner.LOGISTICS, limit=10).items] == ["o-team", "o-both"]
    assert [v.value.subject_id for v in store.assigned_to("ada@waybill.example", limit=10).items] == ["o-both"]

    loaded = store.load(Assignment, "order", "o-both")
    assert loaded is not None and loaded.version == 1 and loaded.value == both
    with pytest.raises(Conflict):
        store.commit([Remove(both, 2)], what="a stale removal", at=NOW)
    store.commit([Remove(both, 1)], what="unassign", at=NOW)
    assert store.load(Assignment, "order", "o-both") is None
    assert [v.value.subject_id for v in store.assigned_to_team(Owner.LOGISTICS, limit=10).items] == ["o-team"]


def test_a_reassignment_moves_it_between_people_under_its_version(store: Store):
    a = made("o-1", Priority.MEDIUM, 0)
    store.commit([Save(a, None)], what="assign", at=NOW)
    moved = made("o-1", Priority.HIGH, 3, assignee="carl@waybill.example")
    with pytest.raises(Conflict):
        store.commit([Save(moved, 2)], what="stale", at=NOW)
    store.commit([Save(moved, 1)], what="reassign", at=NOW)
    assert store.assigned_to("ada@waybill.example", limit=10).items == []
    (carl,) = store.assigned_to("carl@waybill.example", limit=10).items
    assert carl.version == 2 and carl.value.priority is Priority.HIGH
