"""Exceptions: problems brought to staff (the rules are in domain/exceptions.py).

There is at most ONE live record per (kind, subject): its id is derived from them, so a
repeat bumps `count` and `last_seen` instead of adding noise. Every change is one
transaction: the record (version condition), its audit event and, for staff actions, the
same event on the subject's own history.

Indexes the record sits in while it matters:
- the ranked queue, sparse GSI3 `EXCEPTIONS#OPEN` / `<severity rank>#<opened_at>#<id>`, while
  open, acknowledged or snoozed (`GET /staff/exceptions` is one Query on it);
- the sweep's due index, sparse GSI4 `DUE#<shard>` / `<due_at>#<id>`, while something will
  happen by time (grace end, snooze end, next escalation)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import AuditEventItem, ExceptionItem, Item
from ..config import settings
from ..domain import exceptions as rules
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict, NotFound
from ..domain.exceptions import ExceptionRecord, Owner, QueueFilter, RankedQueue, Severity, Status
from ..domain.permissions import STAFF_ROLES, SYSTEM, Principal
from .clock import new_id, now
from .guard import require
from .retry import on_conflict

RETRIES = 5
SEVERITY_RANK = {s.value: r for s, r in rules.SEVERITY_RANK.items()}
STAFF_ACTORS = STAFF_ROLES

__all__ = ["ExceptionRecord", "exception_id", "get", "opening_writes", "raise_or_bump", "resolve", "open_records", "queue"]


def exception_id(kind: str, subject_type: str, subject_id: str) -> str:
    digest = hashlib.sha256(f"{kind}\x00{subject_type}\x00{subject_id}".encode()).hexdigest()[:24]
    return f"exc_{digest}"


# ---------------------------------------------------------------- mapping


def plain(details: Any) -> dict[str, Any]:
    """A map attribute as a plain dict."""
    return dict(details.as_dict()) if details else {}


def record_from_item(item: ExceptionItem) -> ExceptionRecord:
    return ExceptionRecord(
        id=item.id,
        kind=item.kind_name,
        subject_type=item.subject_type,
        subject_id=item.subject_id,
        severity=Severity(item.severity),
        status=Status(item.status),
        count=int(item.count),
        opened_at=item.opened_at,
        last_seen=item.last_seen,
        details=plain(item.details),
        level=int(item.level or 0),
        assignee=item.assignee,
        acknowledged_by=item.acknowledged_by,
        snoozed_until=item.snoozed_until,
        resolved_at=item.resolved_at,
        resolution=item.resolution,
        version=int(item.version) if item.version is not None else None,
    )


def _item(record: ExceptionRecord) -> ExceptionItem:
    policy = settings().exception_policy()
    pk, sk = keys.exception(record.id)
    due = rules.next_due(record, policy)
    item = ExceptionItem(
        pk,
        sk,
        id=record.id,
        kind_name=record.kind,
        subject_type=record.subject_type,
        subject_id=record.subject_id,
        severity=record.severity.value,
        status=record.status.value,
        count=record.count,
        opened_at=record.opened_at,
        last_seen=record.last_seen,
        details=record.details,
        resolved_at=record.resolved_at,
        resolution=record.resolution,
        level=record.level,
        assignee=record.assignee,
        acknowledged_by=record.acknowledged_by,
        snoozed_until=record.snoozed_until,
        due_at=due,
    )
    if record.status in rules.ACTIVE:
        item.GSI3PK = keys.OPEN_EXCEPTIONS_PK
        item.GSI3SK = keys.open_exception_sk(rules.SEVERITY_RANK[record.severity], record.opened_at, record.id)
    if due is not None:
        item.GSI4PK, item.GSI4SK = keys.due_index(record.id, due, settings().due_index_shards)
    return repo.with_version(item, record.version)


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


def _commit(
    record: ExceptionRecord,
    change: Change,
    actor: Principal,
    from_status: str | None,
    at: datetime,
    extra: Sequence[repo.Write] = (),
) -> None:
    repo.commit([*_writes(record, change, actor, from_status, at), *extra], what=f"exception {record.id}")


def _writes(record: ExceptionRecord, change: Change, actor: Principal, from_status: str | None, at: datetime) -> list[repo.Write]:
    """The record (new, or under the version read) and its audit event (and the subject's mirror)."""
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
    item = _item(record)
    writes = [
        repo.Write(item) if record.version is not None else repo.new_item(item),
        repo.event_write(keys.exception_pk(record.id), event),
    ]
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
        writes.append(repo.event_write(keys.subject_pk(record.subject_type, record.subject_id), mirror))
    return writes


def change(
    exc_id: str,
    mutate: Callable[[ExceptionRecord, datetime], Change | None],
    *,
    actor: Principal = SYSTEM,
    retries: int = RETRIES,
    expected_version: int | None = None,
    loaded: ExceptionItem | None = None,
    with_writes: Sequence[repo.Write] = (),
) -> ExceptionRecord | None:
    """Load, mutate, commit under the version read; on a lost race load again (up to `retries`).
    `mutate` returns None when there is nothing to do (then nothing is written). `loaded`: the item
    as already read (e.g. from an index projecting it whole), used instead of the first read.
    `with_writes` go in the same transaction, so they happen exactly when the change does."""
    first = loaded

    def attempt() -> ExceptionRecord:
        nonlocal first
        item = first if first is not None else repo.get(keys.exception(exc_id), ExceptionItem)
        first = None  # a lost race reads again
        if item is None:
            raise NotFound(f"exception {exc_id} not found")
        record = record_from_item(item)
        if expected_version is not None and record.version != expected_version:
            raise Conflict(f"exception {exc_id} is at version {record.version}, not {expected_version}; reload and try again")
        from_status = record.status.value
        at = now()
        result = mutate(record, at)
        if result is None:
            return record
        _commit(record, result, actor, from_status, at, extra=with_writes)
        record.version = (record.version or 0) + 1
        return record

    return on_conflict(attempt, retries=retries, expected_version=expected_version, what=f"exception {exc_id}")


# ---------------------------------------------------------------- raised by the flows


def get(exc_id: str) -> ExceptionRecord | None:
    item = repo.get(keys.exception(exc_id), ExceptionItem)
    return record_from_item(item) if item else None


def raise_or_bump(
    kind: str,
    subject_type: str,
    subject_id: str,
    details: dict[str, Any] | None = None,
    *,
    severity: str | None = None,
    with_writes: Sequence[repo.Write] = (),
    retries: int = RETRIES,
) -> ExceptionRecord:
    """Open the (kind, subject) exception — pending first when its kind has a grace period — or bump
    the live one. `severity` raises it above its kind's (e.g. an escalated stage); it never lowers it.
    `with_writes` go in the same transaction (the sweep retires the deadline that raised it)."""
    rules.kind(kind)
    wanted = Severity(severity) if severity else None
    exc_id = exception_id(kind, subject_type, subject_id)
    policy = settings().exception_policy()

    def attempt() -> ExceptionRecord:
        item = repo.get(keys.exception(exc_id), ExceptionItem)
        at = now()
        current = record_from_item(item) if item is not None else None
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
        _commit(record, change_, SYSTEM, from_status, at, extra=with_writes)
        return record

    return on_conflict(attempt, retries=retries, what=f"exception {exc_id}")


def opening_writes(kind: str, subject_type: str, subject_id: str, details: dict[str, Any], at: datetime) -> list[repo.Write]:
    """Raise the (kind, subject) exception inside the transaction that creates its subject: no read,
    since a subject written now has no exception yet (the record's conditional create guarantees it)."""
    rules.kind(kind)
    record = rules.new_record(
        exception_id(kind, subject_type, subject_id), kind, subject_type, subject_id, at, settings().exception_policy(), details
    )
    change_ = Change("exception.raised" if record.status is Status.OPEN else "exception.pending")
    return _writes(record, change_, SYSTEM, None, at)


def resolution_writes(item: ExceptionItem | None, *, note: str, at: datetime) -> list[repo.Write]:
    """Resolve a live exception inside the caller's own transaction, under the version the caller read
    (`item`, e.g. from its BatchGetItem): what raised it is settled by that very change, so the two can
    never disagree. Nothing to write when there is no record or it is no longer live."""
    if item is None:
        return []
    record = record_from_item(item)
    if record.status not in rules.LIVE:
        return []
    was = record.status
    rules.resolve(record, at, note)
    change_ = Change("exception.cleared" if was is Status.PENDING else "exception.resolved", note=note, data={"automatic": True})
    return _writes(record, change_, SYSTEM, was.value, at)


def resolve(kind: str, subject_type: str, subject_id: str, *, note: str, with_writes: Sequence[repo.Write] = ()) -> bool:
    """The condition cleared: close the live (kind, subject) exception (a pending one never shows).
    False when none is live; one GetItem when there is nothing to do. `with_writes` are committed
    with the resolution only (e.g. the follow-up it triggers, so two resolvers cannot both trigger it)."""
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
        change(exc_id, clear, with_writes=with_writes)
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


def _must(record: ExceptionRecord | None) -> ExceptionRecord:
    assert record is not None
    return record


# ---------------------------------------------------------------- reads


def open_records() -> list[ExceptionRecord]:
    """Every record in the queue (open, acknowledged, snoozed): one Query on the sparse index."""
    return [record_from_item(i) for i in Item.gsi3.query(keys.OPEN_EXCEPTIONS_PK) if isinstance(i, ExceptionItem)]


def queue(flt: QueueFilter) -> RankedQueue:
    return rules.rank(open_records(), flt)


@dataclass
class ExceptionDetail:
    record: ExceptionRecord
    events: list[AuditEvent]


def detail(exc_id: str) -> ExceptionDetail:
    """The record with its history: one Query on its partition."""
    record: ExceptionRecord | None = None
    events: list[AuditEvent] = []
    for item in repo.query_all(keys.exception_pk(exc_id)):
        if isinstance(item, ExceptionItem):
            record = record_from_item(item)
        elif isinstance(item, AuditEventItem):
            events.append(repo.event_from_item(item))
    if record is None:
        raise NotFound(f"exception {exc_id} not found")
    return ExceptionDetail(record, events)


def owner_of(kind: str) -> Owner:
    return rules.kind(kind).owner
