"""What every store does with blind deadline writes (`services.ports_deadlines`), on the in-memory store
and on the DynamoDB one: a set replaces whatever deadline of that kind the subject had, a clear removes
it or does nothing, both without a version, and what they leave is what the sweep reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.permissions import SYSTEM
from chalicelib.services.ports import ClearDeadline, Record, Save, SetDeadline, Store
from chalicelib.services.ports_exceptions import Deadline, DueDeadline
from tests.unit.factories import NOW

SHARDS = 4


def deadline(subject_id: str = "dhl#1", *, due_in: timedelta = -timedelta(hours=1), kind: str = "shipment_late") -> Deadline:
    return Deadline(kind, "shipment", subject_id, NOW + due_in, {"po_id": "po-1"})


def due_deadlines(store: Store) -> list[Deadline]:
    return [e.deadline for e in store.due_entries(NOW, shards=SHARDS) if isinstance(e, DueDeadline)]


def test_a_set_deadline_is_stored_and_due_when_its_time_has_come(store: Store):
    store.commit([SetDeadline(deadline())], what="deadline", at=NOW)

    loaded = store.load(Deadline, deadline().id)
    assert loaded is not None and loaded.value == deadline()
    assert due_deadlines(store) == [deadline()]


def test_setting_a_deadline_again_replaces_it_without_naming_a_version(store: Store):
    store.commit([SetDeadline(deadline())], what="deadline", at=NOW)
    later = replace(deadline(), due_at=NOW + timedelta(days=2), details={"po_id": "po-2"})

    store.commit([SetDeadline(later)], what="deadline", at=NOW)

    loaded = store.load(Deadline, deadline().id)
    assert loaded is not None and loaded.value == later
    assert due_deadlines(store) == []  # not due any more: its new time is in two days


def test_a_set_deadline_can_be_retired_under_the_version_it_loads_with(store: Store):
    store.commit([SetDeadline(deadline())], what="deadline", at=NOW)
    loaded = store.load(Deadline, deadline().id)
    assert loaded is not None

    store.commit([Save(replace(loaded.value, fired_at=NOW), loaded.version)], what="deadline", at=NOW)

    assert due_deadlines(store) == []


def test_a_deadline_set_in_a_commit_is_written_with_the_rest_of_it(store: Store):
    event = AuditEvent(id="evt-1", subject_type="shipment", subject_id="dhl#1", type="shipment.recorded", actor=SYSTEM, at=NOW)

    store.commit([Record(event), SetDeadline(deadline())], what="shipment", at=NOW)

    assert store.load(Deadline, deadline().id) is not None
    assert [e.id for e in store.history("shipment", "dhl#1", limit=10).items] == ["evt-1"]


def test_a_cleared_deadline_is_gone_and_clearing_none_is_no_error(store: Store):
    store.commit([SetDeadline(deadline()), SetDeadline(deadline("dhl#2"))], what="deadline", at=NOW)

    store.commit([ClearDeadline("shipment_late", "shipment", "dhl#1")], what="deadline", at=NOW)
    store.clear_deadline("shipment_late", "shipment", "dhl#2")
    store.clear_deadline("shipment_late", "shipment", "dhl#3")  # there never was one
    store.commit([ClearDeadline("shipment_late", "shipment", "dhl#3")], what="deadline", at=NOW)

    assert store.load(Deadline, deadline().id) is None
    assert store.load(Deadline, deadline("dhl#2").id) is None
    assert due_deadlines(store) == []


def test_clearing_one_kind_leaves_the_subjects_other_deadlines(store: Store):
    other = deadline(kind="capture_retry")
    store.commit([SetDeadline(deadline()), SetDeadline(other)], what="deadline", at=NOW)

    store.clear_deadline("shipment_late", "shipment", "dhl#1")

    loaded = store.load(Deadline, other.id)
    assert loaded is not None and loaded.value == other
