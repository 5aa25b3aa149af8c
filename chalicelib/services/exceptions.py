"""Exceptions: problems brought to staff (the rules are in domain/exceptions.py), on the storage port.

There is at most ONE live record per (kind, subject): its id is derived from them, so a
repeat bumps `count` and `last_seen` instead of adding noise. Every change is one
transaction (`uow.store().commit`): the record under the version read, its audit event and, for
staff actions, the same event on the subject's own history.

While it matters the record sits in the ranked queue (`GET /staff/exceptions` reads one page of it,
`Store.open_exceptions_after`) and, while something will happen to it by time (grace end, snooze end,
next escalation), in the sweep's due index: the store keeps both from the record.

Services that commit an exception with their own changes take them as port changes
(`opening_changes`, `resolution_changes`, `with_changes=`), so the record and what raised or settled
it are one transaction.

The queue's counts (per status, severity and kind, hence per team) are counters moved in the same
transaction as the record (`CountExceptions`, +1 in the cell it enters, -1 in the one it leaves), so a
view of the queue reads one page of records and the counters, never the whole set."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..config import settings
from ..domain import exceptions as rules
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, InvalidTransition, NotFound, RuleViolation
from ..domain.exceptions import ExceptionRecord, Owner, QueueFilter, RankedQueue, Severity, Status
from ..domain.permissions import STAFF_ROLES, SYSTEM, Principal
from . import ports, uow
from .clock import new_id, now
from .conflicts import stale_version
from .guard import require
from .ports import Record, Save
from .ports_common import Page
from .ports_exceptions import Cell, CountExceptions
from .retry import on_conflict

RETRIES = 5
SEVERITY_RANK = {s.value: r for s, r in rules.SEVERITY_RANK.items()}
STAFF_ACTORS = STAFF_ROLES

__all__ = ["ExceptionRecord", "exception_id", "get", "opening_changes", "raise_or_bump", "resolve", "open_records", "queue"]


def exception_id(kind: str, subject_type: str, subject_id: str) -> str:
    digest = hashlib.sha256(f"{kind}\x00{subject_type}\x00{subject_id}".encode()).hexdigest()[:24]
    return f"exc_{digest}"


def event_data(record: ExceptionRecord, **extra: Any) -> dict[str, Any]:
    """What every exception event carries (notification rules and webhooks read it)."""
    return {
        "exception_id": record.id,
        "kind": record.kind,
        "title": record.title,
        "severity": record.severity.value,
        "owner": record.owner.value,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "count": record.count,
        "level": record.level,
        "assignee": record.assignee,
        "supplier_id": record.supplier_id,
        "campaign_id": record.campaign_id,
        "details": record.details,
        **extra,
    }


# ---------------------------------------------------------------- one change, retried on a lost race


@dataclass
class Change:
    """What a mutation produced: the event type, and whether the subject's history gets it too."""

    type: str
    mirror: bool = False
    note: str | None = None
    data: dict[str, Any] | None = None


def _load(exc_id: str) -> ExceptionRecord | None:
    found = uow.store().load(ExceptionRecord, exc_id)
    if found is None:
        return None
    record = found.value
    record.version = found.version  # the version read is the store's, whatever the object carried
    return record


def cell(record: ExceptionRecord) -> Cell | None:
    """The queue counters' cell a record counts in (None: not in the queue)."""
    return (record.status.value, record.severity.value, record.kind) if record.status in rules.ACTIVE else None


def count_changes(before: Cell | None, after: Cell | None) -> list[ports.Change]:
    """The counters a record's change moves: out of the cell it was counted in, into its new one."""
    if before == after:
        return []
    deltas: dict[Cell, int] = {}
    if before is not None:
        deltas[before] = -1
    if after is not None:
        deltas[after] = deltas.get(after, 0) + 1
    return [CountExceptions(deltas)]


