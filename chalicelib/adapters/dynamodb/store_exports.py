"""The exports area on the single table: runs, exporter locks, markers, and the records exports read.

A run is `EXPORT#<id>` / `#META` (GSI1 `EXPORTS`, by request time; its audit events share its
partition), a lock `EXPORTER#<name>` / `#LOCK`, a marker `<record PK>` / `EXPORTED#<exporter>#<record
id>` (the record's PK is an `ExportRecord`'s opaque `home`). The records of a kind are its GSI4
partition (`ORDERS`, `POS`, `PAYMENTS`, `SHIPMENTS`) by creation time. Every call is the request
`services.exports` made before it moved: a run's load one GetItem, its checkpoint one conditional
PutItem, a page one Query, its markers one BatchGetItem, its claims one BatchWriteItem, the lock's
release one conditional DeleteItem.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from ...domain import exports as rules
from ...domain.errors import Conflict
from ...domain.exports import ExportKind
from ...services.ports_common import Page
from ...services.ports_exports import ExporterLock, ExportMarker, ExportRecord, ExportRun, ExportRunWithHistory
from . import keys
from . import repository as repo
from .fan_in import query_shards
from .mapping import Mapper, Writes, register
from .models import (
    AuditEventItem,
    ExporterLockItem,
    ExportMarkerItem,
    ExportRunItem,
    Item,
    OrderItem,
    PaymentProposalItem,
    PurchaseOrderItem,
    ShipmentItem,
)

RECORD_TYPES: dict[ExportKind, type[Item]] = {
    ExportKind.ORDERS: OrderItem,
    ExportKind.PURCHASE_ORDERS: PurchaseOrderItem,
    ExportKind.PAYMENTS: PaymentProposalItem,
    ExportKind.SHIPMENTS: ShipmentItem,
}


def _counts(item: ExportRunItem) -> dict[str, int]:
    raw = item.counts.as_dict() if item.counts else {}  # type: ignore[no-untyped-call]
    return {k: int(v) for k, v in raw.items()}


def run_from_item(item: ExportRunItem) -> ExportRun:
    return ExportRun(
        id=item.id,
        kind=item.export_kind,
        format=item.format,
        exporter=item.exporter,
        state=item.state,
        created_from=item.created_from,
        window_end=item.window_end,
        status=item.status,
        requested_by=item.requested_by,
        requested_at=item.requested_at,
        bucket=item.bucket,
        csv_key=item.csv_key,
        key=item.key,
        counts=_counts(item),
        started_at=item.started_at,
        finished_at=item.finished_at,
        upload_id=item.upload_id,
        parts_json=item.parts_json or "[]",
        cursor=item.cursor,
        rows=int(item.rows or 0),
        attempts=int(item.attempts or 0),
        error=item.error,
        size_bytes=None if item.size_bytes is None else int(item.size_bytes),
        lease_until=item.lease_until,
        tail_key=item.tail_key,
        chunks=int(item.chunks or 0),
        version=int(item.version or 0),
    )


def run_item(run: ExportRun, version: int | None) -> ExportRunItem:
    """The run's item; `version`: the one the write expects (None: a new item)."""
    pk, sk = keys.export_run(run.id)
    item = ExportRunItem(
        pk,
        sk,
        GSI1PK=keys.ALL_EXPORTS_PK,
        GSI1SK=keys.created_sk(run.requested_at, run.id),
        id=run.id,
        export_kind=run.kind,
        format=run.format,
        exporter=run.exporter,
        state=run.state,
        created_from=run.created_from,
        window_end=run.window_end,
        status=run.status,
        requested_by=run.requested_by,
        requested_at=run.requested_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        bucket=run.bucket,
        csv_key=run.csv_key,
        key=run.key,
        upload_id=run.upload_id,
        parts_json=run.parts_json,
        cursor=run.cursor,
        rows=run.rows,
        counts=dict(run.counts),
        attempts=run.attempts,
        error=run.error,
        size_bytes=run.size_bytes,
        lease_until=run.lease_until,
        tail_key=run.tail_key,
        chunks=run.chunks,
    )
    return repo.with_version(item, version)


def _load_run(run_id: str) -> tuple[ExportRun, int] | None:
    item = repo.get(keys.export_run(run_id), ExportRunItem)
    if item is None:
        return None
    run = run_from_item(item)
    return run, run.version


