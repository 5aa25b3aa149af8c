"""SQS batches with partial failure: only the messages that failed are retried."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ..observability import logger


def domain_event(body: str) -> dict[str, Any]:
    """EventBridge delivers its whole envelope to SQS; the domain event is the detail."""
    envelope = json.loads(body)
    detail = envelope.get("detail", envelope)
    return detail if isinstance(detail, dict) else json.loads(detail)


def process(records: Iterable[Any], handle: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """Run `handle` on each record's domain event; report the failures as batchItemFailures."""
    failures = []
    for record in records:
        message_id = record.to_dict().get("messageId")
        try:
            handle(domain_event(record.body))
        except Exception:
            logger.exception("message failed", extra={"message_id": message_id})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