def changes_of(
    record: ExceptionRecord,
    change: Change,
    actor: Principal,
    from_status: str | None,
    at: datetime,
    *,
    counted: Cell | None,
) -> list[ports.Change]:
    """The record (new when its `version` is None, else under that version), its audit event (and
    the subject's mirror) and the queue's counters it moves (`counted`: the cell the record was counted
    in as read), as port changes: to commit alone or inside another service's transaction."""
    event = AuditEvent(
        id=new_id("evt"),
        subject_type="exception",
        subject_id=record.id,
        type=change.type,
        actor=actor,
        at=at,
        from_status=from_status,
        to_status=record.status.value,
        internal_note=change.note,
        data=event_data(record, **(change.data or {})),
    )
    found: list[ports.Change] = [Save(record, record.version), Record(event), *count_changes(counted, cell(record))]
    if change.mirror:
        mirror = AuditEvent(
            id=new_id("evt"),
            subject_type=record.subject_type,
            subject_id=record.subject_id,
            type=change.type,
            actor=actor,
            at=at,
            internal_note=change.note,
            data={**event_data(record, **(change.data or {})), "mirror": True},
        )
        found.append(Record(mirror))
    return found


def _commit(
    record: ExceptionRecord,
    change: Change,
    actor: Principal,
    from_status: str | None,
    at: datetime,
    with_changes: Sequence[ports.Change] = (),
    *,
    counted: Cell | None,
) -> None:
    """One transaction: the record's changes and the caller's."""
    changes = [*changes_of(record, change, actor, from_status, at, counted=counted), *with_changes]
    uow.store().commit(changes, what=f"exception {record.id}", at=at)


def _stale(exc_id: str, expected_version: int) -> Conflict:
    """The 409 for a stale `expected_version`, naming the latest change: one more read, on this path only."""
    found = uow.store().exception_with_history(exc_id)
    current = found.record.version if found else None
    return stale_version(f"exception {exc_id}", current, expected_version, found.events[-1] if found and found.events else None)


def change(
    exc_id: str,
    mutate: Callable[[ExceptionRecord, datetime], Change | None],
    *,
    actor: Principal = SYSTEM,
    retries: int = RETRIES,
    expected_version: int | None = None,
    loaded: ExceptionRecord | None = None,
    with_changes: Sequence[ports.Change] = (),
) -> ExceptionRecord | None:
    """Load, mutate, commit under the version read; on a lost race load again (up to `retries`).
    `mutate` returns None when there is nothing to do (then nothing is written). `loaded`: the record
    as already read (its `version` set; e.g. from the sweep's due index), used instead of the first
    read. `with_changes` (port changes) go in the same transaction, so they happen exactly when the
    change does."""
    first = loaded

    def attempt() -> ExceptionRecord:
        nonlocal first
        record = first if first is not None else _load(exc_id)
        first = None  # a lost race reads again
        if record is None:
            raise NotFound(f"exception {exc_id} not found")
        if expected_version is not None and record.version != expected_version:
            raise _stale(exc_id, expected_version)
        from_status, counted = record.status.value, cell(record)
        at = now()
        result = mutate(record, at)
        if result is None:
            return record
        _commit(record, result, actor, from_status, at, with_changes, counted=counted)
        record.version = (record.version or 0) + 1
        return record

    return on_conflict(attempt, retries=retries, expected_version=expected_version, what=f"exception {exc_id}")


# ---------------------------------------------------------------- raised by the flows


def get(exc_id: str) -> ExceptionRecord | None:
    return _load(exc_id)


