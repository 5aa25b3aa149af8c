"""The exception rules (chalicelib/domain/exceptions.py): policy, the record's life, the sweep's
decisions, staff actions and the ranked queue. Pure: no AWS."""

from __future__ import annotations

import random
import typing
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.api.views.staff import ExceptionKindName
from chalicelib.domain import exceptions as rules
from chalicelib.domain.errors import InvalidTransition, RuleViolation
from chalicelib.domain.exceptions import (
    DEFAULT_ESCALATION_H,
    KINDS,
    LEVELS,
    MAX_SNOOZE,
    SEVERITY_RANK,
    Due,
    ExceptionRecord,
    Owner,
    Policy,
    QueueFilter,
    Severity,
    Status,
    parse_policy,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
DEFAULT = Policy()


def record(
    exc_id: str = "exc_1",
    kind: str = "tracking_stale",
    *,
    status: Status = Status.OPEN,
    severity: Severity | None = None,
    opened_at: datetime = T0,
    level: int = 0,
    details: dict[str, typing.Any] | None = None,
    assignee: str | None = None,
    acknowledged_by: str | None = None,
    snoozed_until: datetime | None = None,
) -> ExceptionRecord:
    return ExceptionRecord(
        id=exc_id,
        kind=kind,
        subject_type="shipment",
        subject_id=f"dhl#{exc_id}",
        severity=severity or KINDS[kind].severity,
        status=status,
        count=1,
        opened_at=opened_at,
        last_seen=opened_at,
        details=dict(details or {}),
        level=level,
        assignee=assignee,
        acknowledged_by=acknowledged_by,
        snoozed_until=snoozed_until,
    )


# ---------------------------------------------------------------- kinds


def test_the_api_schema_lists_exactly_the_kinds():
    names = typing.get_args(ExceptionKindName)
    assert len(names) == len(set(names))
    assert set(names) == set(KINDS)


def test_every_kind_is_named_by_its_key_and_unknown_kinds_are_refused():
    assert all(k.name == name for name, k in KINDS.items())
    assert rules.kind("shipment_late").owner is Owner.LOGISTICS
    with pytest.raises(ValueError, match="unknown exception kind"):
        rules.kind("volcano")


# ---------------------------------------------------------------- policy


def test_an_empty_policy_takes_each_kinds_defaults():
    policy = parse_policy()
    assert policy.severity("supplier_rejected") is Severity.CRITICAL
    assert policy.grace_s("shipment_late") == 12 * 3600
    assert policy.grace_s("tracking_stale") == 0
    assert dict(policy.escalation_h) == DEFAULT_ESCALATION_H


def test_overrides_change_only_what_they_name():
    policy = parse_policy(
        " tracking_stale = high , invoice_missing=low", "shipment_late=60,tracking_stale=900", "critical=2/5/30"
    )
    assert policy.severity("tracking_stale") is Severity.HIGH
    assert policy.severity("invoice_missing") is Severity.LOW
    assert policy.severity("payment_failed") is Severity.HIGH  # untouched
    assert policy.grace_s("shipment_late") == 60
    assert policy.grace_s("tracking_stale") == 900
    assert policy.grace_s("delivery_exception") == 2 * 3600  # untouched
    assert policy.escalation_h[Severity.CRITICAL] == (2, 5, 30)
    assert policy.escalation_h[Severity.LOW] == DEFAULT_ESCALATION_H[Severity.LOW]
    assert policy.escalation_at(Severity.CRITICAL, T0, 2) == T0 + 5 * H


@pytest.mark.parametrize(
    ("severities", "graces", "escalation"),
    [
        ("volcano=high", "", ""),  # unknown kind
        ("tracking_stale=urgent", "", ""),  # unknown severity
        ("tracking_stale", "", ""),  # no value
        ("=high", "", ""),  # no name
        ("", "volcano=60", ""),
        ("", "shipment_late=-1", ""),  # negative grace
        ("", "shipment_late=soon", ""),
        ("", "", "urgent=1/2/3"),  # unknown severity
        ("", "", "critical=1/2"),  # two levels
        ("", "", "critical=1/2/3/4"),
        ("", "", "critical=0/2/3"),  # not positive
        ("", "", "critical=5/2/30"),  # not increasing
        ("", "", "critical=1/x/3"),
    ],
)
def test_a_malformed_policy_is_refused(severities: str, graces: str, escalation: str):
    with pytest.raises(ValueError):
        parse_policy(severities, graces, escalation)


def test_escalation_past_the_last_level_is_never():
    assert DEFAULT.escalation_at(Severity.HIGH, T0, 0) is None
    assert DEFAULT.escalation_at(Severity.HIGH, T0, LEVELS + 1) is None
    assert [DEFAULT.escalation_at(Severity.HIGH, T0, n) for n in (1, 2, 3)] == [T0 + 4 * H, T0 + 24 * H, T0 + 72 * H]


# ---------------------------------------------------------------- a first sighting and repeats


def test_a_kind_with_a_grace_period_starts_pending():
    r = rules.new_record("exc_1", "shipment_late", "shipment", "dhl#1", T0, DEFAULT, {"po_id": "po_1"})
    assert r.status is Status.PENDING
    assert (r.count, r.opened_at, r.last_seen, r.level) == (1, T0, T0, 0)
    assert r.severity is Severity.MEDIUM
    assert r.details == {"po_id": "po_1"}


def test_a_kind_without_grace_opens_at_once_and_a_zero_grace_override_opens_it_too():
    assert rules.new_record("e", "payment_failed", "po", "po_1", T0, DEFAULT, {}).status is Status.OPEN
    no_grace = parse_policy(graces="shipment_late=0")
    assert rules.new_record("e", "shipment_late", "shipment", "dhl#1", T0, no_grace, {}).status is Status.OPEN


def test_a_severity_given_at_the_first_sighting_wins_over_the_kinds():
    r = rules.new_record("e", "stage_overdue", "po", "po_1", T0, DEFAULT, {}, severity=Severity.CRITICAL)
    assert r.severity is Severity.CRITICAL
    assert parse_policy("stage_overdue=low").severity("stage_overdue") is Severity.LOW


def test_new_record_copies_the_details_it_is_given():
    details = {"po_id": "po_1"}
    r = rules.new_record("e", "payment_failed", "po", "po_1", T0, DEFAULT, details)
    details["po_id"] = "po_2"
    assert r.details == {"po_id": "po_1"}


def test_a_repeat_counts_and_merges_without_a_new_row():
    r = record(details={"a": 1, "b": 1})
    later = T0 + 2 * H
    bumped = rules.bump(r, later, {"b": 2, "c": 3})
    assert bumped is r
    assert (r.count, r.last_seen, r.opened_at) == (2, later, T0)
    assert r.details == {"a": 1, "b": 2, "c": 3}
    rules.bump(r, later + H, {})
    assert r.count == 3


def test_a_repeat_only_ever_raises_the_severity():
    r = record(kind="tracking_stale")  # medium
    rules.bump(r, T0, {}, Severity.LOW)
    assert r.severity is Severity.MEDIUM
    rules.bump(r, T0, {}, Severity.CRITICAL)
    assert r.severity is Severity.CRITICAL
    rules.bump(r, T0, {}, Severity.HIGH)
    assert r.severity is Severity.CRITICAL


def test_a_pending_record_can_be_bumped_but_a_resolved_one_cannot():
    pending = record(kind="shipment_late", status=Status.PENDING)
    assert rules.bump(pending, T0 + H, {}).count == 2
    done = record(status=Status.RESOLVED)
    with pytest.raises(InvalidTransition):
        rules.bump(done, T0 + H, {"x": 1})
    assert (done.count, done.details) == (1, {})


# ---------------------------------------------------------------- next due


def test_next_due_by_status():
    assert rules.next_due(record(kind="shipment_late", status=Status.PENDING), DEFAULT) == T0 + 12 * H
    assert rules.next_due(record(kind="tracking_stale"), DEFAULT) == T0 + 24 * H  # medium level 1
    assert rules.next_due(record(kind="supplier_rejected", level=1), DEFAULT) == T0 + 4 * H  # critical level 2
    assert rules.next_due(record(status=Status.ACKNOWLEDGED, level=2, acknowledged_by="a@x.io"), DEFAULT) == T0 + 168 * H
    assert rules.next_due(record(status=Status.SNOOZED, snoozed_until=T0 + 5 * H), DEFAULT) == T0 + 5 * H
    assert rules.next_due(record(status=Status.RESOLVED), DEFAULT) is None
    assert rules.next_due(record(level=LEVELS), DEFAULT) is None  # nothing more can happen by time


def test_next_due_follows_the_policy():
    policy = parse_policy(graces="shipment_late=600", escalation="medium=1/2/3")
    assert rules.next_due(record(kind="shipment_late", status=Status.PENDING), policy) == T0 + timedelta(seconds=600)
    assert rules.next_due(record(kind="shipment_late"), policy) == T0 + H


# ---------------------------------------------------------------- on due (the sweep's decision)


def test_a_pending_record_opens_once_its_grace_is_over():
    r = record(kind="shipment_late", status=Status.PENDING)
    assert rules.on_due(r, T0 + 11 * H, DEFAULT) == Due("none")
    assert rules.on_due(r, T0 + 12 * H, DEFAULT) == Due("open")
    rules.open_(r, T0 + 13 * H)
    assert (r.status, r.opened_at) == (Status.OPEN, T0 + 13 * H)  # its age starts in the queue
    assert rules.next_due(r, DEFAULT) == T0 + 13 * H + 24 * H


def test_a_snoozed_record_wakes_when_its_snooze_ends():
    r = record(status=Status.SNOOZED, snoozed_until=T0 + 100 * H)
    assert rules.on_due(r, T0 + 99 * H, DEFAULT).action == "none"  # snooze pauses escalation
    assert rules.on_due(r, T0 + 100 * H, DEFAULT) == Due("wake")


def test_escalation_waits_for_its_threshold():
    r = record(kind="payment_failed")  # high: 4 / 24 / 72 h
    assert rules.on_due(r, T0 + 4 * H - timedelta(seconds=1), DEFAULT) == Due("none")
    assert rules.on_due(r, T0 + 4 * H, DEFAULT) == Due("escalate", 1)


def test_a_late_sweep_jumps_to_the_highest_level_reached():
    r = record(kind="payment_failed")
    assert rules.on_due(r, T0 + 30 * H, DEFAULT) == Due("escalate", 2)
    assert rules.on_due(r, T0 + 1000 * H, DEFAULT) == Due("escalate", 3)
    r.level = 1
    assert rules.on_due(r, T0 + 80 * H, DEFAULT) == Due("escalate", 3)


def test_acknowledged_records_escalate_too():
    r = record(kind="payment_failed", status=Status.ACKNOWLEDGED, acknowledged_by="a@x.io", level=1)
    assert rules.on_due(r, T0 + 23 * H, DEFAULT).action == "none"
    assert rules.on_due(r, T0 + 24 * H, DEFAULT) == Due("escalate", 2)


def test_nothing_happens_past_the_last_level_nor_to_a_resolved_record():
    assert rules.on_due(record(level=3), T0 + 10_000 * H, DEFAULT) == Due("none")
    assert rules.on_due(record(status=Status.RESOLVED), T0 + 10_000 * H, DEFAULT) == Due("none")


statuses_with_time = st.sampled_from([Status.OPEN, Status.ACKNOWLEDGED])


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(KINDS)),
    status=statuses_with_time,
    level=st.integers(0, LEVELS),
    after_h=st.integers(-10, 1000),
)
def test_on_due_never_lowers_the_level_and_never_passes_the_last(kind: str, status: Status, level: int, after_h: int):
    r = record(kind=kind, status=status, level=level, acknowledged_by="a@x.io" if status is Status.ACKNOWLEDGED else None)
    due = rules.on_due(r, T0 + after_h * H, DEFAULT)
    assert due.action in ("none", "escalate")
    if due.action == "escalate":
        assert level < due.level <= LEVELS
        # exactly the highest threshold reached
        assert DEFAULT.escalation_at(r.severity, T0, due.level, kind) <= T0 + after_h * H  # type: ignore[operator]
        nxt = DEFAULT.escalation_at(r.severity, T0, due.level + 1, kind)
        assert nxt is None or nxt > T0 + after_h * H
    # later never decides a lower level
    later = rules.on_due(r, T0 + (after_h + 50) * H, DEFAULT)
    assert max(later.level, level) >= max(due.level, level)


