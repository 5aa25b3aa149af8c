"""The escalation sweep reads what is due, never the table (issue 6): its DynamoDB requests and items
read over a 10,000-entry due index, against moto in-process. What it does with what is due (the grace's
end opens a record, thresholds escalate it to each level's target) runs on the in-memory store in
tests/services/test_exceptions.py."""

from __future__ import annotations

from datetime import timedelta

from bench.dynamo import no_table_snapshots
from bench.moto_speed import faster_moto_dynamodb
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.metering import metered
from chalicelib.adapters.dynamodb.models import DeadlineItem, Item
from chalicelib.adapters.dynamodb.store_deadlines import deadline_writes
from chalicelib.config import settings
from chalicelib.domain.exceptions import Status
from chalicelib.local.provision import Provisioned
from chalicelib.services import escalations, exceptions
from chalicelib.services.clock import now
from chalicelib.services.deadlines import deadline_change

NOT_DUE = 10_000
DUE = 50


def parcel(i: int) -> str:
    return f"dhl#JD{i:010d}"


def seed_deadlines(n: int, due_in: timedelta, *, start: int = 0, batch: bool) -> list[str]:
    """`n` shipment_late deadlines on parcels, due `due_in` from now, as the shipments service builds
    them (the write a `deadlines.deadline_change` commits): in one batch write, or each committed in its
    own transaction."""
    at = now()
    writes = [
        write
        for i in range(start, start + n)
        for write in deadline_writes(
            deadline_change("shipment", parcel(i), "shipment_late", at + due_in, {"po_id": f"po_{i}", "supplier_id": "acme"})
        )
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
