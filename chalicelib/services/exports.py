"""Export runs: request one, run (or resume) it, list and read runs, and the scheduled run of every
exporter.

A run reads its kind's records (`Store.export_source`: orders, POs, payment proposals, shipments) by
creation time inside its window, one page at a time; per page one read of the exporter markers of the
page's records (this exporter's and its chain predecessor's), the rules in `domain/exports.py` decide
each row, one batch write claims the new rows (marker with this run's id) and the rows go to a
temporary file. Each time a part's worth is buffered it is uploaded and the run checkpoints (cursor,
parts, counts), so a run stopped anywhere resumes from its checkpoint: rows it claimed after that
checkpoint are written again (`Take.AGAIN`), rows other runs claimed are skipped.

An invocation is bounded (docs/design-notes.md, "Sweep and exports"): after `export_chunk_rows` rows or
`export_chunk_s` seconds (checked between pages) it stops, keeps the rows buffered since the last part
as a tail object in S3 (a part must be 5 MiB but the last; the next part starts with the tail), checkpoints
(cursor, parts, tail, counts) and queues its own continuation on the exports queue (`waybill.chunk_due`,
job `export`, numbered by the run's `chunks`). The multipart upload stays open across invocations: its
id and parts are in the checkpoint. A continuation whose number is not the run's (redelivered after the
run moved on) does nothing. One run per exporter
at a time (a lock), and an exporter waits while its predecessor runs. On the storage port
(`services.ports_exports`): the checkpoint, the claims and the lock's release are its writes outside a
transaction.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..adapters import export_files, queues
from ..config import settings
from ..domain import exports as rules
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, NotFound
from ..domain.exports import ExportFormat, ExportKind, RunStatus, Take
from ..domain.permissions import SYSTEM, Principal
from ..events import ChunkDue
from ..observability import logger
from ..topology import EXPORTS
from . import uow
from .clock import new_id, now
from .ports import Record, Save
from .ports_exports import ExporterLock, ExportMarker, ExportRecord, ExportRun


@dataclass
class Run:
    item: ExportRun
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
) -> ExportRun:
    """Record a run (`queued`) and its `export.requested` event, which the stream puts on the bus and
    the exports queue runs. An exporter already running, or whose predecessor runs, is a Conflict."""
    chosen = rules.check_request(kind, exporter, state, created_from, created_to)
    at = now()
    item = _new_run(actor, kind, fmt, chosen, state, created_from, rules.window_end(created_to, at), at)
    changes: list[Save | Record] = [Save(item, None), _event(item, "export.requested", actor, at)]
    if chosen is not None:
        _check_predecessor_idle(chosen)
        changes.append(Save(ExporterLock(chosen.name, item.id, at), None))
    try:
        uow.store().commit(changes, what=f"export {item.id}", at=at)
    except Conflict:  # the lock exists (AlreadyExists): the exporter runs
        raise Conflict(f"exporter {exporter} is running; try again when its run is done") from None
    item.version = 1  # as created
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
) -> ExportRun:
    run_id = new_id("exp")
    name = rules.file_name(run_id, kind, fmt, chosen.name if chosen else None)
    prefix = f"exports/{at:%Y/%m/%d}/{run_id}/"
    csv_name = rules.file_name(run_id, kind, ExportFormat.CSV, chosen.name if chosen else None)
    return ExportRun(
        id=run_id,
        kind=kind.value,
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


def _check_predecessor_idle(chosen: rules.Exporter) -> None:
    if chosen.after and uow.store().load(ExporterLock, chosen.after) is not None:
        raise Conflict(f"exporter {chosen.name} waits for {chosen.after}, which is running")


def _event(item: ExportRun, type_: str, actor: Principal, at: datetime, **data: Any) -> Record:
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="export",
        subject_id=item.id,
        type=type_,
        actor=actor,
        at=at,
        data={"kind": item.kind, "format": item.format, "exporter": item.exporter, "state": item.state, **data},
    )
    return Record(event)


# ---------------------------------------------------------------- running


@dataclass
class Outcome:
    run_id: str
    status: str
    rows: int
    counts: dict[str, int]


def after_page(run: ExportRun, rows_so_far: int) -> None:
    """Called after each page's rows are buffered (tests inject interruptions here)."""


class LostRun(Exception):
    """Another worker took the run over (its lease had lapsed): this one stops without a trace."""


