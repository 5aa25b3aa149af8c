"""The exceptions queue and the escalation sweep on the in-memory store: raising, bumping and resolving
a record with what a caller commits alongside, the sweep opening a record after its grace period,
escalating it level by level to each level's target, and retiring the deadlines that passed.

The sweep's DynamoDB cost (what it reads of a 10,000-entry index) stays on moto in
tests/adapters/test_sweep_cost.py; the HTTP side in tests/api/test_exceptions_api.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from chalicelib.adapters import cursors
from chalicelib.adapters.memory import MemoryStore
from chalicelib.config import settings
from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.errors import Conflict
from chalicelib.domain.exceptions import ExceptionRecord, Status
from chalicelib.domain.permissions import SYSTEM, Principal, Role
from chalicelib.services import escalations, exceptions
from chalicelib.services.clock import now
from chalicelib.services.ports import Record, Save
from chalicelib.services.ports_close import SWEEP_RUN, SweepRun
from chalicelib.services.ports_common import Page
from chalicelib.services.ports_exceptions import Deadline, Due, DueDeadline

CARE = Principal(sub="care-1", roles=frozenset({Role.CUSTOMER_CARE}), email="care@waybill.example", name="Care")


def parcel(i: int) -> str:
    return f"dhl#JD{i:010d}"


def seed_deadlines(store: MemoryStore, n: int, due_in: timedelta) -> list[str]:
    """`n` shipment_late deadlines on parcels, due `due_in` from now, as the shipments service sets them."""
    at = now()
    for i in range(n):
        deadline = Deadline("shipment_late", "shipment", parcel(i), at + due_in, {"po_id": f"po_{i}", "supplier_id": "acme"})
        store.commit([Save(deadline, None)], what=f"deadline of {parcel(i)}", at=at)
    return [parcel(i) for i in range(n)]


def reading(entries: list[Due]) -> Callable[..., Page[Due]]:
    """A sweep's read that answers `entries` (read earlier) as the first shard's one page, nothing more."""
    return lambda at, shard, shards, limit, cursor: Page(entries if shard == 0 and cursor is None else [], None)


def escalations_of(exc_id: str) -> list[tuple[int, str]]:
    return sorted(
        (int(e.data["level"]), str(e.data["target"])) for e in exceptions.detail(exc_id).events if e.type == "exception.escalated"
    )


def note(subject_id: str, at: datetime) -> AuditEvent:
    return AuditEvent(id=f"evt-{subject_id}", subject_type="po", subject_id=subject_id, type="po.noted", actor=SYSTEM, at=at)


# ---------------------------------------------------------------- the sweep (moved from tests/adapters/test_sweep_cost.py)


def test_a_passed_deadline_raises_its_kind_once_and_is_retired_in_the_same_commit(store):
    subjects = seed_deadlines(store, 3, -timedelta(hours=1))
    commits = store.commits
    result = escalations.sweep(now())
    assert (result.read, result.actions) == (3, {"deadline_passed": 3})
    assert store.commits == commits + 3  # one per deadline: the record and the retirement together
    for i, subject in enumerate(subjects):
        record = exceptions.get(exceptions.exception_id("shipment_late", "shipment", subject))
        assert record is not None
        assert (record.kind, record.status, record.count) == ("shipment_late", Status.PENDING, 1)
        assert record.details["po_id"] == f"po_{i}" and "due_at" in record.details
        retired = store.load(Deadline, f"shipment_late:shipment:{subject}")
        assert retired is not None and retired.value.fired_at is not None
        assert retired.value.kept_until == retired.value.fired_at + escalations.RETIRED_KEPT
    assert escalations.sweep(now()).read == 0  # handled entries left the due range


def test_after_the_grace_period_the_sweep_opens_the_pending_exceptions(store):
    subjects = seed_deadlines(store, 5, -timedelta(hours=1))
    escalations.sweep(now())
    ids = [exceptions.exception_id("shipment_late", "shipment", s) for s in subjects]
    assert {exceptions.get(i).status for i in ids} == {Status.PENDING}  # type: ignore[union-attr]
    assert exceptions.open_records() == []  # pending: not in the queue

    assert escalations.sweep(now() + timedelta(hours=11)).read == 0  # grace (12 h) not over yet
    result = escalations.sweep(now() + timedelta(hours=13))
    assert result.actions == {"open": 5}
    assert sorted(r.id for r in exceptions.open_records()) == sorted(ids)
    for exc_id in ids:
        found = exceptions.detail(exc_id)
        assert found.record.status is Status.OPEN
        raised = [e for e in found.events if e.type == "exception.raised"]
        assert len(raised) == 1
        assert (raised[0].from_status, raised[0].to_status) == ("pending", "open")
        assert raised[0].data["after_grace"] is True
        assert [e.type for e in found.events].count("exception.pending") == 1
    assert escalations.sweep(now() + timedelta(hours=14)).read == 0  # next due: its first escalation


def test_open_exceptions_escalate_to_their_owner_or_assignee_then_to_the_admins(store):
    # tracking_stale: medium (24 / 72 / 168 h), no grace, owned by logistics
    lone = exceptions.raise_or_bump("tracking_stale", "shipment", parcel(1), {"po_id": "po_1"})
    taken = exceptions.raise_or_bump("tracking_stale", "shipment", parcel(2), {"po_id": "po_2"})
    assert lone.status is Status.OPEN
    exceptions.assign(CARE, taken.id, "Ann@Waybill.example")

    assert escalations.sweep(now() + timedelta(hours=23)).read == 0
    first = escalations.sweep(now() + timedelta(hours=25))
    assert first.actions == {"escalate": 2}
    assert exceptions.get(lone.id).level == 1  # type: ignore[union-attr]
    assert escalations_of(lone.id) == [(1, "logistics")]
    assert escalations_of(taken.id) == [(1, "assignee")]

    late = escalations.sweep(now() + timedelta(hours=200))  # past levels 2 and 3: one jump to 3
    assert late.actions == {"escalate": 2}
    for exc_id, level1 in ((lone.id, "logistics"), (taken.id, "assignee")):
        record = exceptions.get(exc_id)
        assert record is not None and record.level == 3 and record.status is Status.OPEN
        assert escalations_of(exc_id) == [(1, level1), (3, "admin")]
    # nothing more can happen by time: out of the due index (what DynamoDB reads of it: test_sweep_cost)
    commits = store.commits
    assert escalations.due_entries(now() + timedelta(days=365), shards=4) == []
    assert escalations.sweep(now() + timedelta(days=365)).read == 0
    assert store.commits == commits


@pytest.mark.parametrize(
    ("assignee", "campaign_id", "targets"),
    [
        (None, None, [(1, "accounting"), (2, "accounting"), (3, "admin")]),
        ("ann@waybill.example", None, [(1, "assignee"), (2, "accounting"), (3, "admin")]),
        (None, "cmp_1", [(1, "accounting"), (2, "buyer"), (3, "admin")]),
    ],
)
def test_each_level_tells_its_target(store, assignee: str | None, campaign_id: str | None, targets: list[tuple[int, str]]):
    # payment_failed: high (4 / 24 / 72 h), owned by accounting
    details = {"po_id": "po_9", **({"campaign_id": campaign_id} if campaign_id else {})}
    record = exceptions.raise_or_bump("payment_failed", "po", "po_9", details)
    if assignee:
        exceptions.assign(CARE, record.id, assignee)
    for hours in (5, 25, 73):
        assert escalations.sweep(now() + timedelta(hours=hours)).actions == {"escalate": 1}
    assert escalations_of(record.id) == targets


# ---------------------------------------------------------------- the sweep losing races


def test_a_deadline_moved_after_the_sweep_read_it_raises_nothing_and_stays(store, monkeypatch):
    """The sweep read the deadline due, then its subject moved it: the retirement's version is stale,
    so neither the exception nor the retirement is written, and the moved deadline stands."""
    (subject,) = seed_deadlines(store, 1, -timedelta(hours=1))
    deadline_id = f"shipment_late:shipment:{subject}"
    read = escalations.due_entries(now(), shards=4)
    moved = store.load(Deadline, deadline_id)
    assert moved is not None
    store.commit([Save(replace(moved.value, due_at=now() + timedelta(days=2)), moved.version)], what="moved", at=now())
    monkeypatch.setattr(escalations, "due_page", reading(read))

    result = escalations.sweep(now())
    assert result.actions == {"lost_race": 1}
    assert exceptions.get(exceptions.exception_id("shipment_late", "shipment", subject)) is None
    after = store.load(Deadline, deadline_id)
    assert after is not None and after.value.fired_at is None and after.value.due_at > now()


def test_a_passed_action_deadline_is_retired_before_its_action_runs_once(store, monkeypatch):
    acted: list[str] = []
    monkeypatch.setitem(escalations.DEADLINE_ACTIONS, "capture_retry", lambda d: acted.append(d.subject_id) or "retried")
    at = now()
    store.commit([Save(Deadline("capture_retry", "order", "ord-1", at - timedelta(minutes=1)), None)], what="d", at=at)
    read = escalations.due_entries(at, shards=4)
    assert [type(e) for e in read] == [DueDeadline]

    assert escalations.sweep(at).actions == {"deadline_acted": 1}
    monkeypatch.setattr(escalations, "due_page", reading(read))  # a second sweep read it due too
    assert escalations.sweep(at).actions == {"lost_race": 1}
    assert acted == ["ord-1"]


# ---------------------------------------------------------------- the sweep in bounded chunks


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Chunks of 4 entries; the continuations the sweep queues, as sent (the SQS side runs on moto in
    tests/adapters/test_sweep_chain.py)."""
    small = replace(settings(), sweep_chunk=4)
    monkeypatch.setattr(escalations, "settings", lambda: small)
    sent: list[dict[str, object]] = []
    monkeypatch.setattr(escalations, "_queue", lambda run_id, n, cursor: sent.append({"run": run_id, "n": n, "cursor": cursor}))
    return sent


