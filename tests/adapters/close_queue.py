"""Running the purchase-orders queue in a test as the local stack runs it: its poller
(`chalicelib.local.pollers.SqsPoller`) receives a batch, hands it to the consumer's Lambda handler
as Lambda's SQS event, and deletes what the consumer did not report failed, until the queue is
empty. A campaign close queues its own next chunk there, so this runs the whole chain."""

from __future__ import annotations

import threading
from typing import Any

import boto3

from chalicelib.local.pollers import SqsPoller
from chalicelib.topology import PURCHASE_ORDERS


def poller(aws: Any, handler: Any = None) -> SqsPoller:
    """The queue's poller; `handler` stands in for the consumer (default: the app's own)."""
    if handler is None:
        import app

        handler = app.purchase_orders_consumer
    found = SqsPoller(
        queue_name=PURCHASE_ORDERS.name,
        queue_url=aws.queue_urls[PURCHASE_ORDERS.name],
        queue_arn=aws.queue_arns[PURCHASE_ORDERS.name],
        handler_name=PURCHASE_ORDERS.handler,
        handler=handler,
        batch_size=PURCHASE_ORDERS.batch_size,
        timeout_s=900,
        sqs=boto3.client("sqs", region_name="eu-west-1"),
        region="eu-west-1",
        stop=threading.Event(),
    )
    found.wait_s = 0  # nothing arrives while a test waits: an empty receive means done
    return found


def run_queue(aws: Any, *, at_most: int = 10_000, handler: Any = None) -> int:
    """Invocations until the queue is empty (a message reported failed stays invisible: not retried here)."""
    runner = poller(aws, handler)
    for _ in range(at_most):
        if not runner.step():
            return runner.invocations
    raise AssertionError(f"the purchase-orders queue still had work after {at_most} invocations")


def waiting(aws: Any) -> int:
    """Messages on the queue now (visible and in flight)."""
    attributes = boto3.client("sqs", region_name="eu-west-1").get_queue_attributes(
        QueueUrl=aws.queue_urls[PURCHASE_ORDERS.name],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])
