"""SQS: work the app queues for itself (a campaign close's next chunk), sent straight to a queue
of the topology in the envelope shape EventBridge gives its messages, so the consumer's one parser
(`events.parse`) reads it."""

from __future__ import annotations

import json
from typing import Any

from ..config import settings
from ..topology import physical
from .aws import client


def send(queue_name: str, detail_type: str, detail: dict[str, Any]) -> None:
    """One message on the queue (by its topology name) carrying `detail`. The URL is asked each time:
    one request per chunk of hundreds of orders, and never stale across accounts or stages."""
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=physical(queue_name, settings().stage))["QueueUrl"]
    body = json.dumps({"detail-type": detail_type, "source": "waybill.app", "detail": detail}, separators=(",", ":"))
    sqs.send_message(QueueUrl=url, MessageBody=body)
