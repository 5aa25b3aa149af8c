"""Exports on moto: files read back from S3 (CSV, and XLSX with openpyxl), records created or changed
while a run reads, an interrupted run resumed, chained exporters, one run per exporter, the audit."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters import export_files
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb import repository as repo
from chalicelib.adapters.dynamodb.models import AuditEventItem, ExportMarkerItem, ExportRunItem, Item, OrderItem
from chalicelib.config import settings
from chalicelib.domain.errors import Conflict
from chalicelib.domain.exports import ExportFormat, ExportKind
from chalicelib.domain.orders import Delivery, DeliveryStatus, Order, OrderLine, OrderStatus, PaymentMode
from chalicelib.domain.permissions import Principal, Role
from chalicelib.domain.purchase_orders import POLine, POStatus, PurchaseOrder
from chalicelib.services import exports

ACCOUNTANT = Principal("ada", frozenset({Role.ACCOUNTING}), name="Ada")
T0 = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch, aws: Any) -> None:
    """Pages of 2 records and parts of 64 bytes (moto's 5 MiB part minimum lowered to match), so a few
    rows exercise paging, several parts and their checkpoints."""
    import moto.s3.models

    small_settings = replace(settings(), export_page_size=2, export_part_bytes=64)
    monkeypatch.setattr(exports, "settings", lambda: small_settings)
    monkeypatch.setattr(export_files, "settings", lambda: small_settings)
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1)


def order(i: int, status: OrderStatus = OrderStatus.PLACED, *, created: datetime | None = None) -> Order:
    o = Order(
        id=f"ord_{i:03d}",
        campaign_id="cmp_1",
        customer_id=f"cust-{i}",
        customer_email=f"c{i}@example.com",
        currency="EUR",
        payment_mode=PaymentMode.PREPAID,
        lines=[OrderLine("MUG-1", "Mug", "acme", 2, 1200), OrderLine("CAP-1", "Cap", "bolt", 1, 900)],
        deliveries=[Delivery("acme", DeliveryStatus.PENDING), Delivery("bolt", DeliveryStatus.PENDING)],
        created_at=created or T0 + timedelta(seconds=i),
    )
    o.status = status
    repo.commit(repo.order_writes(o, version=None, now=o.created_at), what="seed")
    return o


def move(order_id: str, status: OrderStatus) -> None:
    item = repo.get(keys.order(order_id), OrderItem)
    assert item is not None
    o = repo.order_from_item(item)
    o.status = status
    repo.commit(repo.order_writes(o, version=int(item.version), now=datetime.now(UTC)), what="move")


def run(kind: ExportKind = ExportKind.ORDERS, fmt: ExportFormat = ExportFormat.CSV, **kw: Any) -> ExportRunItem:
    item = exports.request_export(ACCOUNTANT, kind=kind, fmt=fmt, **kw)
    exports.run_export(item.id)
    done = repo.get(keys.export_run(item.id), ExportRunItem)
    assert done is not None
    return done


def csv_rows(item: ExportRunItem) -> list[dict[str, str]]:
    buf = io.BytesIO()
    export_files.copy_to(buf, item.bucket, item.csv_key)
    return list(csv.DictReader(io.StringIO(buf.getvalue().decode())))


def ids(item: ExportRunItem) -> list[str]:
    return [r.get("order_id") or r.get("po_id") or "" for r in csv_rows(item)]


def test_a_csv_export_holds_every_order_of_its_window_once_with_its_columns(small: None) -> None:
    for i in range(5):
        order(i)
    order(9, created=T0 - timedelta(days=3))  # before the window

    done = run(created_from=T0 - timedelta(minutes=1))

    rows = csv_rows(done)
    assert [r["order_id"] for r in rows] == [f"ord_{i:03d}" for i in range(5)]
    assert rows[0]["total_cents"] == "3300" and rows[0]["quantity"] == "3" and rows[0]["supplier_ids"] == "acme bolt"
    assert done.status == "done" and int(done.rows) == 5
    assert len(__import__("json").loads(done.parts_json)) > 1  # several parts, each checkpointed


def test_an_xlsx_export_reads_back_with_numbers_and_times_typed(small: None) -> None:
    from openpyxl import load_workbook

    for i in range(3):
        order(i)
    done = run(fmt=ExportFormat.XLSX)

    buf = io.BytesIO()
    export_files.copy_to(buf, done.bucket, done.key)
    sheet = load_workbook(buf, read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:3] == ["order_id", "created_at", "status"]
    assert [v[0] for v in values[1:]] == ["ord_000", "ord_001", "ord_002"]
    assert isinstance(values[1][1], datetime) and values[1][8] == 3300
    assert done.key.endswith(".xlsx") and done.size_bytes and done.size_bytes > 0


def test_orders_created_while_exporting_wait_for_the_next_run(small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(4):
        order(i)
    created: list[str] = []

    def create_one(item: ExportRunItem, rows: int) -> None:
        if not created:
            created.append(order(50, created=datetime.now(UTC)).id)  # after the run's window closed

    monkeypatch.setattr(exports, "after_page", create_one)
    first = run(exporter="orders_paid")
    monkeypatch.setattr(exports, "after_page", lambda *_: None)
    second = run(exporter="orders_paid")

    assert ids(first) == [f"ord_{i:03d}" for i in range(4)]
    assert ids(second) == ["ord_050"]


def test_an_order_changed_while_exporting_is_exported_as_read_and_once_per_exporter(
    small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(4):
        order(i)

    def change(item: ExportRunItem, rows: int) -> None:
        if rows == 2:  # ord_000 was exported as placed; ord_003 not read yet
            move("ord_000", OrderStatus.CANCELLED)
            move("ord_003", OrderStatus.CANCELLED)

    monkeypatch.setattr(exports, "after_page", change)
    paid = run(exporter="orders_paid")
    monkeypatch.setattr(exports, "after_page", lambda *_: None)
    cancelled = run(exporter="orders_cancelled")
    again = run(exporter="orders_paid")

    assert [(r["order_id"], r["status"]) for r in csv_rows(paid)] == [
        ("ord_000", "placed"),
        ("ord_001", "placed"),
        ("ord_002", "placed"),
    ]  # ord_003 was cancelled when read
    assert ids(cancelled) == ["ord_000", "ord_003"]  # the cancelled exporter takes both, once
    assert ids(again) == [] and again.counts["done"] == 3


def test_an_interrupted_export_resumes_without_duplicating_or_skipping_rows(small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(9):
        order(i)

    def crash(item: ExportRunItem, rows: int) -> None:
        if rows >= 6:
            raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(exports, "after_page", crash)
    requested = exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")
    with pytest.raises(RuntimeError):
        exports.run_export(requested.id)
    failed = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert failed is not None and failed.status == "failed" and 0 < int(failed.rows) < 9  # checkpointed midway
    with pytest.raises(Conflict):  # the exporter's run is not over: no second run meanwhile
        exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")

    monkeypatch.setattr(exports, "after_page", lambda *_: None)
    exports.run_export(requested.id)

    done = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert done is not None and done.status == "done" and int(done.attempts) == 2
    assert ids(done) == [f"ord_{i:03d}" for i in range(9)]
    markers = [m for i in range(9) for m in Item.query(keys.order_pk(f"ord_{i:03d}")) if isinstance(m, ExportMarkerItem)]
    assert len(markers) == 9 and {m.run_id for m in markers} == {done.id}


def test_a_chained_exporter_takes_only_what_the_one_before_it_exported(small: None) -> None:
    order(0, OrderStatus.DELIVERED)
    order(1, OrderStatus.PLACED)
    order(2, OrderStatus.COMPLETED)

    early = run(exporter="orders_delivered")  # orders_paid has not run: everything waits
    paid = run(exporter="orders_paid")
    move("ord_001", OrderStatus.DELIVERED)
    delivered = run(exporter="orders_delivered")
    delivered_again = run(exporter="orders_delivered")

    assert ids(early) == [] and early.counts["waiting"] == 2
    assert ids(paid) == ["ord_000", "ord_001", "ord_002"]
    assert ids(delivered) == ["ord_000", "ord_001", "ord_002"]
    assert ids(delivered_again) == []


def test_one_run_per_exporter_and_a_successor_waits_while_its_predecessor_runs(aws: Any) -> None:
    exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")

    with pytest.raises(Conflict):
        exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")
    with pytest.raises(Conflict):
        exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_delivered")
    exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_cancelled")


def test_each_run_is_audited_with_who_counts_and_file(small: None) -> None:
    order(0)
    done = run(exporter="orders_paid")

    events = [e for e in Item.query(keys.export_pk(done.id)) if isinstance(e, AuditEventItem)]
    assert [e.type for e in events] == ["export.requested", "export.completed"]
    assert events[0].actor.sub == "ada"
    data = events[1].data.as_dict()
    assert data["rows"] == 1 and data["key"] == done.key and data["requested_by"] == "ada"
    marker = next(m for m in Item.query(keys.order_pk("ord_000")) if isinstance(m, ExportMarkerItem))
    assert (marker.exporter, marker.run_id, marker.status) == ("orders_paid", done.id, "placed")


def test_purchase_orders_are_exported_from_their_own_index(small: None) -> None:
    for i, status in enumerate([POStatus.SHIPPED, POStatus.OPEN, POStatus.CANCELLED]):
        po = PurchaseOrder(
            id=f"po_{i}",
            campaign_id="cmp_1",
            supplier_id="acme",
            currency="EUR",
            lines=[POLine(sku="MUG-1", name="Mug", ordered_quantity=3, unit_cost_cents=500)],
            created_at=T0 + timedelta(seconds=i),
            order_count=2,
            status=status,
        )
        repo.commit([repo.po_write(po, version=None, now=T0)], what="seed")
    order(0)

    shipped = run(kind=ExportKind.PURCHASE_ORDERS, exporter="purchase_orders_shipped")
    everything = run(kind=ExportKind.PURCHASE_ORDERS)

    assert ids(shipped) == ["po_0"]
    assert ids(everything) == ["po_0", "po_1", "po_2"]
    assert csv_rows(everything)[0]["ordered_cents"] == "1500"


def test_the_schedule_runs_each_chain_in_order_and_resumes_what_was_interrupted(small: None) -> None:
    order(0, OrderStatus.DELIVERED)
    order(1, OrderStatus.CANCELLED)

    result = exports.scheduled()

    assert result["orders_paid"]["rows"] == 1 and result["orders_delivered"]["rows"] == 1
    assert result["orders_cancelled"]["rows"] == 1 and result["shipments_delivered"]["rows"] == 0
    assert exports.scheduled()["orders_delivered"]["rows"] == 0


def test_a_run_another_worker_holds_is_left_alone_and_a_worker_that_lost_its_run_stops_quietly(
    small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        order(i)
    requested = exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")
    stolen: list[str] = []

    def second_worker_arrives(item: ExportRunItem, rows: int) -> None:
        if stolen:
            return
        # while the first worker streams, a second is started on the same run: its lease holds it off
        held = exports.run_export(item.id)
        assert held.status == "running" and held.rows == 0
        # once the lease has lapsed (as if the first worker had died) the second takes the run over
        fresh = repo.get(keys.export_run(item.id), ExportRunItem)
        assert fresh is not None and fresh.lease_until is not None
        fresh.lease_until = datetime.now(UTC) - timedelta(seconds=1)
        fresh.save()
        stolen.append(item.id)
        monkeypatch.setattr(exports, "after_page", lambda *_: None)
        assert exports.run_export(item.id).status == "done"

    monkeypatch.setattr(exports, "after_page", second_worker_arrives)
    first = exports.run_export(requested.id)  # its next checkpoint finds the run taken: it stops, no failure

    assert first.status == "running" and stolen == [requested.id]
    done = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert done is not None and done.status == "done" and done.error is None and done.lease_until is None
    assert ids(done) == [f"ord_{i:03d}" for i in range(5)]  # every row once, none lost to the handover
    events = [e.type for e in Item.query(keys.export_pk(requested.id)) if isinstance(e, AuditEventItem)]
    assert "export.failed" not in events


# ---------------------------------------------------------------- bounded invocations (issue 20 item 1)


def exports_poller(aws: Any) -> Any:
    """The exports queue's poller as the local stack runs it, calling the app's consumer."""
    import threading

    import boto3

    import app
    from chalicelib.local.pollers import SqsPoller
    from chalicelib.topology import EXPORTS

    found = SqsPoller(
        queue_name=EXPORTS.name,
        queue_url=aws.queue_urls[EXPORTS.name],
        queue_arn=aws.queue_arns[EXPORTS.name],
        handler_name=EXPORTS.handler,
        handler=app.exports_consumer,
        batch_size=EXPORTS.batch_size,
        timeout_s=EXPORTS.visibility_timeout_s,
        sqs=boto3.client("sqs", region_name="eu-west-1"),
        region="eu-west-1",
        stop=threading.Event(),
    )
    found.wait_s = 0  # nothing arrives while a test waits: an empty receive means done
    return found


def continuations(aws: Any) -> list[str]:
    """The bodies of the continuation messages on the exports queue now (left there)."""
    import boto3

    from chalicelib.topology import EXPORTS

    got = boto3.client("sqs", region_name="eu-west-1").receive_message(
        QueueUrl=aws.queue_urls[EXPORTS.name], MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return [m["Body"] for m in got.get("Messages", [])]


def drain(aws: Any, at_most: int = 50) -> int:
    runner = exports_poller(aws)
    for _ in range(at_most):
        if not runner.step():
            return runner.invocations
    raise AssertionError("the exports queue still had work")


@pytest.fixture
def budget(monkeypatch: pytest.MonkeyPatch, aws: Any) -> Any:
    """Pages of 2 records, 3 rows per invocation, and parts (64 KiB) bigger than a whole run's rows, so
    every stop keeps its rows as a tail object (moto's 5 MiB part minimum lowered to match)."""
    import moto.s3.models

    chunked = replace(settings(), export_page_size=2, export_part_bytes=64 * 1024, export_chunk_rows=3)
    monkeypatch.setattr(exports, "settings", lambda: chunked)
    monkeypatch.setattr(export_files, "settings", lambda: chunked)
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1)
    return aws


def test_a_run_stops_at_its_budget_keeps_its_tail_and_its_continuations_finish_it_with_every_row_once(budget: Any) -> None:
    for i in range(9):
        order(i)
    requested = exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")

    first = exports.run_export(requested.id)

    assert first.status == "running" and first.rows == 4  # stopped after the page that passed 3 rows
    stopped = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert stopped is not None and stopped.tail_key and stopped.lease_until is None and int(stopped.chunks) == 1
    assert __import__("json").loads(stopped.parts_json) == []  # under a part's worth: nothing uploaded yet
    [body] = continuations(budget)
    assert '"job":"export"' in body and '"number":1' in body

    invocations = drain(budget)

    done = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert done is not None and done.status == "done" and int(done.rows) == 9 and done.tail_key is None
    assert invocations == 2 and int(done.chunks) == 2  # 4 + 4 + 1 rows: two stops, each continued once
    assert ids(done) == [f"ord_{i:03d}" for i in range(9)]  # in order, none twice, none lost
    assert len(__import__("json").loads(done.parts_json)) == 1  # the tails carried into one last part


def test_a_redelivered_continuation_adds_no_row(budget: Any) -> None:
    for i in range(6):
        order(i)
    requested = exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")
    exports.run_export(requested.id)
    [body] = continuations(budget)
    drain(budget)
    done = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert done is not None and done.status == "done"

    import boto3

    from chalicelib.topology import EXPORTS

    boto3.client("sqs", region_name="eu-west-1").send_message(QueueUrl=budget.queue_urls[EXPORTS.name], MessageBody=body)
    assert drain(budget) == 1  # delivered again: the consumer's record skips it
    again = exports.run_export(requested.id, continuation=1)  # and past that record: the run is done
    assert again.status == "done" and again.rows == 6

    after = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert after is not None and int(after.version) == int(done.version) and int(after.rows) == 6
    assert ids(after) == [f"ord_{i:03d}" for i in range(6)]


def test_a_continuation_that_crashed_is_resumed_by_its_redelivery_without_duplicating_rows(
    budget: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(9):
        order(i)
    requested = exports.request_export(ACCOUNTANT, kind=ExportKind.ORDERS, fmt=ExportFormat.CSV, exporter="orders_paid")
    exports.run_export(requested.id)  # rows 0-3, tail kept, continuation 1 queued

    def crash(item: ExportRunItem, rows: int) -> None:
        if rows >= 6:  # half-way through continuation 1, after claiming rows it had not checkpointed
            raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(exports, "after_page", crash)
    with pytest.raises(RuntimeError):
        exports.run_export(requested.id, continuation=1)
    failed = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert failed is not None and failed.status == "failed" and int(failed.rows) == 4  # its checkpoint: the stop
    monkeypatch.setattr(exports, "after_page", lambda *_: None)

    exports.run_export(requested.id, continuation=1)  # the message, redelivered
    drain(budget)

    done = repo.get(keys.export_run(requested.id), ExportRunItem)
    assert done is not None and done.status == "done"
    assert ids(done) == [f"ord_{i:03d}" for i in range(9)]
    markers = [m for i in range(9) for m in Item.query(keys.order_pk(f"ord_{i:03d}")) if isinstance(m, ExportMarkerItem)]
    assert len(markers) == 9 and {m.run_id for m in markers} == {done.id}
