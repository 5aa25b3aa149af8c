"""Export runs: request one, run (or resume) it, list and read runs, and the scheduled run of every
exporter.

A run reads its kind's GSI4 partition (`ORDERS`, `POS`, `PAYMENTS`, `SHIPMENTS`) by creation time
inside its window, one Query page at a time; per page one BatchGetItem reads the exporter markers
of the page's records (this exporter's and its chain predecessor's), the rules in
`domain/exports.py` decide each row, a BatchWriteItem claims the new rows (marker with this run's
id) and the rows go to a temporary file. Each time a part's worth is buffered it is uploaded and the
run checkpoints (cursor, parts, counts), so a run stopped anywhere resumes from its checkpoint:
rows it claimed after that checkpoint are written again (`Take.AGAIN`), rows other runs claimed are
skipped. One run per exporter at a time (a lock item), and an exporter waits while its
predecessor runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from ..adapters import export_files
from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import (
    ExporterLockItem,
    ExportMarkerItem,
    ExportRunItem,
    Item,
    OrderItem,
    PaymentProposalItem,
    PurchaseOrderItem,
    ShipmentItem,
)
from ..config import settings
from ..domain import exports as rules
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, NotFound
from ..domain.exports import ExportFormat, ExportKind, RunStatus, Take
from ..domain.permissions import SYSTEM, Principal
from ..observability import logger
from .clock import new_id, now

RECORD_TYPES: dict[ExportKind, type[Item]] = {
    ExportKind.ORDERS: OrderItem,
    ExportKind.PURCHASE_ORDERS: PurchaseOrderItem,
    ExportKind.PAYMENTS: PaymentProposalItem,
    ExportKind.SHIPMENTS: ShipmentItem,
}


def _row(kind: ExportKind, i: Any) -> list[Any]:
    """The row of one record, in `rules.COLUMNS[kind]` order."""
    if kind is ExportKind.ORDERS:
        return [
            i.id,
            i.created_at,
            i.status,
            i.campaign_id,
            i.customer_id,
            i.customer_email,
            i.payment_mode,
            i.currency,
            int(i.total_cents),
            len(i.lines),
            sum(int(line.quantity) for line in i.lines),
            list(i.supplier_ids or []),
        ]
    if kind is ExportKind.PURCHASE_ORDERS:
        return [
            i.id,
            i.created_at,
            i.status,
            i.stage,
            i.campaign_id,
            i.supplier_id,
            i.currency,
            int(i.order_count),
            int(i.ordered_cents),
            int(i.accepted_cents),
            int(i.invoiced_cents),
            int(i.paid_cents),
        ]
    if kind is ExportKind.PAYMENTS:
        return [
            i.id,
            i.created_at,
            i.status,
            i.po_id,
            i.supplier_id,
            i.campaign_id,
            int(i.amount_cents),
            i.currency,
            i.bank_reference,
            i.decided_by,
        ]
    return [
        i.id,
        i.created_at,
        i.status,
        i.carrier,
        i.tracking_number,
        i.po_id,
        i.supplier_id,
        i.campaign_id,
        len(i.order_ids or []),
        list(i.order_ids or []),
    ]


@dataclass
class Run:
    item: ExportRunItem
    download_url: str | None = None
    download_expires_at: datetime | None = None
    events: list[AuditEvent] = field(default_factory=list)


# ---------------------------------------------------------------- requesting


def request_export(
    actor: Principal,
    *,
    kind: ExportKind,
    fmt: ExportFormat,
    exporter: str | None = None,
    state: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> ExportRunItem:
    """Record a run (`queued`) and its `export.requested` event, which the stream puts on the bus and
    the exports queue runs. An exporter already running, or whose predecessor runs, is a Conflict."""
    chosen = rules.check_request(kind, exporter, state, created_from, created_to)
    at = now()
    item = _new_run(actor, kind, fmt, chosen, state, created_from, rules.window_end(created_to, at), at)
    writes = [repo.new_item(item), _event_write(item, "export.requested", actor, at)]
    if chosen is not None:
        _check_predecessor_idle(chosen)
        writes.append(_lock_write(chosen.name, item.id, at))
    try:
        repo.commit(writes, what=f"export {item.id}", unique_at=2 if chosen is not None else None)
    except Conflict:
        raise Conflict(f"exporter {exporter} is running; try again when its run is done") from None
    return item


def _new_run(
    actor: Principal,
    kind: ExportKind,
    fmt: ExportFormat,
    chosen: rules.Exporter | None,
    state: str | None,
    created_from: datetime | None,
    window_end: datetime,
    at: datetime,
) -> ExportRunItem:
    run_id = new_id("exp")
    pk, sk = keys.export_run(run_id)
    name = rules.file_name(run_id, kind, fmt, chosen.name if chosen else None)
    prefix = f"exports/{at:%Y/%m/%d}/{run_id}/"
    csv_name = rules.file_name(run_id, kind, ExportFormat.CSV, chosen.name if chosen else None)
    return ExportRunItem(
        pk,
        sk,
        GSI1PK=keys.ALL_EXPORTS_PK,
        GSI1SK=keys.created_sk(at, run_id),
        id=run_id,
        export_kind=kind.value,
        format=fmt.value,
        exporter=chosen.name if chosen else None,
        state=state,
        created_from=created_from,
        window_end=window_end,
        status=RunStatus.QUEUED.value,
        requested_by=actor.sub,
        requested_at=at,
        bucket=settings().exports_bucket,
        csv_key=prefix + csv_name,
        key=prefix + name,
        counts=rules.counts_zero(),
    )


def _lock_write(exporter: str, run_id: str, at: datetime) -> repo.Write:
    pk, sk = keys.exporter_lock(exporter)
    return repo.new_item(ExporterLockItem(pk, sk, exporter=exporter, run_id=run_id, at=at))


def _check_predecessor_idle(chosen: rules.Exporter) -> None:
    if chosen.after and repo.get(keys.exporter_lock(chosen.after), ExporterLockItem) is not None:
        raise Conflict(f"exporter {chosen.name} waits for {chosen.after}, which is running")


def _event_write(item: ExportRunItem, type_: str, actor: Principal, at: datetime, **data: Any) -> repo.Write:
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="export",
        subject_id=item.id,
        type=type_,
        actor=actor,
        at=at,
        data={"kind": item.export_kind, "format": item.format, "exporter": item.exporter, "state": item.state, **data},
    )
    return repo.event_write(keys.export_pk(item.id), event)


# ---------------------------------------------------------------- running


@dataclass
class Outcome:
    run_id: str
    status: str
    rows: int
    counts: dict[str, int]


def _counts(item: ExportRunItem) -> dict[str, int]:
    raw = item.counts.as_dict() if item.counts else {}  # type: ignore[no-untyped-call]
    return {k: int(v) for k, v in raw.items()}


def after_page(run: ExportRunItem, rows_so_far: int) -> None:
    """Called after each page's rows are buffered (tests inject interruptions here)."""


