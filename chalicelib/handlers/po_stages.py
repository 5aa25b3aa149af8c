"""PO stages consumer: the supplier workflow opened a stage (with its task token) or missed a
deadline. The state machine's events carry no type in their detail: an opening has a token."""

from __future__ import annotations

from typing import Any

from ..services import supplier_workflow


def handle(event: dict[str, Any]) -> str:
    if event.get("task_token"):
        return supplier_workflow.stage_opened(event).action
    return supplier_workflow.stage_overdue(event).action
