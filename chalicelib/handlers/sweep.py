"""Sweep consumer: the escalation sweep's next chunk (`waybill.chunk_due`, job `sweep`), queued by the
chunk before it when more was due than one chunk handles (services/escalations.py). Safe to run again
on a redelivered message: the chain's record says which chunks are done."""

from __future__ import annotations

from typing import Any

from ..events import ChunkDue, Event
from ..observability import logger
from ..services import escalations
from ..topology import SWEEP as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> Any:
    if isinstance(event, ChunkDue) and event.job == "sweep":
        return escalations.run_queued_chunk(event.run_id, event.number, event.cursor).as_dict()
    logger.info("event not for this consumer", extra={"type": event.type})
    return None