def _save_run(run: ExportRun, version: int | None, at: datetime) -> Writes:
    item = run_item(run, version)
    # An update's condition is the item's version attribute (PynamoDB adds it); a new one must be absent.
    return [repo.Write(item) if version is not None else repo.new_item(item)]


register(ExportRun, Mapper(load=_load_run, save=_save_run))


def _load_lock(exporter: str) -> tuple[ExporterLock, int] | None:
    item = repo.get(keys.exporter_lock(exporter), ExporterLockItem)
    return None if item is None else (ExporterLock(item.exporter, item.run_id, item.at), 1)


def _save_lock(lock: ExporterLock, version: int | None, at: datetime) -> Writes:
    if version is not None:
        raise ValueError("an exporter's lock is created once, then released (release_exporter_lock)")
    pk, sk = keys.exporter_lock(lock.exporter)
    return [repo.new_item(ExporterLockItem(pk, sk, exporter=lock.exporter, run_id=lock.run_id, at=lock.at))]


register(ExporterLock, Mapper(load=_load_lock, save=_save_lock))


def _record(kind: ExportKind, item: Any) -> ExportRecord:
    return ExportRecord(item.id, item.status, item.created_at, rules.row(kind, item), item.PK)


class ExportsDynamo:
    """`services.ports_exports.ExportsReads` on the single table."""

    def export_source(
        self, kind: ExportKind, created_from: datetime | None, window_end: datetime, *, limit: int, cursor: str | None = None
    ) -> Page[ExportRecord]:
        hi = keys.created_bound(window_end, upper=True)
        window = Item.GSI4SK.between(keys.created_bound(created_from, upper=False), hi) if created_from else hi >= Item.GSI4SK  # noqa: SIM300
        page = query_shards(
            Item.gsi4,
            keys.export_source_pks(kind.value),
            range_key_condition=window,
            limit=limit,
            cursor=cursor,
            newest_first=False,
        )
        record_type = RECORD_TYPES[kind]
        return Page([_record(kind, i) for i in page.items if isinstance(i, record_type)], page.cursor)

    def export_markers(self, records: Sequence[ExportRecord], exporters: Sequence[str]) -> dict[tuple[str, str], ExportMarker]:
        if not records:
            return {}
        wanted = [keys.exported_marker(r.home, name, r.id) for r in records for name in exporters]
        found = [m for m in repo.batch_get(wanted) if isinstance(m, ExportMarkerItem)]
        return {(m.exporter, m.record_id): ExportMarker(m.PK, m.exporter, m.record_id, m.run_id, m.at, m.status) for m in found}

    def write_export_markers(self, markers: Sequence[ExportMarker]) -> None:
        if not markers:
            return
        with ExportMarkerItem.batch_write() as batch:
            for m in markers:
                pk, sk = keys.exported_marker(m.home, m.exporter, m.record_id)
                batch.save(
                    ExportMarkerItem(
                        pk, sk, exporter=m.exporter, record_id=m.record_id, run_id=m.run_id, at=m.at, status=m.status
                    )
                )

    def save_export_run(self, run: ExportRun) -> int:
        item = run_item(run, run.version)
        try:
            item.save()
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise Conflict(f"export {run.id} was changed by someone else") from exc
            raise
        return int(item.version)

    def release_exporter_lock(self, exporter: str, run_id: str) -> bool:
        pk, sk = keys.exporter_lock(exporter)
        try:
            ExporterLockItem(pk, sk).delete(condition=ExporterLockItem.run_id == run_id)
        except DeleteError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def export_run_with_history(self, run_id: str) -> ExportRunWithHistory | None:
        items = repo.query_all(keys.export_pk(run_id))
        item = next((i for i in items if isinstance(i, ExportRunItem)), None)
        if item is None:
            return None
        events = [repo.event_from_item(i) for i in items if isinstance(i, AuditEventItem)]
        return ExportRunWithHistory(run_from_item(item), events)

    def export_runs(self, *, limit: int, cursor: str | None = None) -> Page[ExportRun]:
        page = repo.query_page(Item.gsi1, keys.ALL_EXPORTS_PK, limit=limit, cursor=cursor)
        return Page([run_from_item(i) for i in page.items if isinstance(i, ExportRunItem)], page.cursor)
