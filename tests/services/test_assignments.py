"""Assigning orders, complaints and POs, and "My work", on the in-memory store: an assignment is told on
the subject's trail, refused for a subject that does not exist or a version read before a change, and
"My work" ranks assigned subjects and exceptions together, most urgent first."""

from __future__ import annotations

import pytest

from chalicelib.domain.assignments import Priority, Subject
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from chalicelib.domain.exceptions import Owner
from chalicelib.domain.permissions import Role
from chalicelib.services import assignments, exceptions
from tests.services.conftest import ALICE, placed, principal, save_new

ADA = principal("ada", Role.CUSTOMER_CARE, email="Ada@Waybill.example", name="Ada Care")
BEA = principal("bea", Role.ADMIN, email="bea@waybill.example", name="Bea Admin")


def test_an_order_assigned_is_on_its_trail_and_in_the_assignees_work(store):
    save_new(store, placed("ord-1", ("MUG-1", 1)))
    found = assignments.assign(
        BEA,
        Subject.ORDER,
        "ord-1",
        assignee="ADA@waybill.example",
        team=None,
        priority=Priority.HIGH,
        note="customer called twice",
        expected_version=0,
    )
    assert found.version == 1 and found.value.assignee == "ada@waybill.example"
    (event,) = [e for e in store.history("order", "ord-1", limit=10).items if e.type == "order.assigned"]
    assert event.actor.sub == "bea" and event.data["assignee"] == "ada@waybill.example" and event.data["priority"] == "high"
    assert event.internal_note == "customer called twice"

    (work,) = assignments.my_work(ADA)
    assert (work.kind, work.id, work.priority) == ("order", "ord-1", "high")
    assert "customer called twice" in work.title


def test_my_work_ranks_assigned_subjects_and_my_exceptions_together(store):
    save_new(store, placed("ord-1", ("MUG-1", 1)), placed("ord-2", ("MUG-1", 1), minutes=1))
    assignments.assign(BEA, Subject.ORDER, "ord-1", assignee="ada@waybill.example", team=None, priority=Priority.LOW)
    assignments.assign(BEA, Subject.ORDER, "ord-2", assignee="ada@waybill.example", team=None, priority=Priority.CRITICAL)
    exc = exceptions.raise_or_bump("payment_failed", "order", "ord-1", {})
    exceptions.assign(BEA, exc.id, "ada@waybill.example")
    other = exceptions.raise_or_bump("payment_failed", "order", "ord-2", {})  # not mine

    work = assignments.my_work(ADA)
    assert [(w.kind, w.id) for w in work] == [("order", "ord-2"), ("exception", exc.id), ("order", "ord-1")]
    assert other.id not in {w.id for w in work}
    assert exceptions.get(exc.id) is not None and work[1].priority == exceptions.get(exc.id).severity.value


def test_a_teams_work_holds_its_assignments_and_its_unassigned_exceptions(store):
    save_new(store, placed("ord-1", ("MUG-1", 1)))
    assignments.assign(BEA, Subject.ORDER, "ord-1", assignee=None, team=Owner.CUSTOMER_CARE, priority=Priority.MEDIUM)
    held = exceptions.raise_or_bump("order_on_hold", "order", "ord-1", {})
    kinds = {(w.kind, w.id) for w in assignments.my_work(ADA, team=Owner.CUSTOMER_CARE)}
    assert ("order", "ord-1") in kinds
    assert (("exception", held.id) in kinds) == (exceptions.owner_of("order_on_hold") is Owner.CUSTOMER_CARE)
    assert assignments.my_work(ADA) == []  # the team's, not Ada's own


def test_a_stale_version_names_who_assigned_it_and_unassigning_leaves_the_work(store):
    save_new(store, placed("ord-1", ("MUG-1", 1)))
    assignments.assign(BEA, Subject.ORDER, "ord-1", assignee="ada@waybill.example", team=None, expected_version=0)
    with pytest.raises(Conflict) as stale:
        assignments.assign(ADA, Subject.ORDER, "ord-1", assignee="carl@waybill.example", team=None, expected_version=0)
    assert stale.value.details[0]["changed_by"] == "bea@waybill.example"

    assignments.unassign(ADA, Subject.ORDER, "ord-1", expected_version=1)
    assert assignments.get(ADA, Subject.ORDER, "ord-1") is None and assignments.my_work(ADA) == []
    assert [e.type for e in store.history("order", "ord-1", limit=10).items][-1] == "order.unassigned"
    with pytest.raises(NotFound):
        assignments.unassign(ADA, Subject.ORDER, "ord-1")


def test_nobody_a_missing_subject_or_a_customer_is_refused(store):
    save_new(store, placed("ord-1", ("MUG-1", 1)))
    with pytest.raises(RuleViolation):
        assignments.assign(BEA, Subject.ORDER, "ord-1", assignee=None, team=None)
    with pytest.raises(NotFound):
        assignments.assign(BEA, Subject.PURCHASE_ORDER, "po-nope", assignee="ada@waybill.example", team=None)
    with pytest.raises(Forbidden):
        assignments.assign(ALICE, Subject.ORDER, "ord-1", assignee="ada@waybill.example", team=None)
    assert store.commits == 1  # only the order's own save


def test_the_same_assignment_again_writes_nothing(store):
    save_new(store, placed("ord-1", ("MUG-1", 1)))
    first = assignments.assign(BEA, Subject.ORDER, "ord-1", assignee="ada@waybill.example", team=None)
    commits = store.commits
    again = assignments.assign(BEA, Subject.ORDER, "ord-1", assignee="ada@waybill.example", team=None)
    assert again.version == first.version and store.commits == commits
