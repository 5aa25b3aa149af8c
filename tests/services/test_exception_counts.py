"""The exceptions queue's counters and its one-page reads, on the in-memory store: every change a record
goes through (raised, bumped to a higher severity, acknowledged, assigned, snoozed, woken, resolved)
moves the counters in its own transaction, so the counts always equal a count of the records; and a
page read in bounded slices is the same page the whole ranked set would give, for every filter.

What the same views cost on DynamoDB is in tests/api/test_exception_reads.py."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain import exceptions as rules
from chalicelib.domain.exceptions import QueueFilter, Severity, Status
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import escalations, exceptions
from chalicelib.services.clock import now

CARE = Principal(sub="care-1", roles=frozenset({Role.CUSTOMER_CARE}), email="care@waybill.example", name="Care")
KINDS = ("out_of_stock", "invoice_missing", "supplier_rejected")


def assert_counts_match_the_records(store: MemoryStore, flt: QueueFilter) -> None:
    ranked = rules.rank(store.open_exceptions(), flt)
    counted = exceptions.counts(flt)
    assert (counted.total, counted.by_kind, counted.by_severity) == (ranked.total, ranked.by_kind, ranked.by_severity)


def seed(n: int) -> list[exceptions.ExceptionRecord]:
    return [
        exceptions.raise_or_bump(KINDS[i % 3], "po", f"po-{i}", {"supplier_id": "acme" if i % 2 else "brio"}) for i in range(n)
    ]


FILTERS = [
    QueueFilter(),
    QueueFilter(statuses=rules.ACTIVE),
    QueueFilter(kinds=frozenset({"out_of_stock"})),
    QueueFilter(severities=frozenset({Severity.MEDIUM, Severity.CRITICAL})),
    QueueFilter(statuses=frozenset({Status.SNOOZED})),
    QueueFilter(kinds=frozenset({"invoice_missing"}), severities=frozenset({Severity.HIGH, Severity.MEDIUM})),
]


def test_every_change_of_a_record_moves_the_counters_so_they_equal_a_count_of_the_records(store: MemoryStore):
    records = seed(12)
    exceptions.raise_or_bump("invoice_missing", "po", "po-1", {}, severity="critical")  # bumped above its kind's
    exceptions.acknowledge(CARE, records[2].id)
    exceptions.assign(CARE, records[3].id, "care@waybill.example")
    exceptions.snooze(CARE, records[4].id, now() + timedelta(hours=1))
    exceptions.snooze(CARE, records[5].id, now() + timedelta(minutes=1))
    exceptions.resolve_by_staff(CARE, records[6].id, note="done")
    exceptions.resolve(KINDS[7 % 3], "po", "po-7", note="cleared")
    escalations.sweep(now() + timedelta(minutes=5))  # wakes the short snooze (and escalates what is due)
    for flt in FILTERS:
        assert_counts_match_the_records(store, flt)
    assert exceptions.counts(QueueFilter(statuses=rules.ACTIVE)).total == 10


def test_a_pending_record_is_counted_only_once_its_grace_passes(store: MemoryStore):
    kind = next(k.name for k in rules.KINDS.values() if k.grace_s)
    exceptions.raise_or_bump(kind, "po", "po-g", {})
    assert exceptions.counts(QueueFilter(statuses=rules.ACTIVE)).total == 0
    escalations.sweep(now() + timedelta(days=2))
    assert_counts_match_the_records(store, QueueFilter(statuses=rules.ACTIVE))
    assert exceptions.counts(QueueFilter(statuses=rules.ACTIVE)).total == 1


@pytest.mark.parametrize(
    "flt",
    [
        *FILTERS,
        QueueFilter(assignee="none"),
        QueueFilter(supplier_id="acme", severities=frozenset({Severity.HIGH})),
    ],
)
def test_paging_through_the_queue_gives_the_ranked_set_page_by_page_for_every_filter(store: MemoryStore, flt: QueueFilter):
    records = seed(23)
    for r in records[:6]:
        exceptions.snooze(CARE, r.id, now() + timedelta(hours=1))
    expected = rules.rank(store.open_exceptions(), flt).items
    shown: list[str] = []
    after = None
    for _ in range(10):
        page = exceptions.page(flt, limit=4, after=after)
        assert len(page.items) <= 4 and not page.truncated
        shown += [r.id for r in page.items]
        after = page.next_after
        if after is None:
            break
    assert shown == [r.id for r in expected]
    ranks = [rules.rank_key(r) for r in expected]
    assert all(a < b for a, b in pairwise(ranks))


def test_a_recount_makes_the_counters_equal_the_records_again(store: MemoryStore):
    seed(9)
    store.reset_exception_counts({("open", "low", "out_of_stock"): 42})  # counters gone wrong (or predating records)
    exceptions.recount()
    for flt in FILTERS:
        assert_counts_match_the_records(store, flt)
