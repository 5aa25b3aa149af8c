"""The exports area's part of the storage port (`services.ports.Store` inherits `ExportsReads`).

Kinds: an `ExportRun` (key: its id), saved under its version like any other, and an `ExporterLock`
(key: the exporter's name; created once in the run's request, removed by `release_exporter_lock`).
A run's audit events are `Record`s with subject type "export".

Three writes happen outside a transaction, as they always did, so they are named operations here:
a run's checkpoint (`save_export_run`: one conditional put), the claims of a page's records
(`write_export_markers`: one batch write, no conditions: a claim is a marker, written again as is on a
resume) and the release of the lock (`release_exporter_lock`: one delete conditional on the run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..domain.audit import AuditEvent
from ..domain.exports import ExportKind
from .ports_common import Page


@dataclass
class ExportRun:
    """An export run: what it exports, its window, where its file goes, and its checkpoint (the
    listing's cursor after the last page whose rows are in uploaded parts or the kept tail, those
    parts, the counts then), so a run stopped anywhere resumes from it. `version`: the one read (or last saved)."""

    id: str
    kind: str
    format: str
    exporter: str | None
    state: str | None
    created_from: datetime | None
    window_end: datetime
    status: str
    requested_by: str
    requested_at: datetime
    bucket: str
    csv_key: str
    key: str  # the file staff download (the CSV itself, or the XLSX made from it)
    counts: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    upload_id: str | None = None
    parts_json: str = "[]"  # uploaded parts: [{"n": part number, "etag": ...}]
    cursor: str | None = None
    rows: int = 0
    attempts: int = 0
    error: str | None = None
    size_bytes: int | None = None
    lease_until: datetime | None = None  # while running: no other worker takes it over before then
    # An invocation stops at its budget (`export_chunk_rows` / `export_chunk_s`) between pages: the rows
    # after the last uploaded part (under S3's 5 MiB part minimum) are kept as this object until the
    # next invocation carries on with them; `chunks` counts those stops (the next continuation's number).
    tail_key: str | None = None
    chunks: int = 0
    version: int = 0


@dataclass(frozen=True)
class ExporterLock:
    """The run an exporter is running: one run per exporter at a time. Key: `exporter`."""

    exporter: str
    run_id: str
    at: datetime

    @property
    def id(self) -> str:
        return self.exporter


@dataclass(frozen=True)
class ExportRecord:
    """A record an export reads: its id, status, creation time, its columns (`values`, in
    `domain.exports.COLUMNS[kind]` order), and `home`, opaque: where the store keeps its markers."""

    id: str
    status: str
    created_at: datetime
    values: tuple[Any, ...]
    home: str


@dataclass(frozen=True)
class ExportMarker:
    """The record (`home`, `record_id`) was claimed by `exporter` in run `run_id`, in that `status`."""

    home: str
    exporter: str
    record_id: str
    run_id: str
    at: datetime
    status: str


@dataclass(frozen=True)
class ExportRunWithHistory:
    """A run as read, with its audit events, oldest first."""

    run: ExportRun
    events: list[AuditEvent] = field(default_factory=list)


class ExportsReads(Protocol):
    """The exports area's named reads and its writes outside a transaction."""

    def export_source(
        self, kind: ExportKind, created_from: datetime | None, window_end: datetime, *, limit: int, cursor: str | None = None
    ) -> Page[ExportRecord]:
        """The records of a kind created in [`created_from` (None: from the start), `window_end`], oldest
        first (then by id), `limit` per page (on DynamoDB one Query of the kind's GSI4 partition)."""
        ...

    def export_markers(self, records: Sequence[ExportRecord], exporters: Sequence[str]) -> dict[tuple[str, str], ExportMarker]:
        """The markers of those exporters on those records, by (exporter, record id): one read (on
        DynamoDB one BatchGetItem); nothing read when there are no records."""
        ...

    def write_export_markers(self, markers: Sequence[ExportMarker]) -> None:
        """Write the markers, replacing any marker of the same exporter on the same record, outside any
        transaction and without conditions (on DynamoDB one BatchWriteItem per 25)."""
        ...

    def save_export_run(self, run: ExportRun) -> int:
        """Save the run if it is still at `run.version` (else `Conflict`), on its own (on DynamoDB one
        PutItem); answers the version it now has."""
        ...

    def release_exporter_lock(self, exporter: str, run_id: str) -> bool:
        """Remove the exporter's lock if `run_id` holds it (one conditional delete); False when it is
        another run's or there is none."""
        ...

    def export_run_with_history(self, run_id: str) -> ExportRunWithHistory | None:
        """The run and its audit events, or None: one read (on DynamoDB one Query of its partition)."""
        ...

    def export_runs(self, *, limit: int, cursor: str | None = None) -> Page[ExportRun]:
        """Every run, newest request first."""
        ...