# ---------------------------------------------------------------- staff actions


def test_acknowledge_only_an_open_record():
    r = record()
    rules.acknowledge(r, "ann@waybill.example")
    assert (r.status, r.acknowledged_by) == (Status.ACKNOWLEDGED, "ann@waybill.example")
    for status in (Status.PENDING, Status.ACKNOWLEDGED, Status.SNOOZED, Status.RESOLVED):
        other = record(status=status)
        with pytest.raises(InvalidTransition):
            rules.acknowledge(other, "ann@waybill.example")
        assert other.status is status


def test_assign_and_unassign_an_active_record_only():
    r = record(status=Status.SNOOZED, snoozed_until=T0 + H)
    rules.assign(r, "bob@waybill.example")
    assert r.assignee == "bob@waybill.example"
    rules.assign(r, None)
    assert r.assignee is None
    for status in (Status.PENDING, Status.RESOLVED):
        with pytest.raises(InvalidTransition):
            rules.assign(record(status=status), "bob@waybill.example")


def test_snooze_must_end_in_the_future():
    r = record()
    for until in (T0, T0 - H):
        with pytest.raises(RuleViolation) as caught:
            rules.snooze(r, until, T0)
        assert caught.value.code == "snooze_in_past"
    assert (r.status, r.snoozed_until) == (Status.OPEN, None)