def retired_count(store: MemoryStore, subjects: list[str]) -> int:
    found = [store.load(Deadline, f"shipment_late:shipment:{s}") for s in subjects]
    return sum(1 for f in found if f is not None and f.value.fired_at is not None)


def test_a_tick_handles_at_most_one_chunk_and_queues_the_rest_with_a_cursor_per_shard(store, chunked):
    subjects = seed_deadlines(store, 10, -timedelta(hours=1))
    result = escalations.sweep(now())

    assert (result.read, result.actions["deadline_passed"], result.continued) == (4, 4, True)
    assert retired_count(store, subjects) == 4
    [message] = chunked
    assert message["n"] == 1 and isinstance(message["cursor"], str)
    run = store.load(SweepRun, SWEEP_RUN)
    assert run is not None and (run.value.state, run.value.chunks_done, run.value.read) == ("running", 1, 4)
    assert run.value.cursor == message["cursor"]
    assert set(cursors.decode(run.value.cursor)) <= {"0", "1", "2", "3"}  # the shards still to read


def test_the_chain_runs_to_its_last_chunk_and_every_entry_is_handled_once(store, chunked):
    subjects = seed_deadlines(store, 10, -timedelta(hours=1))
    first = escalations.sweep(now())
    total = first.read
    while chunked:
        message = chunked.pop(0)
        step = escalations.run_queued_chunk(str(message["run"]), int(str(message["n"])), str(message["cursor"]))
        assert step.read <= 4  # bounded, whatever is due
        total += step.read
    assert total == 10 and retired_count(store, subjects) == 10
    run = store.load(SweepRun, SWEEP_RUN)
    assert run is not None and (run.value.state, run.value.cursor, run.value.read) == ("done", None, 10)
    assert escalations.sweep(now()).read == 0  # the next tick finds nothing due and starts no chain


