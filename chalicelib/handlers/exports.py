"""Exports consumer: a requested export (`export.requested`) runs, or resumes after a redelivery, for
one invocation's budget; a run that stopped at its budget carries on from its continuation
(`waybill.chunk_due`, job `export`), which it queued here itself."""

from __future__ import annotations

from ..events import ChunkDue, Event, ExportRequested
from ..services import exports
from ..topology import EXPORTS as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> str:
    if isinstance(event, ChunkDue) and event.job == "export":
        return exports.run_export(event.run_id, continuation=event.number).status
    if not isinstance(event, ExportRequested):
        return "ignored"
    return exports.run_export(event.subject_id).status
