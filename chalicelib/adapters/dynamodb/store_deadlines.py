"""Blind deadline writes (`services.ports_deadlines`) on the single table.

`SetDeadline` is one unconditional put of the deadline's item (`store_exceptions.deadline_item`, the
item the sweep reads), `ClearDeadline` one unconditional delete of `<subject PK>` / `DUE#<kind>`, in
the commit's transaction; `clear_deadline` is that delete on its own: one DeleteItem.
"""

from __future__ import annotations

from ...services.ports_deadlines import ClearDeadline, SetDeadline
from . import keys
from . import repository as repo
from .models import DeadlineItem
from .store_exceptions import deadline_item


def _deadline_key(kind: str, subject_type: str, subject_id: str) -> tuple[str, str]:
    return keys.deadline(keys.subject_pk(subject_type, subject_id), kind)


def deadline_writes(change: SetDeadline | ClearDeadline) -> list[repo.Write | repo.Delete]:
    """The change's one write, with no condition."""
    if isinstance(change, SetDeadline):
        return [repo.Write(deadline_item(change.deadline))]
    return [repo.Delete(DeadlineItem(*_deadline_key(change.kind, change.subject_type, change.subject_id)))]


class DeadlinesDynamo:
    """`services.ports_deadlines.DeadlineWrites` on the single table."""

    def clear_deadline(self, kind: str, subject_type: str, subject_id: str) -> None:
        DeadlineItem(*_deadline_key(kind, subject_type, subject_id)).delete()