class LostRun(Exception):
    """Another worker took the run over (its lease had lapsed): this one stops without a trace."""


def run_export(run_id: str) -> Outcome:
    """Run a queued run, or resume a failed one, or a running one whose worker's lease lapsed (it
    crashed), from its checkpoint. A run another worker holds, or a finished one, is left as is."""
    item = repo.get(keys.export_run(run_id), ExportRunItem)
    if item is None:
        raise NotFound(f"no export {run_id}")
    at = now()
    held = item.status == RunStatus.RUNNING and item.lease_until is not None and item.lease_until > at
    if item.status == RunStatus.DONE or held:
        return Outcome(item.id, item.status, int(item.rows), _counts(item))
    item.status = RunStatus.RUNNING.value
    item.started_at = item.started_at or at
    item.attempts = int(item.attempts or 0) + 1
    item.error = None
    try:
        _save(item)  # under its version: of two workers claiming the run at once, one loses here
        _stream(item)
    except Exception as exc:
        if isinstance(exc, LostRun) or not _fail(item, exc):
            logger.info("export taken over by another worker", extra={"run": item.id, "error": repr(exc)})
            return Outcome(item.id, RunStatus.RUNNING.value, int(item.rows), _counts(item))
        raise
    return Outcome(item.id, item.status, int(item.rows), _counts(item))


def _save(item: ExportRunItem) -> None:
    """Save the run under its version, renewing the lease; a lost condition means another worker has it."""
    item.lease_until = now() + timedelta(seconds=settings().export_lease_s)
    try:
        item.save()
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise LostRun(item.id) from exc
        raise


