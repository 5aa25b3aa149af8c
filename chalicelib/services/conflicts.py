"""A stale write's 409 with the words a person needs: who changed the item last and when, so the
page can say "Changed by Bea at 10:42" and offer to reload instead of quoting version numbers."""

from __future__ import annotations

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
