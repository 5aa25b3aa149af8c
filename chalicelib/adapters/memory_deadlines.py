"""Blind deadline writes in memory (`services.ports_deadlines`): a deadline is kept like any `Deadline`
aggregate (key: its id); setting one replaces it whatever its version, clearing one drops it."""

from __future__ import annotations

import copy
from typing import Any

from ..services.ports_deadlines import ClearDeadline, SetDeadline
from ..services.ports_exceptions import Deadline


class DeadlinesMemory:
    """Mixed into `MemoryStore`, whose aggregates it changes."""

    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]

    def _apply_deadline(self, change: SetDeadline | ClearDeadline) -> None:
        """Apply a blind deadline change of a commit (there is nothing to check first)."""
        if isinstance(change, SetDeadline):
            key = (Deadline, (change.deadline.id,))
            before = self._aggregates.get(key)
            self._aggregates[key] = (copy.deepcopy(change.deadline), (before[1] if before else 0) + 1)
        else:
            self._aggregates.pop((Deadline, (change.id,)), None)

    def clear_deadline(self, kind: str, subject_type: str, subject_id: str) -> None:
        self._apply_deadline(ClearDeadline(kind, subject_type, subject_id))