def raise_or_bump(
    kind: str,
    subject_type: str,
    subject_id: str,
    details: dict[str, Any] | None = None,
    *,
    severity: str | None = None,
    with_changes: Sequence[ports.Change] = (),
    retries: int = RETRIES,
) -> ExceptionRecord:
    """Open the (kind, subject) exception — pending first when its kind has a grace period — or bump
    the live one. `severity` raises it above its kind's (e.g. an escalated stage); it never lowers it.
    `with_changes` (port changes, e.g. the sweep retiring the deadline that raised it) go in the same
    transaction."""
    rules.kind(kind)
    wanted = Severity(severity) if severity else None
    exc_id = exception_id(kind, subject_type, subject_id)
    policy = settings().exception_policy()

    def attempt() -> ExceptionRecord:
        current = _load(exc_id)
        counted = cell(current) if current is not None else None  # before `bump` changes it in place
        at = now()
        if current is not None and current.status in rules.LIVE:
            record = rules.bump(current, at, details or {}, wanted)
            change_ = Change("exception.repeated")
            from_status: str | None = current.status.value
        else:
            record = rules.new_record(exc_id, kind, subject_type, subject_id, at, policy, details or {}, wanted)
            if wanted is not None and rules.SEVERITY_RANK[policy.severity(kind)] < rules.SEVERITY_RANK[wanted]:
                record.severity = policy.severity(kind)  # never below its kind's
            record.version = current.version if current is not None else None
            change_ = Change("exception.raised" if record.status is Status.OPEN else "exception.pending")
            from_status = current.status.value if current is not None else None
        _commit(record, change_, SYSTEM, from_status, at, with_changes, counted=counted)
        return record

    return on_conflict(attempt, retries=retries, what=f"exception {exc_id}")


def opening_changes(kind: str, subject_type: str, subject_id: str, details: dict[str, Any], at: datetime) -> list[ports.Change]:
    """Raise the (kind, subject) exception inside the transaction that creates its subject: no read,
    since a subject written now has no exception yet (the record's create-only save guarantees it)."""
    rules.kind(kind)
    record = rules.new_record(
        exception_id(kind, subject_type, subject_id), kind, subject_type, subject_id, at, settings().exception_policy(), details
    )
    change_ = Change("exception.raised" if record.status is Status.OPEN else "exception.pending")
    return changes_of(record, change_, SYSTEM, None, at, counted=None)


def resolution_changes(record: ExceptionRecord | None, *, note: str, at: datetime) -> list[ports.Change]:
    """Resolve a live exception inside the caller's own transaction, under the version the caller read
    (`record`, its `version` set): what raised it is settled by that very change, so the two can never
    disagree. Nothing to change when there is no record or it is no longer live."""
    if record is None or record.status not in rules.LIVE:
        return []
    was, counted = record.status, cell(record)
    rules.resolve(record, at, note)
    change_ = Change("exception.cleared" if was is Status.PENDING else "exception.resolved", note=note, data={"automatic": True})
    return changes_of(record, change_, SYSTEM, was.value, at, counted=counted)


def resolve(
    kind: str,
    subject_type: str,
    subject_id: str,
    *,
    note: str,
    with_changes: Sequence[ports.Change] = (),
) -> bool:
    """The condition cleared: close the live (kind, subject) exception (a pending one never shows).
    False when none is live; one read when there is nothing to do. `with_changes` (port changes) are
    committed with the resolution only (e.g. the follow-up it triggers, so two resolvers cannot both
    trigger it)."""
    exc_id = exception_id(kind, subject_type, subject_id)

    cleared: list[bool] = []

    def clear(record: ExceptionRecord, at: datetime) -> Change | None:
        cleared.clear()
        if record.status not in rules.LIVE:
            return None
        was = record.status
        rules.resolve(record, at, note)
        cleared.append(True)
        return Change("exception.cleared" if was is Status.PENDING else "exception.resolved", note=note, data={"automatic": True})

    try:
        change(exc_id, clear, with_changes=with_changes)
    except NotFound:
        return False
    return bool(cleared)


# ---------------------------------------------------------------- staff actions


def _staff(actor: Principal) -> None:
    require(actor, STAFF_ACTORS, "handle exceptions")


def _who(actor: Principal) -> str:
    return actor.email or actor.sub


def acknowledge(
    actor: Principal, exc_id: str, *, note: str | None = None, expected_version: int | None = None
) -> ExceptionRecord:
    _staff(actor)

    def ack(record: ExceptionRecord, at: datetime) -> Change:
        rules.acknowledge(record, _who(actor))
        return Change("exception.acknowledged", mirror=True, note=note)

    return _must(change(exc_id, ack, actor=actor, expected_version=expected_version))


