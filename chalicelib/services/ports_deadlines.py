"""Subject deadlines set and cleared blindly: the port's part for `services.deadlines`.

A deadline (`ports_exceptions.Deadline`) is set inside its subject's own transaction, overwriting
whatever deadline of that kind the subject had, without reading it first; it is cleared when met,
whether or not there was one. Neither names a version, unlike a `Save` or `Remove` of a deadline (the
sweep's retirement, which must not undo someone else's move). `SetDeadline` and `ClearDeadline` are
changes of a commit; `DeadlineWrites.clear_deadline` is the clear outside any transaction (on DynamoDB
one DeleteItem, the request `services.deadlines.clear_deadline` always made).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .ports_exceptions import Deadline


@dataclass(frozen=True)
class SetDeadline:
    """Put the deadline, replacing the subject's deadline of that kind if it had one (no condition)."""

    deadline: Deadline


@dataclass(frozen=True)
class ClearDeadline:
    """Delete the subject's deadline of that kind if it has one (no condition)."""

    kind: str
    subject_type: str
    subject_id: str

    @property
    def id(self) -> str:
        """The id of the deadline it clears (`Deadline.id`)."""
        return f"{self.kind}:{self.subject_type}:{self.subject_id}"


class DeadlineWrites(Protocol):
    """The deadline write that is not part of a transaction."""

    def clear_deadline(self, kind: str, subject_type: str, subject_id: str) -> None:
        """Delete the subject's deadline of that kind if there is one, unconditionally, on its own (on
        DynamoDB one DeleteItem; nothing else read or written)."""
        ...