def _stream(item: ExportRunItem) -> None:
    s = settings()
    kind = ExportKind(item.export_kind)
    chosen = rules.exporter(item.exporter) if item.exporter else None
    record_type = RECORD_TYPES[kind]
    writer = export_files.MultipartWriter(
        item.bucket,
        item.csv_key,
        export_files.CONTENT_TYPES["csv"],
        upload_id=item.upload_id,
        parts=json.loads(item.parts_json or "[]"),
    )
    try:
        if item.upload_id is None:
            item.upload_id = writer.upload_id
            _save(item)
        if not writer.parts:  # nothing uploaded yet: the file starts again from its header
            item.cursor, item.rows, item.counts = None, 0, rules.counts_zero()
            writer.write_rows([[c.name for c in rules.COLUMNS[kind]]])
        rows = int(item.rows)
        counts = _counts(item)
        cursor: str | None = item.cursor
        hi = keys.created_bound(item.window_end, upper=True)
        window = (
            Item.GSI4SK.between(keys.created_bound(item.created_from, upper=False), hi)
            if item.created_from
            else hi >= Item.GSI4SK
        )  # noqa: SIM300
        while True:
            page = repo.query_page(
                Item.gsi4,
                keys.export_source_pk(kind.value),
                range_key_condition=window,
                limit=s.export_page_size,
                cursor=cursor,
                newest_first=False,
            )
            records = [r for r in page.items if isinstance(r, record_type)]
            taken = _take_page(item, chosen, records, kind)
            rules.add_counts(counts, (t for _, t in taken))
            out = [r for r, t in taken if t in (Take.EXPORT, Take.AGAIN)]
            writer.write_rows([rules.cell(v) for v in _row(kind, r)] for r in out)
            rows += len(out)
            cursor = page.cursor
            after_page(item, rows)
            if cursor is None or writer.buffered >= s.export_part_bytes:
                writer.flush()
                _checkpoint(item, writer, cursor, rows, counts)
            if cursor is None:
                break
        item.size_bytes = writer.complete()
    finally:
        writer.close_quietly()
    if item.format == ExportFormat.XLSX:
        columns = rules.COLUMNS[kind]
        item.size_bytes = export_files.csv_to_xlsx(
            item.bucket,
            item.csv_key,
            item.key,
            item.exporter or kind.value,
            lambda row: [rules.typed(c, v) for c, v in zip(columns, row, strict=True)],
        )
    _finish(item)


def _take_page(run: ExportRunItem, chosen: rules.Exporter | None, records: list[Any], kind: ExportKind) -> list[tuple[Any, Take]]:
    """Each record of a page with what the run does with it; claims the new ones (one BatchGetItem of the
    markers, one BatchWriteItem of the claims)."""
    if not records:
        return []
    if chosen is None:  # a plain export: no markers, every record in the window and state
        return [
            (r, rules.take(r.status, run_id=run.id, exporter_=None, state=run.state, claimed_by=None, previous_done=False))
            for r in records
        ]
    names = [chosen.name] + ([chosen.after] if chosen.after else [])
    wanted = [keys.exported_marker(r.PK, name, r.id) for r in records for name in names]
    markers = {(m.PK, m.SK): m for m in repo.batch_get(wanted) if isinstance(m, ExportMarkerItem)}
    at = now()
    taken: list[tuple[Any, Take]] = []
    claims: list[ExportMarkerItem] = []
    for r in records:
        own = markers.get(keys.exported_marker(r.PK, chosen.name, r.id))
        previous = keys.exported_marker(r.PK, chosen.after, r.id) in markers if chosen.after else True
        t = rules.take(
            r.status,
            run_id=run.id,
            exporter_=chosen,
            state=run.state,
            claimed_by=own.run_id if own else None,
            previous_done=previous,
        )
        taken.append((r, t))
        if t is Take.EXPORT:
            pk, sk = keys.exported_marker(r.PK, chosen.name, r.id)
            claims.append(ExportMarkerItem(pk, sk, exporter=chosen.name, record_id=r.id, run_id=run.id, at=at, status=r.status))
    if claims:
        with ExportMarkerItem.batch_write() as batch:
            for claim in claims:
                batch.save(claim)
    return taken


def _checkpoint(
    item: ExportRunItem, writer: export_files.MultipartWriter, cursor: str | None, rows: int, counts: dict[str, int]
) -> None:
    item.parts_json = json.dumps(writer.parts)
    item.cursor = cursor
    item.rows = rows
    item.counts = counts
    _save(item)


