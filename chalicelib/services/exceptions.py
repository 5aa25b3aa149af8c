"""Exception records: problems brought to staff (a missed stage deadline, a failed payment).

There is at most ONE open record per (kind, subject): its id is derived from them, so a
repeat bumps `count` and `last_seen` instead of adding noise. While open, a record sits in
the sparse GSI3 partition `EXCEPTIONS#OPEN`, sorted by severity then age (the ranked queue)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import ExceptionItem
from ..domain.audit import AuditEvent
from ..domain.errors import Conflict
from ..domain.permissions import SYSTEM
from .clock import new_id, now

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
RETRIES = 5


@dataclass
class ExceptionRecord:
    id: str
    kind: str
    subject_type: str
    subject_id: str
    severity: str
    status: str
    count: int
    opened_at: datetime
    last_seen: datetime
    details: dict[str, Any]


def exception_id(kind: str, subject_type: str, subject_id: str) -> str:
    digest = hashlib.sha256(f"{kind}\x00{subject_type}\x00{subject_id}".encode()).hexdigest()[:24]
    return f"exc_{digest}"


def _plain(details: Any) -> dict[str, Any]:
    return dict(details.as_dict()) if details else {}


def _record(item: ExceptionItem) -> ExceptionRecord:
    return ExceptionRecord(id=item.id, kind=item.kind_name, subject_type=item.subject_type,
                           subject_id=item.subject_id, severity=item.severity, status=item.status,
                           count=int(item.count), opened_at=item.opened_at, last_seen=item.last_seen,
                           details=_plain(item.details))


def get(exc_id: str) -> ExceptionRecord | None:
    item = repo.get(keys.exception(exc_id), ExceptionItem)
    return _record(item) if item else None


def raise_or_bump(kind: str, subject_type: str, subject_id: str, severity: str,
                  details: dict[str, Any] | None = None) -> ExceptionRecord:
    """Open the (kind, subject) exception, or bump the open one; one transaction with its audit event."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {severity!r}")
    exc_id = exception_id(kind, subject_type, subject_id)
    for attempt in range(RETRIES):
        current = repo.get(keys.exception(exc_id), ExceptionItem)
        at = now()
        reopen = current is None or current.status != "open"
        count = 1 if reopen or current is None else int(current.count) + 1
        opened_at = at if reopen or current is None else current.opened_at
        merged = {**(_plain(current.details) if current is not None and not reopen else {}),
                  **(details or {})}
        pk, sk = keys.exception(exc_id)
        item = ExceptionItem(
            pk, sk, GSI3PK=keys.OPEN_EXCEPTIONS_PK,
            GSI3SK=keys.open_exception_sk(SEVERITY_RANK[severity], opened_at, exc_id),
            id=exc_id, kind_name=kind, subject_type=subject_type, subject_id=subject_id, severity=severity,
            status="open", count=count, opened_at=opened_at, last_seen=at, details=merged,
        )
        event = AuditEvent(id=new_id("evt"), subject_type="exception", subject_id=exc_id,
                           type="exception.raised" if reopen else "exception.repeated", actor=SYSTEM, at=at,
                           from_status=None if reopen else "open", to_status="open",
                           data={"kind": kind, "subject_type": subject_type, "subject_id": subject_id,
                                 "severity": severity, "count": count})
        write = repo.Write(repo.with_version(item, int(current.version))) if current is not None \
            else repo.new_item(item)
        try:
            repo.commit([write, repo.event_write(keys.exception_pk(exc_id), event)], what=f"exception {exc_id}")
        except Conflict:
            if attempt == RETRIES - 1:
                raise
            continue
        return _record(item)
    raise AssertionError("unreachable")


def resolve(kind: str, subject_type: str, subject_id: str, *, note: str) -> bool:
    """Close the open (kind, subject) exception because its condition cleared (it leaves the queue);
    False when none is open. One GetItem when there is nothing to do."""
    exc_id = exception_id(kind, subject_type, subject_id)
    for attempt in range(RETRIES):
        current = repo.get(keys.exception(exc_id), ExceptionItem)
        if current is None or current.status != "open":
            return False
        at = now()
        pk, sk = keys.exception(exc_id)
        item = ExceptionItem(
            pk, sk, id=exc_id, kind_name=current.kind_name, subject_type=subject_type, subject_id=subject_id,
            severity=current.severity, status="resolved", count=int(current.count), opened_at=current.opened_at,
            last_seen=current.last_seen, details=_plain(current.details), resolved_at=at, resolution=note)
        event = AuditEvent(id=new_id("evt"), subject_type="exception", subject_id=exc_id, type="exception.resolved",
                           actor=SYSTEM, at=at, from_status="open", to_status="resolved", internal_note=note,
                           data={"kind": kind, "subject_type": subject_type, "subject_id": subject_id,
                                 "automatic": True})
        try:
            repo.commit([repo.Write(repo.with_version(item, int(current.version))),
                         repo.event_write(keys.exception_pk(exc_id), event)], what=f"exception {exc_id}")
        except Conflict:
            if attempt == RETRIES - 1:
                raise
            continue
        return True
    raise AssertionError("unreachable")