def test_snooze_is_at_most_thirty_days():
    r = record()
    with pytest.raises(RuleViolation) as caught:
        rules.snooze(r, T0 + MAX_SNOOZE + timedelta(seconds=1), T0)
    assert caught.value.code == "snooze_too_long"
    assert r.status is Status.OPEN
    rules.snooze(r, T0 + MAX_SNOOZE, T0)  # exactly 30 days is allowed
    assert (r.status, r.snoozed_until) == (Status.SNOOZED, T0 + timedelta(days=30))


def test_snooze_again_moves_the_end_but_a_pending_or_resolved_record_cannot_be_snoozed():
    r = record(status=Status.SNOOZED, snoozed_until=T0 + H)
    rules.snooze(r, T0 + 5 * H, T0)
    assert r.snoozed_until == T0 + 5 * H
    for status in (Status.PENDING, Status.RESOLVED):
        with pytest.raises(InvalidTransition):
            rules.snooze(record(status=status), T0 + H, T0)


def test_wake_goes_back_to_acknowledged_when_it_had_been_acknowledged():
    r = record()
    rules.acknowledge(r, "ann@waybill.example")
    rules.snooze(r, T0 + H, T0)
    rules.wake(r)
    assert (r.status, r.snoozed_until) == (Status.ACKNOWLEDGED, None)
    never_acked = record()
    rules.snooze(never_acked, T0 + H, T0)
    rules.wake(never_acked)
    assert never_acked.status is Status.OPEN
    with pytest.raises(InvalidTransition):
        rules.wake(record())


