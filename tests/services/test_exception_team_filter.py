"""The exceptions queue filtered by team (the team that owns each kind), on the in-memory store: the
counts come from the counters and equal a count of the team's records, and paging through the team's
queue gives its ranked set page by page, read from the queue index, never the whole open set."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain import exceptions as rules
from chalicelib.domain.exceptions import Owner, QueueFilter, Severity
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import exceptions
from chalicelib.services.clock import now

CARE = Principal(sub="care-1", roles=frozenset({Role.CUSTOMER_CARE}), email="care@waybill.example", name="Care")
# out_of_stock: buyer, high; invoice_missing: accounting, medium; supplier_rejected: buyer, critical
KINDS = ("out_of_stock", "invoice_missing", "supplier_rejected", "out_of_stock")


def seed(n: int) -> list[exceptions.ExceptionRecord]:
    return [exceptions.raise_or_bump(KINDS[i % 4], "po", f"po-{i}", {}) for i in range(n)]


@pytest.mark.parametrize(
    "flt",
    [
        QueueFilter(team=Owner.BUYER),
        QueueFilter(team=Owner.ACCOUNTING),
        QueueFilter(team=Owner.BUYER, severities=frozenset({Severity.HIGH})),
        QueueFilter(team=Owner.ACCOUNTING, kinds=frozenset({"out_of_stock"})),
        QueueFilter(team=Owner.LOGISTICS),
        QueueFilter(team=Owner.BUYER, statuses=rules.ACTIVE),
    ],
)
def test_a_teams_queue_pages_through_its_ranked_set_and_counts_only_its_kinds(store: MemoryStore, flt: QueueFilter):
    records = seed(30)
    exceptions.raise_or_bump("invoice_missing", "po", "po-1", {}, severity="critical")  # bumped among the buyer's
    for r in records[:5]:
        exceptions.snooze(CARE, r.id, now() + timedelta(hours=1))
    expected = rules.rank(store.open_exceptions(), flt)
    assert all(r.owner is flt.team for r in expected.items)

    shown: list[str] = []
    after = None
    for i in range(12):
        page = exceptions.page(flt, limit=3, after=after)
        assert len(page.items) <= 3 and not page.truncated
        if i == 0:
            counts = page.counts
            assert (counts.total, counts.by_kind, counts.by_severity) == (expected.total, expected.by_kind, expected.by_severity)
        shown += [r.id for r in page.items]
        after = page.next_after
        if after is None:
            break
    assert shown == [r.id for r in expected.items]


def test_the_team_filter_reads_bounded_slices_of_the_index_not_the_open_set(store: MemoryStore, monkeypatch):
    seed(40)
    slices: list[int] = []
    read_after = store.open_exceptions_after

    def counted(*args, **kwargs):
        slices.append(kwargs["limit"])
        return read_after(*args, **kwargs)

    monkeypatch.setattr(store, "open_exceptions_after", counted)
    page = exceptions.page(QueueFilter(team=Owner.ACCOUNTING), limit=5)
    assert [r.kind for r in page.items] == ["invoice_missing"] * 5 and page.counts.total == 10
    assert len(slices) == 1 and slices[0] < exceptions.READ_CAP  # one slice sized to the team's share of its ranks
