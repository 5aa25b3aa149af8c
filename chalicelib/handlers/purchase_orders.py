"""Purchase-orders consumer: an ended campaign is closed into POs (again when a close that waited
for held orders resumes); an acknowledged PO is shared out over its orders (refunds). E-mail about
both (the PO, lost lines) is the notifications consumer's, from the `po.created` and
`order.lines_rejected` events.

Every branch is safe to run again on a redelivered message (see the services)."""

from __future__ import annotations

from typing import Any

from ..domain.errors import InvalidTransition
from ..observability import logger
from ..services import campaign_close, refunds


def handle(event: dict[str, Any]) -> Any:
    kind = event.get("type")
    data = event.get("data") or {}
    if kind in ("campaign.ended", "campaign.close_resumed"):
        try:
            return campaign_close.close_campaign(str(event["subject_id"]))
        except InvalidTransition as exc:  # cancelled meanwhile, say: nothing to close
            logger.warning("campaign not closed", extra={"campaign_id": event["subject_id"], "reason": exc.message})
            return None
    if kind == "po.acknowledge_completed":
        return refunds.settle_acknowledgement(str(data.get("po_id") or event["subject_id"]))
    logger.info("event not for this consumer", extra={"type": kind})
    return None