def test_a_redelivered_continuation_handles_nothing_twice(store, chunked):
    subjects = seed_deadlines(store, 10, -timedelta(hours=1))
    escalations.sweep(now())
    message = chunked.pop(0)
    args = (str(message["run"]), 1, str(message["cursor"]))
    first = escalations.run_queued_chunk(*args)
    commits = store.commits
    again = escalations.run_queued_chunk(*args)  # the same message, delivered again

    assert first.read == 4 and again.read == 0 and again.actions == {"replayed": 1}
    assert store.commits == commits  # nothing written
    assert [m["n"] for m in chunked] == [2, 2]  # the next chunk queued again: the consumer drops the duplicate
    raised = [exceptions.get(exceptions.exception_id("shipment_late", "shipment", s)) for s in subjects]
    assert all(r is None or r.count == 1 for r in raised)


def test_a_tick_while_a_chain_runs_leaves_the_entries_to_it_and_a_stale_chain_is_replaced(store, chunked, monkeypatch):
    seed_deadlines(store, 10, -timedelta(hours=1))
    escalations.sweep(now())
    commits = store.commits

    tick = escalations.sweep(now())
    assert tick.actions == {"chain_running": 1} and tick.read == 0 and store.commits == commits

    stale = replace(settings(), sweep_chunk=4, sweep_chain_stale_s=0)
    monkeypatch.setattr(escalations, "settings", lambda: stale)
    old_run = chunked[0]["run"]
    taken = escalations.sweep(now() + timedelta(seconds=1))
    assert taken.read == 4 and chunked[-1]["run"] != old_run
    assert escalations.run_queued_chunk(str(old_run), 1, None).read == 0  # the old chain's message is dropped


