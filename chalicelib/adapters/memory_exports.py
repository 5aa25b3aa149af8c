"""The exports area in memory (`services.ports_exports.ExportsReads`): runs and exporter locks are kept
like any aggregate (keys: the run's id, the exporter's name), markers as aggregates keyed by (home,
exporter, record id), and the records an export reads are the stored orders, purchase orders and
payment proposals (no shipment is kept in memory: that kind reads empty here)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from ..domain.audit import AuditEvent
from ..domain.errors import Conflict
from ..domain.exports import ExportKind, row
from ..domain.orders import Order
from ..services.ports_common import Page
from ..services.ports_exports import ExporterLock, ExportMarker, ExportRecord, ExportRun, ExportRunWithHistory
from ..services.ports_purchase_orders import PaymentProposal, PORecord


def _exports_ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class ExportsMemory:
    """Mixed into `MemoryStore`, whose aggregates and events it reads."""

    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]
    _events: dict[tuple[str, str], dict[str, AuditEvent]]
    _page: Callable[..., Page[Any]]  # memory._page: rows (sort key, value) paged with its cursors

    def _export_sources(self, kind: ExportKind) -> list[tuple[Any, str]]:
        """(record, home) of every stored record of the kind."""
        found: list[tuple[Any, str]] = []
        for (k, _), (value, _) in self._aggregates.items():
            if kind is ExportKind.ORDERS and k is Order:
                found.append((value, f"order:{value.id}"))
            elif kind is ExportKind.PURCHASE_ORDERS and k is PORecord:
                found.append((value.po, f"po:{value.po.id}"))
            elif kind is ExportKind.PAYMENTS and k is PaymentProposal:
                found.append((value, f"po:{value.po_id}"))
        return found

    def export_source(
        self, kind: ExportKind, created_from: datetime | None, window_end: datetime, *, limit: int, cursor: str | None = None
    ) -> Page[ExportRecord]:
        rows = []
        for obj, home in self._export_sources(kind):
            if obj.created_at > window_end or (created_from is not None and obj.created_at < created_from):
                continue
            values = tuple(_plain(v) for v in row(kind, obj))
            record = ExportRecord(obj.id, str(_plain(obj.status)), obj.created_at, copy.deepcopy(values), home)
            rows.append(((_exports_ts(obj.created_at), obj.id), record))
        listing = f"export_source:{kind.value}:{created_from}:{window_end}"
        return self._page(listing, rows, limit=limit, cursor=cursor)

    def export_markers(self, records: Sequence[ExportRecord], exporters: Sequence[str]) -> dict[tuple[str, str], ExportMarker]:
        found: dict[tuple[str, str], ExportMarker] = {}
        for r in records:
            for name in exporters:
                stored = self._aggregates.get((ExportMarker, (r.home, name, r.id)))
                if stored is not None:
                    found[(name, r.id)] = stored[0]
        return found

    def write_export_markers(self, markers: Sequence[ExportMarker]) -> None:
        for m in markers:
            self._aggregates[(ExportMarker, (m.home, m.exporter, m.record_id))] = (m, 1)

    def save_export_run(self, run: ExportRun) -> int:
        key = (ExportRun, (run.id,))
        current = self._aggregates.get(key)
        if current is None or current[1] != run.version:
            raise Conflict(f"export {run.id} was changed by someone else")
        self._aggregates[key] = (replace(copy.deepcopy(run), version=run.version + 1), run.version + 1)
        return run.version + 1

    def release_exporter_lock(self, exporter: str, run_id: str) -> bool:
        key = (ExporterLock, (exporter,))
        current = self._aggregates.get(key)
        if current is None or current[0].run_id != run_id:
            return False
        del self._aggregates[key]
        return True

    def _export_run(self, key: tuple[str, ...]) -> ExportRun | None:
        stored = self._aggregates.get((ExportRun, key))
        return None if stored is None else replace(copy.deepcopy(stored[0]), version=stored[1])

    def export_run_with_history(self, run_id: str) -> ExportRunWithHistory | None:
        run = self._export_run((run_id,))
        if run is None:
            return None
        events = sorted(self._events.get(("export", run_id), {}).values(), key=lambda e: (e.at, e.id))
        return ExportRunWithHistory(run, [copy.deepcopy(e) for e in events])

    def export_runs(self, *, limit: int, cursor: str | None = None) -> Page[ExportRun]:
        rows = [
            ((_exports_ts(v.requested_at), v.id), run)
            for (k, key), (v, _) in self._aggregates.items()
            if k is ExportRun and (run := self._export_run(key)) is not None
        ]
        return self._page("export_runs", rows, limit=limit, cursor=cursor, reverse=True)
