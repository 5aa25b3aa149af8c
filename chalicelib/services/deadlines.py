"""Subject deadlines: a time by which something must have happened to a subject (a parcel's
expected delivery, an offline payment, a declined capture's next attempt).

A deadline is written inside its subject's own transaction and cleared when met; the escalation
sweep (`services.escalations`) reads the due ones. Writing one needs nothing of the sweep, so the
services that set deadlines depend on this module only, and the sweep may call back into them
(a capture retry) without an import circle.

Not on the storage port: its callers (shipments, customer payments, capture) still commit DynamoDB
writes, and setting a deadline overwrites the previous one blindly (no read), which the port's
versioned saves do not do. The item is built by the port's mapping
(`adapters.dynamodb.store_exceptions.deadline_item`), so the two never disagree; a service on the port
loads a `ports_exceptions.Deadline` by id and saves it under its version (create: `Save(deadline, None)`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..adapters.dynamodb import keys
from ..adapters.dynamodb import repository as repo
from ..adapters.dynamodb.models import DeadlineItem
from ..adapters.dynamodb.store_exceptions import deadline_item
from ..domain import exceptions as rules
from .ports_exceptions import Deadline

CAPTURE_RETRY = "capture_retry"  # a declined capture's next automatic attempt (services/capture.py)

# Deadlines that do something when they pass (`escalations.DEADLINE_ACTIONS`), instead of raising
# an exception kind.
ACTION_KINDS = frozenset({CAPTURE_RETRY})


def deadline_write(
    subject_type: str, subject_id: str, kind: str, due_at: datetime, details: dict[str, Any] | None = None
) -> repo.Write:
    """A deadline to put in the subject's own transaction (overwrites the previous one of that kind)."""
    if kind not in ACTION_KINDS:
        rules.kind(kind)
    return repo.Write(deadline_item(Deadline(kind, subject_type, subject_id, due_at, details or {})))


def deadline_delete(subject_type: str, subject_id: str, kind: str) -> repo.Delete:
    """The deletion of a subject's deadline, to put in the subject's own transaction (nothing if none)."""
    pk, sk = keys.deadline(keys.subject_pk(subject_type, subject_id), kind)
    return repo.Delete(DeadlineItem(pk, sk))


def clear_deadline(subject_type: str, subject_id: str, kind: str) -> None:
    """The deadline was met (one DeleteItem; nothing if there was none)."""
    pk, sk = keys.deadline(keys.subject_pk(subject_type, subject_id), kind)
    DeadlineItem(pk, sk).delete()