def assign(
    actor: Principal, exc_id: str, assignee: str | None, *, note: str | None = None, expected_version: int | None = None
) -> ExceptionRecord:
    _staff(actor)

    def to(record: ExceptionRecord, at: datetime) -> Change:
        previous = record.assignee
        rules.assign(record, assignee.lower() if assignee else None)
        return Change("exception.assigned", mirror=True, note=note, data={"previous_assignee": previous})

    return _must(change(exc_id, to, actor=actor, expected_version=expected_version))


def snooze(
    actor: Principal, exc_id: str, until: datetime, *, note: str | None = None, expected_version: int | None = None
) -> ExceptionRecord:
    _staff(actor)

    def later(record: ExceptionRecord, at: datetime) -> Change:
        rules.snooze(record, until, at)
        return Change("exception.snoozed", mirror=True, note=note, data={"until": until.isoformat()})

    return _must(change(exc_id, later, actor=actor, expected_version=expected_version))


def resolve_by_staff(actor: Principal, exc_id: str, *, note: str, expected_version: int | None = None) -> ExceptionRecord:
    _staff(actor)

    def done(record: ExceptionRecord, at: datetime) -> Change:
        rules.check(record, rules.Action.RESOLVE)  # staff resolve what they can see, not a pending blip
        rules.resolve(record, at, note)
        return Change("exception.resolved", mirror=True, note=note, data={"automatic": False})

    return _must(change(exc_id, done, actor=actor, expected_version=expected_version))


BULK_ACTIONS = ("acknowledge", "assign", "snooze")
BULK_MAX = 50


@dataclass(frozen=True)
class BulkOutcome:
    """What one id of a bulk action came to: `ok` (with the version written), `conflict` (someone changed
    it since `expected_version`), `not_found`, or `refused` (its status or a rule does not allow
    it, e.g. acknowledging a snoozed one; `code` names why)."""

    id: str
    outcome: Literal["ok", "conflict", "not_found", "refused"]
    version: int | None = None
    code: str | None = None
    message: str | None = None


def bulk(
    actor: Principal,
    action: str,
    ids: Sequence[str],
    *,
    expected_versions: dict[str, int] | None = None,
    assignee: str | None = None,
    until: datetime | None = None,
    note: str | None = None,
) -> list[BulkOutcome]:
    """The same staff action on several exceptions, each its own versioned change through the single
    actions above: one refused or lost race does not stop the others (the caller reads each outcome)."""
    _staff(actor)
    if action not in BULK_ACTIONS:
        raise RuleViolation("invalid_bulk_action", f"bulk action must be one of {', '.join(BULK_ACTIONS)}")
    if action == "snooze" and until is None:
        raise RuleViolation("until_required", "a bulk snooze needs `until`")
    versions = expected_versions or {}
    outcomes: list[BulkOutcome] = []
    for exc_id in dict.fromkeys(ids):  # a repeated id is acted on once
        expected = versions.get(exc_id)
        try:
            if action == "acknowledge":
                record = acknowledge(actor, exc_id, note=note, expected_version=expected)
            elif action == "assign":
                record = assign(actor, exc_id, assignee, note=note, expected_version=expected)
            else:
                assert until is not None
                record = snooze(actor, exc_id, until, note=note, expected_version=expected)
        except NotFound as exc:
            outcomes.append(BulkOutcome(exc_id, "not_found", message=exc.message))
        except Conflict as exc:
            outcomes.append(BulkOutcome(exc_id, "conflict", message=exc.message))
        except (RuleViolation, InvalidTransition) as exc:
            outcomes.append(BulkOutcome(exc_id, "refused", code=exc.code, message=exc.message))
        else:
            outcomes.append(BulkOutcome(exc_id, "ok", version=record.version))
    return outcomes


def _must(record: ExceptionRecord | None) -> ExceptionRecord:
    assert record is not None
    return record


# ---------------------------------------------------------------- reads


def open_records() -> list[ExceptionRecord]:
    """Every record in the queue (open, acknowledged, snoozed): `Store.open_exceptions`, one read."""
    return uow.store().open_exceptions()


def queue(flt: QueueFilter) -> RankedQueue:
    return rules.rank(open_records(), flt)


READ_CAP = 500  # records one view of the queue reads at most, whatever is open


