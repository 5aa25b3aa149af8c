"""Subject deadlines: a time by which something must have happened to a subject (a parcel's
expected delivery, an offline payment, a declined capture's next attempt).

A deadline is written inside its subject's own transaction and cleared when met; the escalation
sweep (`services.escalations`) reads the due ones. Writing one needs nothing of the sweep, so the
services that set deadlines depend on this module only, and the sweep may call back into them
(a capture retry) without an import circle.

Setting a deadline overwrites the previous one of its kind blindly (no read), clearing one deletes it
whether or not it was there: the port's `SetDeadline` / `ClearDeadline` changes
(`services.ports_deadlines`), not a versioned `Save` (the sweep's retirement of a passed deadline is
one). A service puts `deadline_change(...)` in its commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain import exceptions as rules
from . import uow
from .ports_deadlines import ClearDeadline, SetDeadline
from .ports_exceptions import Deadline

CAPTURE_RETRY = "capture_retry"  # a declined capture's next automatic attempt (services/capture.py)

# Deadlines that do something when they pass (`escalations.DEADLINE_ACTIONS`), instead of raising
# an exception kind.
ACTION_KINDS = frozenset({CAPTURE_RETRY})


def deadline_change(
    subject_type: str, subject_id: str, kind: str, due_at: datetime, details: dict[str, Any] | None = None
) -> SetDeadline:
    """A deadline to commit with the subject's own changes (overwrites the previous one of that kind)."""
    if kind not in ACTION_KINDS:
        rules.kind(kind)
    return SetDeadline(Deadline(kind, subject_type, subject_id, due_at, details or {}))


def clear_change(subject_type: str, subject_id: str, kind: str) -> ClearDeadline:
    """The deadline was met: clear it in the commit of what met it (nothing if there was none)."""
    return ClearDeadline(kind, subject_type, subject_id)


def clear_deadline(subject_type: str, subject_id: str, kind: str) -> None:
    """The deadline was met (on its own: one DeleteItem; nothing if there was none)."""
    uow.store().clear_deadline(kind, subject_type, subject_id)