def run_export(run_id: str, *, continuation: int | None = None, deadline: float | None = None) -> Outcome:
    """Run a queued run, or resume a failed one, or a running one whose worker's lease lapsed (it
    crashed) or that stopped at its budget, from its checkpoint, for one invocation's budget (a
    `deadline` on `time.monotonic()` may shorten it): the outcome is `running` when it stopped there
    and queued its continuation. A run another worker holds, or a finished one, is left as is; so is
    one a `continuation` message names by a number that is no longer the run's."""
    found = uow.store().load(ExportRun, run_id)
    if found is None:
        raise NotFound(f"no export {run_id}")
    item = found.value
    item.version = found.version
    at = now()
    held = item.status == RunStatus.RUNNING and item.lease_until is not None and item.lease_until > at
    stale = continuation is not None and item.chunks != continuation  # the run moved on (or another took it)
    if item.status == RunStatus.DONE or held or stale:
        return Outcome(item.id, item.status, int(item.rows), dict(item.counts))
    item.status = RunStatus.RUNNING.value
    item.started_at = item.started_at or at
    item.attempts += 1
    item.error = None
    try:
        _save(item)  # under its version: of two workers claiming the run at once, one loses here
        _stream(item, deadline)
    except Exception as exc:
        if isinstance(exc, LostRun) or not _fail(item, exc):
            logger.info("export taken over by another worker", extra={"run": item.id, "error": repr(exc)})
            return Outcome(item.id, RunStatus.RUNNING.value, int(item.rows), dict(item.counts))
        raise
    return Outcome(item.id, item.status, int(item.rows), dict(item.counts))


def _save(item: ExportRun, *, lease: bool = True) -> None:
    """Save the run under its version, renewing the lease (or, `lease=False`, letting it go: the run
    stopped at its budget); a lost condition means another worker has it."""
    item.lease_until = now() + timedelta(seconds=settings().export_lease_s) if lease else None
    try:
        item.version = uow.store().save_export_run(item)
    except Conflict as exc:
        raise LostRun(item.id) from exc


def _stream(item: ExportRun, deadline: float | None = None) -> None:
    s = settings()
    started = time.monotonic()
    stop_at = started + s.export_chunk_s if deadline is None else min(deadline, started + s.export_chunk_s)
    kind = ExportKind(item.kind)
    chosen = rules.exporter(item.exporter) if item.exporter else None
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
        if item.tail_key:  # the rows a stopped invocation kept: the next part starts with them
            writer.take_tail(item.tail_key)
        elif not writer.parts:  # nothing uploaded yet: the file starts again from its header
            item.cursor, item.rows, item.counts = None, 0, rules.counts_zero()
            writer.write_rows([[c.name for c in rules.COLUMNS[kind]]])
        rows = item.rows
        rows_before = rows
        counts = dict(item.counts)
        cursor: str | None = item.cursor
        while True:
            page = uow.store().export_source(kind, item.created_from, item.window_end, limit=s.export_page_size, cursor=cursor)
            records = page.items
            taken = _take_page(item, chosen, records)
            rules.add_counts(counts, (t for _, t in taken))
            out = [r for r, t in taken if t in (Take.EXPORT, Take.AGAIN)]
            writer.write_rows([rules.cell(v) for v in r.values] for r in out)
            rows += len(out)
            cursor = page.cursor
            after_page(item, rows)
            if cursor is None or writer.buffered >= s.export_part_bytes:
                writer.flush()
                _checkpoint(item, writer, cursor, rows, counts)
            if cursor is None:
                break
            if rows - rows_before >= s.export_chunk_rows or time.monotonic() >= stop_at:
                _stop(item, writer, cursor, rows, counts)
                return
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


def _take_page(run: ExportRun, chosen: rules.Exporter | None, records: list[ExportRecord]) -> list[tuple[ExportRecord, Take]]:
    """Each record of a page with what the run does with it; claims the new ones (one read of the
    markers, one batch write of the claims)."""
    if not records:
        return []
    if chosen is None:  # a plain export: no markers, every record in the window and state
        return [
            (r, rules.take(r.status, run_id=run.id, exporter_=None, state=run.state, claimed_by=None, previous_done=False))
            for r in records
        ]
    names = [chosen.name] + ([chosen.after] if chosen.after else [])
    markers = uow.store().export_markers(records, names)
    at = now()
    taken: list[tuple[ExportRecord, Take]] = []
    claims: list[ExportMarker] = []
    for r in records:
        own = markers.get((chosen.name, r.id))
        previous = (chosen.after, r.id) in markers if chosen.after else True
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
            claims.append(ExportMarker(r.home, chosen.name, r.id, run.id, at, r.status))
    if claims:
        uow.store().write_export_markers(claims)
    return taken


def _checkpoint(
    item: ExportRun, writer: export_files.MultipartWriter, cursor: str | None, rows: int, counts: dict[str, int]
) -> None:
    item.parts_json = json.dumps(writer.parts)
    item.tail_key = None  # a kept tail went into the part just uploaded
    item.cursor = cursor
    item.rows = rows
    item.counts = counts
    _save(item)


def _stop(item: ExportRun, writer: export_files.MultipartWriter, cursor: str, rows: int, counts: dict[str, int]) -> None:
    """The invocation's budget is spent: what is buffered becomes a part (a part's worth) or a kept
    tail object (less: named afresh each time, so a worker that lost the run cannot overwrite the tail
    the checkpoint names), the run checkpoints without a lease (its continuation, or a schedule, takes
    it on) and its continuation is queued."""
    if writer.buffered >= settings().export_part_bytes:
        writer.flush()
    tail = writer.keep_tail(f"{item.csv_key}.tail/{new_id('tail')}")
    item.parts_json = json.dumps(writer.parts)
    item.tail_key = tail
    item.cursor, item.rows, item.counts = cursor, rows, counts
    item.chunks += 1
    _save(item, lease=False)
    detail = {"job": "export", "subject_id": item.id, "run_id": item.id, "number": item.chunks, "cursor": None}
    queues.send(EXPORTS.name, ChunkDue.type, detail)
    logger.info("export continues in its next invocation", extra={"run": item.id, "rows": rows, "chunk": item.chunks})


