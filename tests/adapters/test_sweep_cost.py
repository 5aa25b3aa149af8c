"""The escalation sweep reads what is due, never the table (issue 6), and what it does with it:
deadlines passed raise their kind (pending through its grace period), the grace's end opens the
record, thresholds escalate it. Against moto in-process."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.dynamo import no_table_snapshots
from bench.po_generation import faster_moto_dynamodb
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import DeadlineItem, Item
from chalicelib.config import settings
from chalicelib.domain.exceptions import Status
from chalicelib.domain.permissions import Principal, Role
from chalicelib.local.provision import Provisioned
from chalicelib.services import escalations, exceptions
from chalicelib.services.clock import now

NOT_DUE = 10_000
DUE = 50
CARE = Principal(sub="care-1", roles=frozenset({Role.CUSTOMER_CARE}), email="care@waybill.example", name="Care")


def parcel(i: int) -> str:
    return f"dhl#JD{i:010d}"


def seed_deadlines(n: int, due_in: timedelta, *, start: int = 0, batch: bool) -> list[str]:
    """`n` shipment_late deadlines on parcels, due `due_in` from now, as the shipments service builds
    them (`deadline_write`): in one batch write, or each committed in its own transaction."""
    at = now()
    writes = [
        escalations.deadline_write(
            "shipment", parcel(i), "shipment_late", at + due_in, {"po_id": f"po_{i}", "supplier_id": "acme"}
        )
        for i in range(start, start + n)
    ]
    if batch:
        with Item.batch_write() as b:
            for w in writes:
                b.save(w.item)
    else:
        for i, w in zip(range(start, start + n), writes, strict=True):
            repo.commit([w], what=f"deadline of {parcel(i)}")
    return [parcel(i) for i in range(start, start + n)]


def deadline(subject_id: str) -> DeadlineItem | None:
    return repo.get(keys.deadline(keys.subject_pk("shipment", subject_id), "shipment_late"), DeadlineItem)


def retired(subject_id: str) -> bool:
    """Passed and handled: kept on the subject (fired_at) but out of the due index."""
    item = deadline(subject_id)
    return item is not None and item.fired_at is not None and item.GSI4PK is None


def waiting(subject_id: str) -> bool:
    item = deadline(subject_id)
    return item is not None and item.fired_at is None and item.GSI4PK is not None


def test_a_sweep_over_10000_not_due_and_50_due_reads_about_50_items(aws: Provisioned):
    # moto 5.2.5 deep-copies the whole table for every item of a transaction (its rollback snapshot):
    # ~4 s each at 10,000 items, 9 minutes for this test. The benchmarks' shortcuts skip it (no transaction
    # here is cancelled) and moto's O(n^2) item-size check; request and item counts are unchanged.
    with no_table_snapshots(), faster_moto_dynamodb():
        sweep_over_not_due_entries()


def sweep_over_not_due_entries() -> None:
    seed_deadlines(NOT_DUE, timedelta(days=30), start=DUE, batch=True)
    due = seed_deadlines(DUE, -timedelta(hours=1), batch=False)

    with metered() as m:
        result = escalations.sweep(now())

    assert DUE <= m.items_read <= DUE + 5, m.items_read
    assert result.read == DUE
    assert result.actions == {"deadline_passed": DUE}
    # one Query per shard and page, then per due entry: a GetItem (no record yet), a transaction, a delete
    shards = settings().due_index_shards
    assert shards <= m.requests["Query"] <= shards + 1
    assert m.requests["TransactWriteItems"] == DUE
    for i, subject in enumerate(due):
        record = exceptions.get(exceptions.exception_id("shipment_late", "shipment", subject))
        assert record is not None
        assert (record.kind, record.status, record.count) == ("shipment_late", Status.PENDING, 1)
        assert record.details["po_id"] == f"po_{i}"
        assert retired(subject)
    assert waiting(parcel(DUE)) and waiting(parcel(DUE + NOT_DUE - 1))  # not due: untouched

    with metered() as again:
        second = escalations.sweep()
    assert (again.items_read, second.read) == (0, 0)  # handled entries left the due range
    assert again.requests["Query"] == shards  # one per shard, nothing more


def test_after_the_grace_period_the_sweep_opens_the_pending_exceptions(aws: Provisioned):
    subjects = seed_deadlines(5, -timedelta(hours=1), batch=False)
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


def escalations_of(exc_id: str) -> list[tuple[int, str]]:
    return sorted(
        (int(e.data["level"]), str(e.data["target"])) for e in exceptions.detail(exc_id).events if e.type == "exception.escalated"
    )


def test_open_exceptions_escalate_to_their_owner_or_assignee_then_to_the_admins(aws: Provisioned):
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
    # nothing more can happen by time: out of the due index
    with metered() as m:
        assert escalations.sweep(now() + timedelta(days=365)).read == 0
    assert m.items_read == 0


@pytest.mark.parametrize(
    ("assignee", "campaign_id", "targets"),
    [
        (None, None, [(1, "accounting"), (2, "accounting"), (3, "admin")]),
        ("ann@waybill.example", None, [(1, "assignee"), (2, "accounting"), (3, "admin")]),
        (None, "cmp_1", [(1, "accounting"), (2, "buyer"), (3, "admin")]),
    ],
)
def test_each_level_tells_its_target(
    aws: Provisioned, assignee: str | None, campaign_id: str | None, targets: list[tuple[int, str]]
):
    # payment_failed: high (4 / 24 / 72 h), owned by accounting
    details = {"po_id": "po_9", **({"campaign_id": campaign_id} if campaign_id else {})}
    record = exceptions.raise_or_bump("payment_failed", "po", "po_9", details)
    if assignee:
        exceptions.assign(CARE, record.id, assignee)
    for hours in (5, 25, 73):
        assert escalations.sweep(now() + timedelta(hours=hours)).actions == {"escalate": 1}
    assert escalations_of(record.id) == targets