# ---------------------------------------------------------------- raised, bumped, resolved with the caller's changes


def test_a_repeat_bumps_the_live_record_and_the_raise_commits_the_callers_changes_with_it(store):
    at = now()
    first = exceptions.raise_or_bump("payment_failed", "po", "po-1", {"n": 1}, with_changes=[Record(note("po-1", at))])
    again = exceptions.raise_or_bump("payment_failed", "po", "po-1", {"n": 2})
    assert (first.count, again.count, again.id) == (1, 2, first.id)
    assert again.details["n"] == 2
    assert [e.type for e in exceptions.detail(first.id).events] == ["exception.raised", "exception.repeated"]
    assert [e.type for e in store.history("po", "po-1", limit=10).items] == ["po.noted"]


def test_resolving_commits_the_callers_changes_only_when_it_resolves(store):
    at = now()
    assert exceptions.resolve("payment_failed", "po", "po-1", note="none", with_changes=[Record(note("po-0", at))]) is False
    exceptions.raise_or_bump("payment_failed", "po", "po-1", {})
    assert exceptions.resolve("payment_failed", "po", "po-1", note="paid", with_changes=[Record(note("po-1", at))]) is True
    assert exceptions.resolve("payment_failed", "po", "po-1", note="again", with_changes=[Record(note("po-2", at))]) is False
    assert [e.subject_id for s in ("po-0", "po-1", "po-2") for e in store.history("po", s, limit=10).items] == ["po-1"]
    record = exceptions.get(exceptions.exception_id("payment_failed", "po", "po-1"))
    assert record is not None and (record.status, record.resolution) == (Status.RESOLVED, "paid")


def test_opening_changes_raise_the_record_in_the_subjects_own_commit_and_only_once(store):
    at = now()
    changes = exceptions.opening_changes("order_on_hold", "order", "ord-1", {"order_id": "ord-1"}, at)
    store.commit(changes, what="order ord-1", at=at)
    record = exceptions.get(exceptions.exception_id("order_on_hold", "order", "ord-1"))
    assert record is not None and record.status is Status.OPEN and record.version == 1
    with pytest.raises(Conflict):  # a subject created twice raises it twice: the second create fails
        store.commit(exceptions.opening_changes("order_on_hold", "order", "ord-1", {}, at), what="again", at=at)


def test_resolution_changes_resolve_a_live_record_under_the_version_the_caller_read(store):
    at = now()
    raised = exceptions.raise_or_bump("payment_failed", "po", "po-1", {})
    assert exceptions.resolution_changes(None, note="nothing", at=at) == []
    read = exceptions.get(raised.id)
    exceptions.raise_or_bump("payment_failed", "po", "po-1", {})  # someone bumps it meanwhile
    stale = exceptions.resolution_changes(read, note="settled", at=at)
    with pytest.raises(Conflict):
        store.commit(stale, what="stale", at=at)
    fresh = exceptions.get(raised.id)
    store.commit(exceptions.resolution_changes(fresh, note="settled", at=at), what="fresh", at=at)
    done = exceptions.get(raised.id)
    assert done is not None and done.status is Status.RESOLVED
    assert exceptions.resolution_changes(done, note="again", at=at) == []  # no longer live: nothing


def test_a_staff_action_is_mirrored_on_the_subjects_history_and_a_stale_version_is_refused(store):
    record = exceptions.get(exceptions.raise_or_bump("payment_failed", "po", "po-1", {}).id)
    assert record is not None and record.version == 1
    acked = exceptions.acknowledge(CARE, record.id, note="looking", expected_version=record.version)
    assert (acked.status, acked.version) == (Status.ACKNOWLEDGED, 2)
    with pytest.raises(Conflict):
        exceptions.snooze(CARE, record.id, now() + timedelta(hours=1), expected_version=record.version)
    mirrored = store.history("po", "po-1", limit=10).items
    assert [(e.type, e.data["mirror"]) for e in mirrored] == [("exception.acknowledged", True)]
    queue = exceptions.queue(exceptions.QueueFilter(statuses=exceptions.rules.ACTIVE))
    assert [(r.id, r.status) for r in queue.items] == [(record.id, Status.ACKNOWLEDGED)]
    assert isinstance(queue.items[0], ExceptionRecord) and queue.items[0].version == 2
