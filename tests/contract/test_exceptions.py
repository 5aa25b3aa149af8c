"""What every store does with the exceptions area (`services.ports_exceptions`), on the in-memory store
and on the DynamoDB one: exception records and subject deadlines saved under versions, the ranked
queue, a record with its history, and the sweep's due entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.config import settings
from chalicelib.domain import exceptions as rules
from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.errors import AlreadyExists, Conflict
from chalicelib.domain.exceptions import ExceptionRecord, Severity, Status
from chalicelib.domain.permissions import SYSTEM
from chalicelib.services.exceptions import exception_id
from chalicelib.services.ports import Record, Save, Store
from chalicelib.services.ports_exceptions import Deadline, DueDeadline
from chalicelib.services.ports_outbound import WebhookDelivery
from tests.unit.factories import NOW

SHARDS = 4


def record(kind: str = "payment_failed", subject_id: str = "po-1", *, minutes: int = 0, **changes: object) -> ExceptionRecord:
    """A first sighting `minutes` after NOW, as the domain makes it (pending when its kind has a grace)."""
    at = NOW + timedelta(minutes=minutes)
    found = rules.new_record(exception_id(kind, "po", subject_id), kind, "po", subject_id, at, settings().exception_policy(), {})
    return replace(found, **changes)  # type: ignore[arg-type]


def event(subject_type: str, subject_id: str, n: int, type_: str = "exception.raised") -> AuditEvent:
    return AuditEvent(
        id=f"evt-{subject_id}-{n}",
        subject_type=subject_type,
        subject_id=subject_id,
        type=type_,
        actor=SYSTEM,
        at=NOW + timedelta(seconds=n),
        data={"n": n},
    )


def deadline(subject_id: str = "dhl#1", *, due_in: timedelta = -timedelta(hours=1), kind: str = "shipment_late") -> Deadline:
    return Deadline(kind, "shipment", subject_id, NOW + due_in, {"po_id": "po-1"})


def commit(store: Store, *changes: object) -> None:
    store.commit(list(changes), what="the test's change", at=NOW)  # type: ignore[arg-type]


# ---------------------------------------------------------------- exception records


def test_a_record_loads_as_saved_with_its_version_and_a_change_names_the_version_it_read(store: Store):
    new = record(details={"supplier_id": "acme", "n": 1})
    commit(store, Save(new, None))
    loaded = store.load(ExceptionRecord, new.id)
    assert loaded is not None and loaded.version == 1
    assert replace(loaded.value, version=None) == replace(new, version=None)
    assert loaded.value.details == {"supplier_id": "acme", "n": 1}

    bumped = rules.bump(loaded.value, NOW + timedelta(minutes=1), {"n": 2}, None)
    commit(store, Save(bumped, 1))
    again = store.load(ExceptionRecord, new.id)
    assert again is not None and (again.version, again.value.count) == (2, 2)

    with pytest.raises(Conflict):
        commit(store, Save(bumped, 1))  # the version it read is gone
    with pytest.raises(AlreadyExists):
        commit(store, Save(record(), None))  # one record per (kind, subject)
    assert store.load(ExceptionRecord, "exc_nothing") is None


def test_a_commit_with_a_stale_record_writes_none_of_its_events(store: Store):
    new = record()
    commit(store, Save(new, None), Record(event("exception", new.id, 1)))
    with pytest.raises(Conflict):
        commit(store, Save(new, 7), Record(event("exception", new.id, 2)), Record(event("po", "po-1", 3)))
    found = store.exception_with_history(new.id)
    assert found is not None and [e.id for e in found.events] == [f"evt-{new.id}-1"]
    assert store.history("po", "po-1", limit=10).items == []


def test_the_queue_holds_the_active_records_most_severe_then_oldest_first_with_their_versions(store: Store):
    late = record("payment_failed", "po-late", minutes=5)
    early = record("payment_failed", "po-early", minutes=1)
    critical = record("payment_failed", "po-critical", minutes=9, severity=Severity.CRITICAL)
    snoozed = record("payment_failed", "po-snoozed", minutes=3, status=Status.SNOOZED, snoozed_until=NOW + timedelta(days=1))
    resolved = record("payment_failed", "po-resolved", status=Status.RESOLVED, resolved_at=NOW)
    pending = record("shipment_late", "po-pending")
    assert pending.status is Status.PENDING  # a kind with a grace period
    commit(store, *(Save(r, None) for r in (late, early, critical, snoozed, resolved, pending)))
    acknowledged = replace(late, status=Status.ACKNOWLEDGED, acknowledged_by="care@example.com")
    commit(store, Save(acknowledged, 1))

    queue = store.open_exceptions()
    assert [r.subject_id for r in queue] == ["po-critical", "po-early", "po-snoozed", "po-late"]
    assert [r.version for r in queue] == [1, 1, 1, 2]
    assert queue[-1].status is Status.ACKNOWLEDGED

    commit(store, Save(replace(acknowledged, status=Status.RESOLVED, resolved_at=NOW), 2))
    assert "po-late" not in [r.subject_id for r in store.open_exceptions()]


def test_resolved_records_are_listed_newest_resolution_first_a_page_at_a_time(store: Store):
    done = [
        record("payment_failed", f"po-{n}", status=Status.RESOLVED, resolved_at=NOW + timedelta(minutes=m))
        for n, m in ((1, 5), (2, 1), (3, 9))
    ]
    live = record("payment_failed", "po-live")
    commit(store, *(Save(r, None) for r in (*done, live)))

    first = store.resolved_exceptions(limit=2)
    assert [r.subject_id for r in first.items] == ["po-3", "po-1"]
    assert [r.version for r in first.items] == [1, 1]
    assert first.cursor is not None
    rest = store.resolved_exceptions(limit=2, cursor=first.cursor)
    assert [r.subject_id for r in rest.items] == ["po-2"] and rest.cursor is None

    # raised again: the live record takes the id, and the resolved one leaves the listing
    again = replace(done[2], status=Status.OPEN, resolved_at=None, resolution=None)
    commit(store, Save(again, 1))
    assert [r.subject_id for r in store.resolved_exceptions(limit=10).items] == ["po-1", "po-2"]
    assert "po-3" in [r.subject_id for r in store.open_exceptions()]


def test_a_record_reads_with_its_own_history_oldest_first_and_a_mirror_stays_on_its_subject(store: Store):
    new = record()
    assert store.exception_with_history(new.id) is None
    commit(store, Save(new, None), Record(event("exception", new.id, 2)), Record(event("po", "po-1", 3)))
    commit(store, Record(event("exception", new.id, 1, "exception.repeated")))
    found = store.exception_with_history(new.id)
    assert found is not None
    assert (found.record.id, found.record.version) == (new.id, 1)
    assert [(e.id, e.type, e.data) for e in found.events] == [
        (f"evt-{new.id}-1", "exception.repeated", {"n": 1}),
        (f"evt-{new.id}-2", "exception.raised", {"n": 2}),
    ]
    assert [e.id for e in store.history("po", "po-1", limit=10).items] == ["evt-po-1-3"]
    assert [e.id for e in store.history("exception", new.id, limit=10).items] == [f"evt-{new.id}-1", f"evt-{new.id}-2"]


# ---------------------------------------------------------------- deadlines


def test_a_deadline_loads_by_id_is_created_once_and_retires_once_under_the_version_read(store: Store):
    set_ = deadline()
    assert set_.id == "shipment_late:shipment:dhl#1"
    commit(store, Save(set_, None))
    loaded = store.load(Deadline, set_.id)
    assert loaded is not None and loaded.value == set_
    with pytest.raises(AlreadyExists):
        commit(store, Save(deadline(), None))

    retired = replace(set_, fired_at=NOW, kept_until=NOW + timedelta(days=30))
    commit(store, Save(retired, loaded.version))
    after = store.load(Deadline, set_.id)
    assert after is not None and after.value == retired and after.version == loaded.version + 1
    with pytest.raises(Conflict):
        commit(store, Save(retired, loaded.version))  # a second sweep that read it due: lost the race


def test_a_deadline_moved_since_it_was_read_is_not_retired(store: Store):
    commit(store, Save(deadline(), None))
    read = store.load(Deadline, deadline().id)
    assert read is not None
    moved = replace(deadline(), due_at=NOW + timedelta(days=2))
    commit(store, Save(moved, read.version))  # the parcel's expected delivery moved
    with pytest.raises(Conflict):
        commit(store, Save(replace(read.value, fired_at=NOW), read.version))
    now_ = store.load(Deadline, deadline().id)
    assert now_ is not None and now_.value == moved


# ---------------------------------------------------------------- the sweep's due entries


def test_due_entries_are_the_records_and_deadlines_due_by_then_and_nothing_else(store: Store):
    grace = timedelta(seconds=settings().exception_policy().grace_s("shipment_late"))
    grace_over = record("shipment_late", "po-grace-over", minutes=-1)
    in_grace = record("shipment_late", "po-in-grace", minutes=10)
    resolved = record("shipment_late", "po-resolved", minutes=-1, status=Status.RESOLVED, resolved_at=NOW)
    woken = record("payment_failed", "po-woken", status=Status.SNOOZED, snoozed_until=NOW + grace - timedelta(minutes=5))
    passed = deadline("dhl#passed")
    later = deadline("dhl#later", due_in=timedelta(days=3))
    fired = replace(deadline("dhl#fired"), fired_at=NOW)
    commit(store, *(Save(o, None) for o in (grace_over, in_grace, resolved, woken, passed, later, fired)))

    at = NOW + grace
    found = store.due_entries(at, shards=SHARDS)
    records = sorted(e.subject_id for e in found if isinstance(e, ExceptionRecord))
    deadlines = [e for e in found if isinstance(e, DueDeadline)]
    assert records == ["po-grace-over", "po-woken"]
    assert [d.deadline.id for d in deadlines] == [passed.id]
    assert len(found) == 3
    assert {e.version for e in found if isinstance(e, ExceptionRecord)} == {1}

    # what the sweep's retirement writes is then out of the due entries
    commit(store, Save(replace(passed, fired_at=at), deadlines[0].version))
    assert [e for e in store.due_entries(at, shards=SHARDS) if isinstance(e, DueDeadline)] == []
    assert store.due_entries(NOW - timedelta(days=1), shards=SHARDS) == []


def test_due_pages_read_each_shard_earliest_first_in_bounded_pages_that_cover_it_once(store: Store):
    passed = [deadline(f"dhl#p{i:02d}", due_in=-timedelta(minutes=60 - i)) for i in range(12)]
    later = deadline("dhl#later", due_in=timedelta(days=3))
    commit(store, *(Save(d, None) for d in (*passed, later)))

    seen: list[str] = []
    for shard in range(SHARDS):
        cursor: str | None = None
        while True:
            page = store.due_page(NOW, shard=shard, shards=SHARDS, limit=2, cursor=cursor)
            assert len(page.items) <= 2
            due = [e.deadline for e in page.items if isinstance(e, DueDeadline)]
            assert [d.due_at for d in due] == sorted(d.due_at for d in due)  # earliest first
            seen += [d.id for d in due]
            if page.cursor is None:
                break
            cursor = page.cursor
    assert sorted(seen) == sorted(d.id for d in passed)  # every due entry once, nothing not due

    # a handled entry leaves the range: a cursor taken before it was handled still reads on past it
    first = store.due_page(NOW, shard=0, shards=SHARDS, limit=1)
    if first.items and first.cursor is not None:
        [entry] = first.items
        assert isinstance(entry, DueDeadline)
        commit(store, Save(replace(entry.deadline, fired_at=NOW), entry.version))
        rest = store.due_page(NOW, shard=0, shards=SHARDS, limit=50, cursor=first.cursor)
        assert entry.deadline.id not in {e.deadline.id for e in rest.items if isinstance(e, DueDeadline)}


def test_a_webhook_delivery_whose_next_attempt_has_come_is_due_with_the_version_read(store: Store):
    def delivery(n: int, next_attempt_in: timedelta | None) -> WebhookDelivery:
        return WebhookDelivery(
            id=f"msg_{n}",
            subscription_id="whs_1",
            event_id=f"evt_{n}",
            event_type="order.placed",
            payload='{"type":"order.placed"}',
            status="pending",
            attempts_started=1,
            created_at=NOW,
            updated_at=NOW,
            next_attempt_at=None if next_attempt_in is None else NOW + next_attempt_in,
        )

    due, later, finished = delivery(1, timedelta(seconds=-30)), delivery(2, timedelta(hours=1)), delivery(3, None)
    commit(store, Save(due, None), Save(later, None), Save(finished, None))
    loaded = store.load(WebhookDelivery, due.id)
    assert loaded is not None
    commit(store, Save(replace(loaded.value, attempts_started=2), loaded.version))  # now at version 2

    found = [e for e in store.due_entries(NOW, shards=SHARDS) if isinstance(e, WebhookDelivery)]

    assert [(d.id, d.attempts_started, d.version) for d in found] == [("msg_1", 2, 2)]


# ---------------------------------------------------------------- the queue's counters and pages


def test_counter_changes_add_up_per_cell_and_the_head_of_the_queue_reads_them_with_the_first_records(store: Store):
    from chalicelib.services.ports import CountExceptions

    high = [record("out_of_stock", f"po-h{i}", minutes=i, status=Status.OPEN) for i in range(3)]
    critical = record("supplier_rejected", "po-c", minutes=9, status=Status.OPEN)
    commit(store, *[Save(r, None) for r in [*high, critical]])
    commit(store, CountExceptions({("open", "high", "out_of_stock"): 3, ("open", "critical", "supplier_rejected"): 1}))
    commit(store, CountExceptions({("open", "high", "out_of_stock"): -1, ("acknowledged", "high", "out_of_stock"): 1}))
    cells = {
        ("open", "high", "out_of_stock"): 2,
        ("acknowledged", "high", "out_of_stock"): 1,
        ("open", "critical", "supplier_rejected"): 1,
    }
    assert store.open_exception_counts() == cells

    counted, first = store.open_exceptions_head(limit=2)
    assert counted == cells
    assert [r.subject_id for r in first.records] == ["po-c", "po-h0"] and first.more
    rest = store.open_exceptions_after(rules.rank_key(first.records[-1]), limit=5)
    assert [r.subject_id for r in rest.records] == ["po-h1", "po-h2"]
    assert rest.records[0].version == 1
    high_only = store.open_exceptions_after(None, from_rank=rules.SEVERITY_RANK[Severity.HIGH], limit=5)
    assert [r.subject_id for r in high_only.records] == ["po-h0", "po-h1", "po-h2"]


def test_a_reset_overwrites_every_cell_and_later_changes_add_to_it(store: Store):
    from chalicelib.services.ports import CountExceptions

    commit(store, CountExceptions({("open", "high", "out_of_stock"): 5, ("snoozed", "low", "invoice_missing"): 2}))
    store.reset_exception_counts({("open", "high", "out_of_stock"): 3, ("open", "critical", "supplier_rejected"): 1})
    commit(store, CountExceptions({("open", "critical", "supplier_rejected"): 1}))
    assert store.open_exception_counts() == {("open", "high", "out_of_stock"): 3, ("open", "critical", "supplier_rejected"): 2}


def test_several_records_counted_in_one_transaction_all_count(store: Store):
    from chalicelib.services import exceptions as service
    from chalicelib.services.ports import CountExceptions

    first = service.opening_changes("out_of_stock", "po", "po-1", {}, NOW)
    second = service.opening_changes("out_of_stock", "po", "po-2", {}, NOW)
    commit(store, *first, *second, CountExceptions({("open", "high", "out_of_stock"): 1}))
    assert store.open_exception_counts() == {("open", "high", "out_of_stock"): 3}
