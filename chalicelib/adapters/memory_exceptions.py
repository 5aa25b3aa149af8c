"""The exceptions area's reads in memory (`services.ports_exceptions.ExceptionsReads`), answered from
the stored records, deadlines and recorded events. Both kinds are keyed by their id (the store's
default key)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..config import settings
from ..domain import exceptions as rules
from ..domain.audit import AuditEvent
from ..domain.exceptions import ExceptionRecord
from ..services.ports_common import Page
from ..services.ports_exceptions import Cell, CountExceptions, Deadline, Due, DueDeadline, ExceptionWithHistory, QueueSlice
from ..services.ports_outbound import WebhookDelivery
from . import cursors

T = TypeVar("T")


class ExceptionsMemory:
    """Mixed into `MemoryStore`, whose dicts it reads."""

    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]
    _events: dict[tuple[str, str], dict[str, AuditEvent]]

    if TYPE_CHECKING:

        @staticmethod
        def _page(
            listing: str, rows: Iterable[tuple[tuple[str, ...], T]], *, limit: int, cursor: str | None, reverse: bool = False
        ) -> Page[T]: ...

    def _exception_records(self) -> list[ExceptionRecord]:
        # The stored object's own `version` is what its saver had read: the store's version is the truth.
        return [replace(copy.deepcopy(v), version=n) for (kind, _), (v, n) in self._aggregates.items() if kind is ExceptionRecord]

    def open_exceptions(self) -> list[ExceptionRecord]:
        return sorted((r for r in self._exception_records() if r.status in rules.ACTIVE), key=rules.rank_key)

    def open_exceptions_after(self, after: tuple[int, datetime, str] | None, *, from_rank: int = 0, limit: int) -> QueueSlice:
        ranked = [
            r
            for r in self.open_exceptions()
            if rules.SEVERITY_RANK[r.severity] >= from_rank and (after is None or rules.rank_key(r) > after)
        ]
        return QueueSlice(ranked[:limit], len(ranked) > limit)

    def open_exceptions_head(self, *, limit: int) -> tuple[dict[Cell, int], QueueSlice]:
        return self.open_exception_counts(), self.open_exceptions_after(None, limit=limit)

    def open_exception_counts(self) -> dict[Cell, int]:
        # As on DynamoDB: what the commits' `CountExceptions` added up, not a count of the records.
        return {cell: n for cell, n in getattr(self, "_exception_counts", {}).items() if n}

    def reset_exception_counts(self, cells: dict[Cell, int]) -> None:
        self.__dict__["_exception_counts"] = dict(cells)

    def _apply_exception_counts(self, change: CountExceptions) -> None:
        counts: dict[Cell, int] = self.__dict__.setdefault("_exception_counts", {})
        for cell, delta in change.deltas.items():
            counts[cell] = counts.get(cell, 0) + delta

    def resolved_exceptions(self, *, limit: int, cursor: str | None = None) -> Page[ExceptionRecord]:
        rows = [
            ((r.resolved_at.astimezone(UTC).isoformat(), r.id), r)
            for r in self._exception_records()
            if r.status is rules.Status.RESOLVED and r.resolved_at is not None
        ]
        return self._page("exceptions/resolved", rows, limit=limit, cursor=cursor, reverse=True)

    def exception_with_history(self, exc_id: str) -> ExceptionWithHistory | None:
        found = self._aggregates.get((ExceptionRecord, (exc_id,)))
        if found is None:
            return None
        events = sorted(self._events.get(("exception", exc_id), {}).values(), key=lambda e: (e.at, e.id))
        return ExceptionWithHistory(replace(copy.deepcopy(found[0]), version=found[1]), [copy.deepcopy(e) for e in events])

    def due_entries(self, at: datetime, *, shards: int) -> list[Due]:
        return [entry for _, _, entry in self._due_keyed(at)]

    def _due_keyed(self, at: datetime) -> list[tuple[datetime, str, Due]]:
        """Everything due by `at` with its due time and id, earliest first (then by id)."""
        policy = settings().exception_policy()
        found: list[tuple[datetime, str, Due]] = []
        for record in self._exception_records():
            due = rules.next_due(record, policy)
            if due is not None and due <= at:
                found.append((due, record.id, record))
        for (kind, _), (value, version) in self._aggregates.items():
            if kind is Deadline and value.fired_at is None and value.due_at <= at:
                found.append((value.due_at, value.id, DueDeadline(copy.deepcopy(value), version)))
            elif kind is WebhookDelivery and value.next_attempt_at is not None and value.next_attempt_at <= at:
                found.append((value.next_attempt_at, value.id, replace(copy.deepcopy(value), version=version)))
        return sorted(found, key=lambda f: (f[0], f[1]))

    def due_page(self, at: datetime, *, shard: int, shards: int, limit: int, cursor: str | None = None) -> Page[Due]:
        after = tuple(cursors.decode(cursor)) if cursor else None
        mine: list[tuple[str, str, Due]] = []
        for due, entry_id, entry in self._due_keyed(at):
            position = (due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"), entry_id)
            if _due_shard(entry_id, shards) == shard and (after is None or position > after):
                mine.append((*position, entry))
        page = mine[:limit]
        more = len(mine) > limit
        return Page([entry for _, _, entry in page], cursors.encode(list(page[-1][:2])) if more else None)


def _due_shard(item_id: str, shards: int) -> int:
    """The due index's shard of an entry, as the DynamoDB store spreads them (stable per id)."""
    return int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % max(1, shards)
