"""The exceptions area's part of the storage port (`services.ports.Store` inherits `ExceptionsReads`).

The aggregate is the domain's `ExceptionRecord` (key: its id), saved under its version like any other;
its audit events are `Record`s with subject type "exception" (and, for staff actions, the same event
on the subject's own history). A saved record sits in the ranked queue while it is active (open,
acknowledged, snoozed) and in the sweep's due index while something will happen to it by time
(`domain.exceptions.next_due`): the store keeps both from the record, nothing above it names an index.

A subject's `Deadline` (a time by which something must have happened to it) is the other kind the
sweep handles: key its id, `<kind>:<subject type>:<subject id>`. Its version is an opaque token of its due time and
whether it fired, so a move or a retirement by someone else is a `Conflict`; unlike other kinds, it is
not "the version saved + 1" after a move. The sweep retires a passed deadline by saving it fired
(`fired_at`, kept on its subject until `kept_until`, out of the due index).

The reads answer records whose own `version` field is the version read (the domain class carries it),
and deadlines with theirs beside them, so this module needs nothing of `services.ports`, which imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeAlias

from ..domain.audit import AuditEvent
from ..domain.exceptions import ExceptionRecord
from .ports_common import Page
from .ports_outbound import WebhookDelivery


@dataclass(frozen=True)
class ExceptionWithHistory:
    """An exception record as read, with every audit event recorded about it, oldest first."""

    record: ExceptionRecord
    events: list[AuditEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Deadline:
    """A subject's deadline of a kind (an exception kind it raises when it passes unmet, or an action
    kind: `services.deadlines.ACTION_KINDS`). In the sweep's due index until it is met (deleted) or it
    passes (`fired_at` set: retired, kept on the subject until `kept_until`, whole seconds)."""

    kind: str
    subject_type: str
    subject_id: str
    due_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    fired_at: datetime | None = None
    kept_until: datetime | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.subject_type}:{self.subject_id}"


@dataclass(frozen=True)
class DueDeadline:
    """A deadline due, with the version a retirement of it must name."""

    deadline: Deadline
    version: int


@dataclass(frozen=True)
class DueElsewhere:
    """A due entry the store does not know, as it read it (`what`: "unknown"); the sweep counts it read
    and leaves it."""

    what: str
    item: Any


Due: TypeAlias = ExceptionRecord | DueDeadline | WebhookDelivery | DueElsewhere

Cell: TypeAlias = tuple[str, str, str]  # (status, severity, kind) of a record in the queue


@dataclass(frozen=True)
class CountExceptions:
    """A change of a commit: the queue's counters moved by one exception's change, +1 in the cell
    (status, severity, kind) it enters and -1 in the one it leaves. Written in the record's own
    transaction, so the counts move exactly when the record does."""

    deltas: dict[Cell, int]


@dataclass(frozen=True)
class QueueSlice:
    """Records of the ranked queue read in rank order (severity rank, opened_at, id), and whether
    the index holds more after the last one read (`more`; when in doubt, True)."""

    records: list[ExceptionRecord]
    more: bool


class ExceptionsReads(Protocol):
    """The named reads of the exceptions queue."""

    def open_exceptions(self) -> list[ExceptionRecord]:
        """Every record in the queue (open, acknowledged, snoozed: not pending, not resolved), by
        severity rank (most severe first), then opened_at, then id; all of them, in one listing (on
        DynamoDB one Query of the sparse queue index, more pages only past 1 MB). Each record's
        `version` is the version read."""
        ...

    def open_exceptions_after(self, after: tuple[int, datetime, str] | None, *, from_rank: int = 0, limit: int) -> QueueSlice:
        """Up to `limit` records of the queue (open, acknowledged, snoozed) in rank order, strictly
        after the rank key `after` (None: from the start) and from severity rank `from_rank` on: on
        DynamoDB one Query of the sparse queue index reading at most `limit` items. Each record's
        `version` is the version read."""
        ...

    def open_exceptions_head(self, *, limit: int) -> tuple[dict[Cell, int], QueueSlice]:
        """The queue's counters (as `open_exception_counts`) and its first `limit` records (as
        `open_exceptions_after(None, limit=limit)`): on DynamoDB one Query, the counters item sorting
        first in the queue index."""
        ...

    def open_exception_counts(self) -> dict[Cell, int]:
        """How many records of the queue sit in each (status, severity, kind) cell (cells at zero may
        be absent): on DynamoDB one GetItem of the counters item, whose size is bounded by the number of
        cells (statuses x severities x kinds), never by the number of records."""
        ...

    def reset_exception_counts(self, cells: dict[Cell, int]) -> None:
        """Overwrite the queue's counters with `cells` (every other cell to zero): a recount's write,
        outside any record's transaction (on DynamoDB one GetItem and one update)."""
        ...

    def resolved_exceptions(self, *, limit: int, cursor: str | None = None) -> Page[ExceptionRecord]:
        """Resolved records, newest resolution first, one page of up to `limit` (on DynamoDB one Query
        of the sparse resolved index); `cursor` from the previous page. A record raised again leaves
        the listing (its id is reused by the live one). Each record's `version` is the version read."""
        ...

    def exception_with_history(self, exc_id: str) -> ExceptionWithHistory | None:
        """The record (its `version`: the one read) and its history (its own audit events, oldest first), or None when there is no
        such record: one read (on DynamoDB one Query of its partition)."""
        ...

    def due_entries(self, at: datetime, *, shards: int) -> list[Due]:
        """Everything due by `at` (inclusive): exception records whose next step by time
        (`domain.exceptions.next_due`) has come, deadlines not yet fired whose due time has come, and
        webhook deliveries whose `next_attempt_at` has come (each with its `version`: the one read).
        No order is promised. Reads only what is due, never the table: on DynamoDB one Query per shard
        of the due index (`shards`, from the settings), more pages only when more is due."""
        ...

    def due_page(self, at: datetime, *, shard: int, shards: int, limit: int, cursor: str | None = None) -> Page[Due]:
        """Up to `limit` entries of one shard (of `shards`) of the due index that are due by `at`,
        earliest first, after `cursor` (opaque, from the previous page of that shard and `at`; None:
        from the start); the page's cursor is None once the shard holds nothing more due. On DynamoDB
        exactly one Query reading at most `limit` items. A handled entry leaves the due range, so a
        cursor stays valid while the entries before it are handled (it points past them)."""
        ...
