"""Purchase-orders consumer: an ended campaign is closed into POs (again when a close that waited
for held orders resumes), one chunk of orders per message (the close queues its own next chunk
here); an acknowledged PO is shared out over its orders (refunds). E-mail about
both (the PO, lost lines) is the notifications consumer's, from the `po.created` and
`order.lines_rejected` events.

Every branch is safe to run again on a redelivered message (see the services)."""

from __future__ import annotations

from typing import Any

from ..domain.errors import InvalidTransition
from ..events import CampaignCloseResumed, CampaignEnded, ChunkDue, Event, POAcknowledgeCompleted
from ..observability import logger
from ..services import campaign_close, refunds
from ..topology import PURCHASE_ORDERS as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> Any:
    if isinstance(event, CampaignEnded | CampaignCloseResumed):
        try:
            return campaign_close.start_close(event.subject_id)  # its chunks follow on this queue
        except InvalidTransition as exc:  # cancelled meanwhile, say: nothing to close
            logger.warning("campaign not closed", extra={"campaign_id": event.subject_id, "reason": exc.message})
            return None
    if isinstance(event, ChunkDue) and event.job == "close":
        return campaign_close.run_queued_chunk(event.subject_id, event.run_id, event.number, event.cursor)
    if isinstance(event, ChunkDue) and event.job == "settle":
        return refunds.settle_queued_chunk(event.subject_id, event.run_id, event.number, event.cursor).settlement
    if isinstance(event, POAcknowledgeCompleted):  # its first chunk here; the next ones queued
        return refunds.settle_queued_chunk(event.data.po_id or event.subject_id, event.id, 0, None).settlement
    logger.info("event not for this consumer", extra={"type": event.type})
    return None