@dataclass(frozen=True)
class QueueCounts:
    """The queue's counts for a filter: `total` matching every filter, `by_kind` over every filter but
    the kind, `by_severity` over every filter but the severity (the facets); `complete` False when they
    count only the records read (a filter the counters do not keep, and more records than `READ_CAP`)."""

    total: int
    by_kind: dict[str, int]
    by_severity: dict[str, int]
    complete: bool = True


@dataclass(frozen=True)
class QueuePage:
    """One page of the ranked queue: `items` (at most the limit), `next_after` (the rank key to read
    on from, None at the end), the counts, and `truncated` when the read stopped at `READ_CAP`
    before the page was full or the counts complete."""

    items: list[ExceptionRecord]
    next_after: tuple[int, datetime, str] | None
    counts: QueueCounts
    truncated: bool = False


def _counted(flt: QueueFilter, cells: dict[Cell, int]) -> QueueCounts:
    """The counts from the counters' cells: exact for the filters the cells keep (status, severity, kind,
    hence the team that owns the kind)."""
    by_kind: dict[str, int] = {}
    by_severity = {s.value: 0 for s in Severity}
    total = 0
    for (status, severity, kind), n in cells.items():
        if n <= 0 or Status(status) not in flt.statuses or not flt.owns(kind):
            continue
        sev_ok = not flt.severities or Severity(severity) in flt.severities
        kind_ok = not flt.kinds or kind in flt.kinds
        if sev_ok:
            by_kind[kind] = by_kind.get(kind, 0) + n
        if kind_ok:
            by_severity[severity] = by_severity.get(severity, 0) + n
        if sev_ok and kind_ok:
            total += n
    return QueueCounts(total, dict(sorted(by_kind.items())), by_severity)


def recount() -> dict[Cell, int]:
    """Count the queue's records and overwrite the counters with the result: once on a table whose
    records predate the counters (a deployment), or to repair them. Reads the whole queue, and a
    change committed between its read and its write is lost from the counts: run it while nothing
    else changes exceptions."""
    cells: dict[Cell, int] = {}
    for record in uow.store().open_exceptions():
        found = cell(record)
        if found is not None:
            cells[found] = cells.get(found, 0) + 1
    uow.store().reset_exception_counts(cells)
    return cells


def counts(flt: QueueFilter) -> QueueCounts:
    """The counts for filters on status, severity and kind: one read of the counters (on DynamoDB one
    GetItem of an item whose size follows the number of cells, not the number of records)."""
    return _counted(flt, uow.store().open_exception_counts())


def _indexed(flt: QueueFilter) -> bool:
    """Whether the counters answer the filter's counts (assignee, supplier and campaign are not kept; a
    team is its kinds)."""
    return not (flt.supplier_id or flt.campaign_id or flt.assignee)