def _finish(item: ExportRunItem) -> None:
    at = now()
    item.status = RunStatus.DONE.value
    item.finished_at = at
    item.cursor = None
    item.lease_until = None
    writes = [
        repo.Write(item),
        _event_write(
            item,
            "export.completed",
            SYSTEM,
            at,
            rows=int(item.rows),
            counts=_counts(item),
            key=item.key,
            size_bytes=int(item.size_bytes or 0),
            requested_by=item.requested_by,
        ),
    ]
    try:
        repo.commit(writes, what=f"export {item.id}")
    except Conflict as exc:
        raise LostRun(item.id) from exc
    _unlock(item)


def _unlock(item: ExportRunItem) -> None:
    if item.exporter:
        pk, sk = keys.exporter_lock(item.exporter)
        try:
            ExporterLockItem(pk, sk).delete(condition=ExporterLockItem.run_id == item.id)
        except Exception:  # noqa: BLE001 - another run's lock (or none): not ours to remove
            logger.info("export lock not ours", extra={"run": item.id, "exporter": item.exporter})


def _fail(item: ExportRunItem, exc: Exception) -> bool:
    """Record the failure (the lock stays: the exporter's next run resumes this one). False when the
    run is no longer this worker's (another took it over, and may have finished it): nothing is written,
    and the error was most likely this worker writing into the file the other one completed."""
    fresh = repo.get(keys.export_run(item.id), ExportRunItem)
    if fresh is None:
        return True
    if fresh.status == RunStatus.DONE or int(fresh.attempts or 0) != int(item.attempts or 0):
        return False
    at = now()
    fresh.status = RunStatus.FAILED.value
    fresh.lease_until = None  # the next schedule resumes it
    fresh.error = f"{type(exc).__name__}: {exc}"[:500]
    try:
        repo.commit(
            [repo.Write(fresh), _event_write(fresh, "export.failed", SYSTEM, at, error=fresh.error, rows=int(fresh.rows))],
            what=f"export {item.id}",
        )
    except Exception:  # noqa: BLE001 - the original error matters more
        logger.exception("could not record the export failure", extra={"run": item.id})
    return True


# ---------------------------------------------------------------- the schedule


def scheduled(*, formats: ExportFormat = ExportFormat.CSV) -> dict[str, Any]:
    """Every exporter, chains in order: resume the exporter's unfinished run if it has one, else start one
    over the lookback window. A failed exporter stops the rest of its chain until the next schedule."""
    s = settings()
    results: dict[str, Any] = {}
    failed: set[str] = set()
    for e in rules.schedule_order():
        if e.after in failed:
            failed.add(e.name)
            results[e.name] = "waiting"
            continue
        lock = repo.get(keys.exporter_lock(e.name), ExporterLockItem)
        try:
            if lock is not None:
                run_id = lock.run_id
            else:
                since = now() - timedelta(days=s.exports_lookback_days)
                run_id = request_export(SYSTEM, kind=e.kind, fmt=formats, exporter=e.name, created_from=since).id
            outcome = run_export(run_id)
            results[e.name] = {"run": outcome.run_id, "rows": outcome.rows}
        except Exception:  # noqa: BLE001 - one exporter's failure must not stop the other chains
            logger.exception("scheduled export failed", extra={"exporter": e.name})
            failed.add(e.name)
            results[e.name] = "failed"
    return results


# ---------------------------------------------------------------- reading


def get_run(run_id: str) -> Run:
    items = repo.query_all(keys.export_pk(run_id))
    item = next((i for i in items if isinstance(i, ExportRunItem)), None)
    if item is None:
        raise NotFound(f"no export {run_id}")
    from ..adapters.dynamodb.models import AuditEventItem

    events = [repo.event_from_item(i) for i in items if isinstance(i, AuditEventItem)]
    run = Run(item=item, events=events)
    if item.status == RunStatus.DONE:
        kind = ExportKind(item.export_kind)
        name = rules.file_name(item.id, kind, ExportFormat(item.format), item.exporter)
        run.download_url = export_files.presigned_download(item.bucket, item.key, name)
        run.download_expires_at = now() + timedelta(seconds=settings().export_link_expiry_s)
    return run


def list_runs(*, limit: int, cursor: str | None) -> tuple[list[ExportRunItem], str | None]:
    page = repo.query_page(Item.gsi1, keys.ALL_EXPORTS_PK, limit=limit, cursor=cursor)
    return [i for i in page.items if isinstance(i, ExportRunItem)], page.cursor