def test_open_only_a_pending_record():
    with pytest.raises(InvalidTransition):
        rules.open_(record(status=Status.OPEN), T0)
    with pytest.raises(InvalidTransition):
        rules.open_(record(status=Status.RESOLVED), T0)


@pytest.mark.parametrize("status", [Status.PENDING, Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED])
def test_resolve_a_live_record(status: Status):
    r = record(status=status, snoozed_until=T0 + H if status is Status.SNOOZED else None)
    rules.resolve(r, T0 + 2 * H, "re-sourced")
    assert (r.status, r.resolved_at, r.resolution, r.snoozed_until) == (Status.RESOLVED, T0 + 2 * H, "re-sourced", None)
    assert rules.next_due(r, DEFAULT) is None
    with pytest.raises(InvalidTransition):
        rules.resolve(r, T0 + 3 * H, "again")
    assert r.resolution == "re-sourced"


def test_allowed_actions_by_status():
    assert rules.allowed_actions(record()) == ["acknowledge", "assign", "snooze", "resolve"]
    assert rules.allowed_actions(record(status=Status.ACKNOWLEDGED)) == ["assign", "snooze", "resolve"]
    assert rules.allowed_actions(record(status=Status.SNOOZED)) == ["assign", "snooze", "resolve"]
    assert rules.allowed_actions(record(status=Status.PENDING)) == []
    assert rules.allowed_actions(record(status=Status.RESOLVED)) == []


def test_the_record_exposes_its_kinds_title_owner_and_refs():
    r = record(kind="invoice_missing", details={"supplier_id": "acme", "campaign_id": "", "po_id": "po_1"})
    assert r.title == "Invoice not uploaded in time"
    assert r.owner is Owner.ACCOUNTING
    assert (r.supplier_id, r.campaign_id) == ("acme", None)


# ---------------------------------------------------------------- the ranked queue


def queue_records() -> list[ExceptionRecord]:
    return [
        record("e1", "tracking_stale", opened_at=T0, details={"supplier_id": "acme", "campaign_id": "c1"}),  # medium
        record("e2", "supplier_rejected", opened_at=T0 + 5 * H, details={"supplier_id": "bolt"}),  # critical
        record(
            "e3", "payment_failed", opened_at=T0 + H, assignee="ann@x.io", details={"supplier_id": "acme", "campaign_id": "c2"}
        ),  # high
        record(
            "e4",
            "supplier_rejected",
            opened_at=T0 + H,
            status=Status.ACKNOWLEDGED,
            acknowledged_by="ann@x.io",
            details={"campaign_id": "c1"},
        ),  # critical, older than e2
        record("e5", "unknown_tracking", opened_at=T0 - 10 * H),  # low
        record(
            "e6", "tracking_stale", opened_at=T0 - H, status=Status.SNOOZED, snoozed_until=T0 + 9 * H, assignee="bob@x.io"
        ),  # medium, snoozed
        record("e7", "payment_failed", opened_at=T0, status=Status.PENDING),  # never in the queue
        record("e8", "payment_failed", opened_at=T0 - 50 * H, status=Status.RESOLVED),
        record("e0", "tracking_stale", opened_at=T0, details={"supplier_id": "bolt"}),  # ties e1: id decides
    ]


