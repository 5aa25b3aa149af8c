"""What every store does with the exports area (`services.ports_exports`), on the in-memory store and
on the DynamoDB one: runs saved under versions (in a commit and on their own), exporter locks created
once and released only by their run, the records of a kind by creation time inside a window, their
markers written blindly and read back, a run with its history, and the runs newest first."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.audit import AuditEvent
from chalicelib.domain.errors import AlreadyExists, Conflict, RuleViolation
from chalicelib.domain.exports import ExportKind
from chalicelib.domain.permissions import SYSTEM
from chalicelib.services.ports import Record, Save, Store
from chalicelib.services.ports_exports import ExporterLock, ExportMarker, ExportRun
from tests.contract.test_orders import order
from tests.unit.factories import NOW


def export_run(run_id: str = "exp_1", *, minutes: int = 0) -> ExportRun:
    return ExportRun(
        id=run_id,
        kind="orders",
        format="csv",
        exporter="orders_paid",
        state=None,
        created_from=None,
        window_end=NOW + timedelta(hours=1),
        status="queued",
        requested_by="ada",
        requested_at=NOW + timedelta(minutes=minutes),
        bucket="exports",
        csv_key=f"exports/{run_id}.csv",
        key=f"exports/{run_id}.csv",
        counts={"export": 0, "again": 0},
    )


def event(run_id: str, n: int, type_: str = "export.requested") -> AuditEvent:
    return AuditEvent(
        id=f"evt-{run_id}-{n}",
        subject_type="export",
        subject_id=run_id,
        type=type_,
        actor=SYSTEM,
        at=NOW + timedelta(seconds=n),
        data={"rows": n},
    )


def test_a_run_loads_as_created_and_a_stale_save_is_a_conflict(store: Store):
    run = export_run()
    store.commit([Save(run, None), Record(event(run.id, 1))], what="export", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(run, None)], what="export", at=NOW)

    found = store.load(ExportRun, run.id)
    assert found is not None and found.version == 1
    assert replace(found.value, version=0) == run
    changed = replace(found.value, status="running", rows=3, counts={"export": 3, "again": 0}, version=found.version)
    store.commit([Save(changed, found.version)], what="export", at=NOW)
    with pytest.raises(Conflict):
        store.commit([Save(changed, found.version)], what="export", at=NOW)
    assert store.load(ExportRun, "exp_nope") is None


def test_a_run_saved_on_its_own_moves_its_version_and_a_stale_one_is_a_conflict(store: Store):
    store.commit([Save(export_run(), None)], what="export", at=NOW)
    found = store.load(ExportRun, "exp_1")
    assert found is not None
    run = replace(found.value, version=found.version, cursor="c1", parts_json='[{"n": 1, "etag": "e"}]', lease_until=NOW)

    run.version = store.save_export_run(run)

    again = store.load(ExportRun, "exp_1")
    assert again is not None and again.version == run.version == found.version + 1
    assert (again.value.cursor, again.value.parts_json, again.value.lease_until) == ("c1", '[{"n": 1, "etag": "e"}]', NOW)
    with pytest.raises(Conflict):
        store.save_export_run(replace(run, version=found.version))  # another worker saved it meanwhile


def test_an_exporter_lock_is_created_once_and_released_only_by_its_run(store: Store):
    store.commit([Save(ExporterLock("orders_paid", "exp_1", NOW), None)], what="lock", at=NOW)
    with pytest.raises(AlreadyExists):
        store.commit([Save(ExporterLock("orders_paid", "exp_2", NOW), None)], what="lock", at=NOW)
    found = store.load(ExporterLock, "orders_paid")
    assert found is not None and found.value == ExporterLock("orders_paid", "exp_1", NOW)

    assert store.release_exporter_lock("orders_paid", "exp_2") is False
    assert store.load(ExporterLock, "orders_paid") is not None
    assert store.release_exporter_lock("orders_paid", "exp_1") is True
    assert store.load(ExporterLock, "orders_paid") is None
    assert store.release_exporter_lock("orders_paid", "exp_1") is False  # none left


def test_an_exports_source_pages_a_kinds_records_oldest_first_inside_the_window(store: Store):
    orders = [order(f"ord-{i}", minutes=i, suppliers=("acme", "bolt")) for i in range(5)]
    for o in orders:  # one commit each: they share the orders-per-status counters
        store.commit([Save(o, None)], what="seed", at=NOW)

    first = store.export_source(ExportKind.ORDERS, NOW + timedelta(minutes=1), NOW + timedelta(minutes=3), limit=2)
    assert [r.id for r in first.items] == ["ord-1", "ord-2"] and first.cursor is not None
    second = store.export_source(
        ExportKind.ORDERS, NOW + timedelta(minutes=1), NOW + timedelta(minutes=3), limit=2, cursor=first.cursor
    )
    assert [r.id for r in second.items] == ["ord-3"]
    everything = store.export_source(ExportKind.ORDERS, None, NOW + timedelta(minutes=3), limit=10)
    assert [r.id for r in everything.items] == ["ord-0", "ord-1", "ord-2", "ord-3"]

    r = first.items[0]
    assert (r.status, r.created_at) == ("placed", NOW + timedelta(minutes=1))
    assert r.values == (
        "ord-1",
        NOW + timedelta(minutes=1),
        "placed",
        "cmp-1",
        "cust-1",
        "Cust@Example.com",
        "prepaid",
        "EUR",
        2000,
        2,
        2,
        ["acme", "bolt"],
    )
    assert store.export_source(ExportKind.PURCHASE_ORDERS, None, NOW + timedelta(days=1), limit=10).items == []
    with pytest.raises(RuleViolation):
        store.export_source(ExportKind.ORDERS, None, NOW + timedelta(minutes=3), limit=2, cursor="bm90LWEtY3Vyc29y")


def test_markers_are_written_blindly_and_read_back_by_exporter_and_record(store: Store):
    for i in range(3):
        store.commit([Save(order(f"ord-{i}", minutes=i), None)], what="seed", at=NOW)
    records = store.export_source(ExportKind.ORDERS, None, NOW + timedelta(hours=1), limit=10).items
    assert store.export_markers(records, ["orders_paid"]) == {}
    assert store.export_markers([], ["orders_paid"]) == {}

    first = [ExportMarker(r.home, "orders_paid", r.id, "exp_1", NOW, r.status) for r in records[:2]]
    store.write_export_markers(first)
    store.write_export_markers([replace(first[0], run_id="exp_2")])  # written again: replaced, no condition
    store.write_export_markers([])

    found = store.export_markers(records, ["orders_paid", "orders_delivered"])
    assert sorted(found) == [("orders_paid", "ord-0"), ("orders_paid", "ord-1")]
    assert found[("orders_paid", "ord-0")].run_id == "exp_2"
    assert found[("orders_paid", "ord-1")] == first[1]


def test_a_run_reads_with_its_history_and_runs_list_newest_first(store: Store):
    for i in range(3):
        run = export_run(f"exp_{i}", minutes=i)
        store.commit([Save(run, None), Record(event(run.id, 1))], what="export", at=NOW)
    store.commit([Record(event("exp_1", 2, "export.completed"))], what="export", at=NOW)

    found = store.export_run_with_history("exp_1")
    assert found is not None and found.run.id == "exp_1" and found.run.version == 1
    assert [e.type for e in found.events] == ["export.requested", "export.completed"]
    assert store.export_run_with_history("exp_nope") is None

    page = store.export_runs(limit=2)
    assert [r.id for r in page.items] == ["exp_2", "exp_1"] and page.cursor is not None
    assert [r.id for r in store.export_runs(limit=2, cursor=page.cursor).items] == ["exp_0"]
