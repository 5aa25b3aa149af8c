"""PO stages consumer: the supplier workflow opened a stage (with its task token) or missed a
deadline (the state machine's events: chalicelib/events.py)."""

from __future__ import annotations

from ..events import Event, StageOpened, StageOverdue
from ..services import supplier_workflow
from ..topology import PO_STAGES as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> str:
    if isinstance(event, StageOpened):
        return supplier_workflow.stage_opened(event).action
    if isinstance(event, StageOverdue):
        return supplier_workflow.stage_overdue(event).action
    return "ignored"