def ids(queue: rules.RankedQueue) -> list[str]:
    return [r.id for r in queue.items]


def test_rank_orders_by_severity_then_age_then_id_and_hides_snoozed_by_default():
    q = rules.rank(queue_records(), QueueFilter())
    assert ids(q) == ["e4", "e2", "e3", "e0", "e1", "e5"]
    assert q.total == 6


def test_rank_shows_snoozed_when_asked():
    q = rules.rank(queue_records(), QueueFilter(statuses=frozenset({Status.SNOOZED})))
    assert ids(q) == ["e6"]
    everything = rules.rank(queue_records(), QueueFilter(statuses=rules.ACTIVE))
    assert ids(everything) == ["e4", "e2", "e3", "e6", "e0", "e1", "e5"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (QueueFilter(kinds=frozenset({"supplier_rejected", "unknown_tracking"})), ["e4", "e2", "e5"]),
        (QueueFilter(severities=frozenset({Severity.HIGH, Severity.MEDIUM})), ["e3", "e0", "e1"]),
        (QueueFilter(supplier_id="acme"), ["e3", "e1"]),
        (QueueFilter(campaign_id="c1"), ["e4", "e1"]),
        (QueueFilter(assignee="ann@x.io"), ["e3"]),
        (QueueFilter(assignee="none"), ["e4", "e2", "e0", "e1", "e5"]),
        (QueueFilter(assignee="bob@x.io", statuses=rules.ACTIVE), ["e6"]),
        (QueueFilter(statuses=frozenset({Status.ACKNOWLEDGED})), ["e4"]),
        (QueueFilter(supplier_id="acme", severities=frozenset({Severity.MEDIUM})), ["e1"]),
    ],
)
def test_rank_filters(flt: QueueFilter, expected: list[str]):
    assert ids(rules.rank(queue_records(), flt)) == expected


def test_facets_ignore_their_own_filter_but_apply_the_others():
    flt = QueueFilter(kinds=frozenset({"tracking_stale"}), severities=frozenset({Severity.CRITICAL}))
    q = rules.rank(queue_records(), flt)
    assert q.items == []  # no record is both
    # by kind: the severity filter applies, the kind filter does not
    assert q.by_kind == {"supplier_rejected": 2}
    # by severity: the kind filter applies, the severity filter does not; every severity is listed
    assert q.by_severity == {"critical": 0, "high": 0, "medium": 2, "low": 0}


def test_facets_respect_status_and_other_filters():
    q = rules.rank(queue_records(), QueueFilter(supplier_id="acme"))
    assert q.by_kind == {"payment_failed": 1, "tracking_stale": 1}
    assert q.by_severity == {"critical": 0, "high": 1, "medium": 1, "low": 0}
    all_open = rules.rank(queue_records(), QueueFilter())
    assert sum(all_open.by_kind.values()) == all_open.total == 6  # pending, resolved and snoozed left out
    assert list(all_open.by_kind) == sorted(all_open.by_kind)


records_st = st.lists(
    st.builds(
        lambda i, kind, severity, minutes, status: record(
            f"exc_{i:03d}", kind, severity=severity, opened_at=T0 + timedelta(minutes=minutes), status=status
        ),
        st.integers(0, 999),
        st.sampled_from(sorted(KINDS)),
        st.sampled_from(list(Severity)),
        st.integers(0, 5),  # few distinct times: ties happen
        st.sampled_from(list(Status)),
    ),
    max_size=30,
    unique_by=lambda r: r.id,
)


@settings(max_examples=200, deadline=None)
@given(records=records_st, seed=st.integers(0, 2**16))
def test_rank_is_a_total_order_consistent_with_severity(records: list[ExceptionRecord], seed: int):
    q = rules.rank(records, QueueFilter())
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    assert ids(rules.rank(shuffled, QueueFilter())) == ids(q)  # input order never matters
    for a, b in zip(q.items, q.items[1:], strict=False):
        assert SEVERITY_RANK[a.severity] <= SEVERITY_RANK[b.severity]
        if a.severity is b.severity:
            assert (a.opened_at, a.id) < (b.opened_at, b.id)
    assert {r.id for r in q.items} == {r.id for r in records if r.status in (Status.OPEN, Status.ACKNOWLEDGED)}
    assert sum(q.by_severity.values()) == sum(q.by_kind.values()) == q.total