def _finish(item: ExportRun) -> None:
    at = now()
    item.status = RunStatus.DONE.value
    item.finished_at = at
    item.cursor = None
    item.lease_until = None
    changes: list[Save | Record] = [
        Save(item, item.version),
        _event(
            item,
            "export.completed",
            SYSTEM,
            at,
            rows=item.rows,
            counts=dict(item.counts),
            key=item.key,
            size_bytes=int(item.size_bytes or 0),
            requested_by=item.requested_by,
        ),
    ]
    try:
        uow.store().commit(changes, what=f"export {item.id}", at=at)
    except Conflict as exc:
        raise LostRun(item.id) from exc
    _unlock(item)


def _unlock(item: ExportRun) -> None:
    if item.exporter:
        try:
            released = uow.store().release_exporter_lock(item.exporter, item.id)
        except Exception:  # noqa: BLE001 - the run is done: a lock left behind is resumed and finished by the next one
            released = False
        if not released:  # another run's lock (or none): not ours to remove
            logger.info("export lock not ours", extra={"run": item.id, "exporter": item.exporter})


def _fail(item: ExportRun, exc: Exception) -> bool:
    """Record the failure (the lock stays: the exporter's next run resumes this one). False when the
    run is no longer this worker's (another took it over, and may have finished it): nothing is written,
    and the error was most likely this worker writing into the file the other one completed."""
    found = uow.store().load(ExportRun, item.id)
    if found is None:
        return True
    fresh = found.value
    if fresh.status == RunStatus.DONE or fresh.attempts != item.attempts:
        return False
    at = now()
    fresh.status = RunStatus.FAILED.value
    fresh.lease_until = None  # the next schedule resumes it
    fresh.error = f"{type(exc).__name__}: {exc}"[:500]
    try:
        uow.store().commit(
            [Save(fresh, found.version), _event(fresh, "export.failed", SYSTEM, at, error=fresh.error, rows=fresh.rows)],
            what=f"export {item.id}",
            at=at,
        )
    except Exception:  # noqa: BLE001 - the original error matters more
        logger.exception("could not record the export failure", extra={"run": item.id})
    return True


# ---------------------------------------------------------------- the schedule


def scheduled(*, formats: ExportFormat = ExportFormat.CSV) -> dict[str, Any]:
    """Every exporter, chains in order: resume the exporter's unfinished run if it has one, else start one
    over the lookback window. A failed exporter, or one whose run continues from the exports queue (the
    invocation's budget spent), stops the rest of its chain until the next schedule."""
    s = settings()
    deadline = time.monotonic() + s.export_chunk_s  # the invocation's budget, shared by its exporters
    results: dict[str, Any] = {}
    failed: set[str] = set()  # failed, or not finished in this invocation: their chains wait
    for e in rules.schedule_order():
        if e.after in failed:
            failed.add(e.name)
            results[e.name] = "waiting"
            continue
        found = uow.store().load(ExporterLock, e.name)
        lock = None if found is None else found.value
        try:
            if lock is not None:
                run_id = lock.run_id
            else:
                since = now() - timedelta(days=s.exports_lookback_days)
                run_id = request_export(SYSTEM, kind=e.kind, fmt=formats, exporter=e.name, created_from=since).id
            outcome = run_export(run_id, deadline=deadline)
            results[e.name] = {"run": outcome.run_id, "rows": outcome.rows}
            if outcome.status != RunStatus.DONE:  # continues from the exports queue; its successors next time
                failed.add(e.name)
                results[e.name]["continues"] = True
        except Exception:  # noqa: BLE001 - one exporter's failure must not stop the other chains
            logger.exception("scheduled export failed", extra={"exporter": e.name})
            failed.add(e.name)
            results[e.name] = "failed"
    return results


# ---------------------------------------------------------------- reading


def get_run(run_id: str) -> Run:
    found = uow.store().export_run_with_history(run_id)
    if found is None:
        raise NotFound(f"no export {run_id}")
    item = found.run
    run = Run(item=item, events=found.events)
    if item.status == RunStatus.DONE:
        kind = ExportKind(item.kind)
        name = rules.file_name(item.id, kind, ExportFormat(item.format), item.exporter)
        run.download_url = export_files.presigned_download(item.bucket, item.key, name)
        run.download_expires_at = now() + timedelta(seconds=settings().export_link_expiry_s)
    return run


def list_runs(*, limit: int, cursor: str | None) -> tuple[list[ExportRun], str | None]:
    page = uow.store().export_runs(limit=limit, cursor=cursor)
    return page.items, page.cursor
