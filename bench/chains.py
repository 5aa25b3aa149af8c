"""What the chunked sections (close, sweep, exports) share: the bound one invocation must stay
within, and draining a queue through the local stack's poller while timing each invocation."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

LAMBDA_MAX_MS = 900_000
# One chunk must stay well inside one invocation: a tenth of the Lambda maximum leaves room for
# AWS's slower transactions (~20 ms each against moto's) and for a retried conflict.
CHUNK_TARGET_MS = LAMBDA_MAX_MS / 10


def drain(queue: Any, consumer: Callable[[dict[str, Any], Any], Any]) -> list[float]:
    """Run `queue` through the local stack's poller, calling `consumer` (an app Lambda handler) until
    the queue is empty; each invocation's wall time in ms."""
    import threading

    from chalicelib.adapters.aws import client
    from chalicelib.local.pollers import SqsPoller

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    times: list[float] = []

    def timed(event: dict[str, Any], context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return consumer(event, context)
        finally:
            times.append((time.perf_counter() - t0) * 1000)

    poller = SqsPoller(
        queue_name=queue.name,
        queue_url=url,
        queue_arn=arn,
        handler_name=queue.handler,
        handler=timed,
        batch_size=queue.batch_size,
        timeout_s=queue.visibility_timeout_s,
        sqs=sqs,
        region="eu-west-1",
        stop=threading.Event(),
    )
    poller.wait_s = 0  # nothing arrives meanwhile: an empty receive means the chain is over
    while poller.step():
        pass
    return times
