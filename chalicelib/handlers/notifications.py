"""Notifications consumer: domain events from the queue -> e-mails, each sent at most once.

A (event, recipient) marker is written before sending; if SES fails the marker is removed
and the message is reported as failed, so the queue redelivers it (and after
max_receive_count, parks it in the dead-letter queue)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from ..adapters import mail
from ..adapters.dynamodb import repository as repo
from ..domain.audit import CUSTOMER_STATUS_TEXT
from ..domain.notifications import Recipient, rules_for
from ..services.clock import now

logger = Logger(service="waybill")
CONSUMER = "notifications"


def recipients(rule_recipient: Recipient, event: dict[str, Any]) -> list[str]:
    data = event.get("data") or {}
    if rule_recipient is Recipient.CUSTOMER and data.get("customer_email"):
        return [data["customer_email"]]
    return []


def handle(event: dict[str, Any]) -> int:
    """Send what the rules say for one domain event; returns the number of e-mails sent."""
    sent = 0
    data = event.get("data") or {}
    for rule in rules_for(event):
        for to in recipients(rule.recipient, event):
            marker = f"{event['id']}#{to}"
            if not repo.mark_processed(CONSUMER, marker, now()):
                logger.info("already sent", extra={"event_id": event["id"], "to": to})
                continue
            try:
                status = data.get("status") or event.get("to_status") or ""
                mail.send(mail.render(rule.template, to, headline=rule.headline, order_id=data.get("order_id"),
                                      status_text=CUSTOMER_STATUS_TEXT.get(status, status),
                                      total_cents=data.get("total_cents", 0), currency=data.get("currency", ""),
                                      note=event.get("customer_note"), shipment=data))
            except Exception:
                repo.unmark_processed(CONSUMER, marker)
                raise
            sent += 1
    return sent
