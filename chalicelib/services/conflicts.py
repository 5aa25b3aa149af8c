"""A stale write's 409 with the words a person needs: who changed the item last and when, so the
page can say "Changed by Bea at 10:42" and offer to reload instead of quoting version numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.audit import AuditEvent
from ..domain.errors import Conflict


def stale_version(what: str, current: int | None, expected: int, last: AuditEvent | None) -> Conflict:
    """A Conflict for `expected_version` `expected` when `what` is at `current`; `last` (its latest
    audit event, if known) names who changed it and when in the error's one detail."""
    detail: dict[str, Any] = {
        "field": "expected_version",
        "message": f"{what} was changed since you read it (version {current}, you had {expected})",
        "current_version": current,
    }
    if last is not None:
        detail["changed_by"] = last.actor.name or last.actor.email or last.actor.sub
        detail["changed_at"] = last.at.isoformat()
        detail["change"] = last.type
    return Conflict(f"{what} is at version {current}, not {expected}; reload and try again", details=[detail])


# On a subject's trail without moving its version: a note, an assignment (its own aggregate).
QUIET = frozenset({"note_added", "assigned", "unassigned"})


def last_change(events: Sequence[AuditEvent], subject_type: str) -> AuditEvent | None:
    """The newest event (of `events`, oldest first) that changed the subject itself: one of its own
    type (not an exception's mirror on its partition), neither a note nor an assignment."""
    for event in reversed(events):
        kind, _, action = event.type.partition(".")
        if kind == subject_type and action not in QUIET:
            return event
    return None


def stale_subject(
    what: str, subject_type: str, subject_id: str, current: int | None, expected: int, events: Sequence[AuditEvent] | None = None
) -> Conflict:
    """`stale_version` for an order, PO or complaint: who made the change that won, from `events`
    (its trail, when the use case read it anyway: no read) or else one read of its newest events
    (only on this, the 409 path)."""
    if events is None:
        from . import uow

        newest = uow.store().history(subject_type, subject_id, limit=RECENT, newest_first=True).items
        events = list(reversed(newest))
    return stale_version(what, current, expected, last_change(events, subject_type))


RECENT = 10  # newest events read to find the last change (notes and assignments may come after it)
