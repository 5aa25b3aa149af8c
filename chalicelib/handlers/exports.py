"""Exports consumer: a requested export (`export.requested`) runs, or resumes after a redelivery."""

from __future__ import annotations

from ..events import Event, ExportRequested
from ..services import exports
from ..topology import EXPORTS as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> str:
    if not isinstance(event, ExportRequested):
        return "ignored"
    return exports.run_export(event.subject_id).status