def _team_window(flt: QueueFilter, cells: dict[Cell, int]) -> tuple[int, int, int] | None:
    """Where a team's exceptions lie in the queue index, from the counters: the first and last severity
    rank holding one, and how many index entries there are in that span per one of the team's (so a
    slice of the index read for a page of the team's is that many times a page). None: it has none."""
    ours: list[int] = []
    everyone: list[tuple[int, int]] = []
    for (status, severity, kind), n in cells.items():
        if n <= 0:
            continue
        rank = rules.SEVERITY_RANK[Severity(severity)]
        everyone.append((rank, n))
        if Status(status) in flt.statuses and flt.owns(kind) and (not flt.severities or Severity(severity) in flt.severities):
            ours += [rank] * n
    if not ours:
        return None
    low, high = min(ours), max(ours)
    span = sum(n for rank, n in everyone if low <= rank <= high)
    return low, high, -(-span // len(ours))


def page(flt: QueueFilter, *, limit: int, after: tuple[int, datetime, str] | None = None) -> QueuePage:
    """One page of the queue in rank order (severity, then age), after the rank key `after`.

    Filters on status, severity, kind and team (the kinds it owns): the page is read from the queue
    index from `after` (from the first selected severity on), `limit` + 1 records a read, until
    `limit` + 1 match, the index ends, or `READ_CAP` records were read (`truncated`; then the page
    may be short and `next_after` is the last record read); the counts come from the counters, read
    with the first page when it starts at the head of the index (one Query in all), else one GetItem
    more. A team's page reads the counters first (one GetItem): they say which severities hold its
    exceptions and how sparse they are there, so the index is read from the first of those ranks in
    slices sized to fill a page in about one Query. With an assignee, supplier or campaign filter,
    one read of up to `READ_CAP` records from the start of the index serves both the page and the
    counts (complete when the index ended within the cap)."""
    store = uow.store()
    if not _indexed(flt):
        found = store.open_exceptions_after(None, limit=READ_CAP)
        ranked = rules.rank(found.records, flt)
        tally = QueueCounts(ranked.total, ranked.by_kind, ranked.by_severity, complete=not found.more)
        last_read = rules.rank_key(found.records[-1]) if found.records else None
        shown = [r for r in ranked.items if after is None or rules.rank_key(r) > after]
        if found.more and len(shown) <= limit and last_read is not None:
            # A later page past what the counts read: read on from there (one more bounded read).
            start = max(after, last_read) if after is not None else last_read
            found = store.open_exceptions_after(start, limit=READ_CAP)
            shown += [r for r in found.records if flt.matches(r)]
            last_read = rules.rank_key(found.records[-1]) if found.records else last_read
        items = shown[:limit]
        truncated = found.more and len(shown) <= limit
        nxt = rules.rank_key(items[-1]) if len(shown) > limit else (last_read if truncated else None)
        return QueuePage(items, nxt, tally, truncated or not tally.complete)
    ranks = sorted(rules.SEVERITY_RANK[s] for s in flt.severities) if flt.severities else [0, max(rules.SEVERITY_RANK.values())]
    matched: list[ExceptionRecord] = []
    read, cursor, more, last = 0, after, True, None
    cells: dict[Cell, int] | None = None
    step = limit + 1
    if flt.team is not None:
        cells = store.open_exception_counts()
        window = _team_window(flt, cells)
        if window is None:
            return QueuePage([], None, _counted(flt, cells))
        ranks, step = [window[0], window[1]], min(READ_CAP, (limit + 1) * window[2])
    while more and len(matched) <= limit and read < READ_CAP:
        want = min(step, READ_CAP - read)
        if cells is None and cursor is None and ranks[0] == 0:
            cells, found = store.open_exceptions_head(limit=want)  # the first page and the counters: one read
        else:
            found = store.open_exceptions_after(cursor, from_rank=ranks[0], limit=want)
        read += len(found.records)
        more = found.more and bool(found.records)
        for r in found.records:
            last = cursor = rules.rank_key(r)
            if last[0] > ranks[-1]:  # past the least severe rank asked for: nothing further can match
                more = False
                break
            if flt.matches(r):
                matched.append(r)
    truncated = more and len(matched) <= limit
    items = matched[:limit]
    following = rules.rank_key(items[-1]) if len(matched) > limit else (last if truncated else None)
    tally = _counted(flt, cells) if cells is not None else counts(flt)
    return QueuePage(items, following, tally, truncated)


def resolved(flt: QueueFilter, *, limit: int, cursor: str | None = None) -> Page[ExceptionRecord]:
    """One page of resolved exceptions, newest first (`Store.resolved_exceptions`, one read); the
    filter's other criteria narrow that page, so a page may hold fewer than `limit`."""
    page = uow.store().resolved_exceptions(limit=limit, cursor=cursor)
    return Page([r for r in page.items if flt.matches(r)], page.cursor)


@dataclass
class ExceptionDetail:
    record: ExceptionRecord
    events: list[AuditEvent]


def detail(exc_id: str) -> ExceptionDetail:
    """The record with its history: `Store.exception_with_history`, one read."""
    found = uow.store().exception_with_history(exc_id)
    if found is None:
        raise NotFound(f"exception {exc_id} not found")
    return ExceptionDetail(found.record, found.events)


def owner_of(kind: str) -> Owner:
    return rules.kind(kind).owner
