"""Purchase-orders consumer: an ended campaign is closed into POs; a created PO is e-mailed;
an acknowledged PO is shared out over its orders, and customers hear of lost lines.

Every branch is safe to run again on a redelivered message (see the services)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from ..domain.errors import InvalidTransition
from ..services import campaign_close, refunds

logger = Logger(service="waybill")


def handle(event: dict[str, Any]) -> Any:
    kind = event.get("type")
    data = event.get("data") or {}
    if kind == "campaign.ended":
        try:
            return campaign_close.close_campaign(str(event["subject_id"]))
        except InvalidTransition as exc:  # cancelled meanwhile, say: nothing to close
            logger.warning("campaign not closed", extra={"campaign_id": event["subject_id"], "reason": exc.message})
            return None
    if kind == "po.created":
        return campaign_close.send_po_mail(str(data.get("po_id") or event["subject_id"]))
    if kind == "po.acknowledge_completed":
        return refunds.settle_acknowledgement(str(data.get("po_id") or event["subject_id"]))
    if kind == refunds.LINES_REJECTED:
        return refunds.notify_lines_rejected(event)
    return None  # campaign.closed: nothing left to do here
