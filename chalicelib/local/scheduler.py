"""Local stand-in for EventBridge Scheduler (moto never fires schedules): calls each
schedule's handler with a scheduled event at its rate.

Rates come from the settings field each `Schedule` names, in minutes; `scale` shrinks them
for demos and tests (0.01 turns five minutes into three seconds). Like the real thing, the
first call comes one period after start.

A failed run (an error, or the handler running past its function's timeout) is retried like
Lambda retries an asynchronous invocation, up to the definition's `maximum_retry_attempts`
(`chalicelib.functions`), then handed to `on_failure` (the failure queue) as Lambda's on-failure
destination record.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .pollers import Handler, Loop

log = logging.getLogger("chalicelib.local")


@dataclass
class Job:
    name: str
    handler_name: str
    handler: Handler
    period_s: float
    due: float  # monotonic
    runs: int = 0
    timeout_s: float = 60.0
    maximum_retry_attempts: int = 2
    retry_delay_s: float = 1.0
    failures: int = 0  # failed tries of the current run
    retry_due: float | None = None
    event: dict[str, Any] | None = None  # the current run's event, kept for its retries


def scheduled_event(rule_name: str, *, region: str, account: str = "123456789012") -> dict[str, Any]:
    """The event EventBridge hands a scheduled Lambda."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule_name}"],
        "detail": {},
    }


class Scheduler(Loop):
    idle_s = 0.2

    def __init__(
        self,
        jobs: list[Job],
        *,
        region: str,
        stop: threading.Event,
        on_failure: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__("scheduler", stop)
        self.jobs, self.region, self.on_failure = jobs, region, on_failure
        self.given_up: list[dict[str, Any]] = []

    @classmethod
    def from_topology(
        cls,
        schedules: Any,
        app_module: Any,
        settings: Any,
        *,
        scale: float,
        region: str,
        stop: threading.Event,
        handlers: dict[str, Handler] | None = None,
        on_failure: Callable[[dict[str, Any]], None] | None = None,
    ) -> Scheduler:
        """A job per schedule, with its function's timeout and retries (`chalicelib.functions`);
        `handlers` replaces the app's functions (the local stack's worker processes)."""
        from ..functions import function

        start = time.monotonic()
        jobs = []
        for schedule in schedules:
            period = max(0.1, float(getattr(settings, schedule.rate_setting)) * 60.0 * scale)
            fn = function(schedule.handler)
            handler = (handlers or {}).get(schedule.handler) or getattr(app_module, schedule.handler)
            job = Job(schedule.name, schedule.handler, handler, period, start + period, timeout_s=float(fn.timeout_s))
            if fn.schedule is not None:
                job.maximum_retry_attempts = fn.schedule.maximum_retry_attempts
            jobs.append(job)
        return cls(jobs, region=region, stop=stop, on_failure=on_failure)

    def step(self) -> bool:
        now = time.monotonic()
        ran = False
        for job in self.jobs:
            if self.stop_event.is_set():
                break
            if job.retry_due is not None:
                if now < job.retry_due:
                    continue
                job.retry_due = None
            elif now < job.due:
                continue
            else:
                job.due += job.period_s
                if job.due <= now:  # no burst of catch-up runs after a stall
                    job.due = now + job.period_s
                job.runs += 1
                job.event = scheduled_event(job.name, region=self.region)
            ran = True
            self._run(job, now)
        return ran

    def _run(self, job: Job, now: float) -> None:
        event = job.event or scheduled_event(job.name, region=self.region)
        try:
            result = self.invoke(job.handler_name, job.handler, event, self.region, job.timeout_s)
        except Exception as exc:
            self.errors += 1
            job.failures += 1
            if job.failures <= job.maximum_retry_attempts:
                log.warning("scheduler: %s failed (%s); retry %d of %d", job.name, exc, job.failures, job.maximum_retry_attempts)
                job.retry_due = now + job.retry_delay_s * job.failures
                return
            log.error("scheduler: %s failed %d time(s) (%s); sent to the failure queue", job.name, job.failures, exc)
            self._give_up(job, event, exc)
        else:
            log.debug("%s ran: %s", job.name, result)
        job.failures, job.event = 0, None

    def _give_up(self, job: Job, event: dict[str, Any], exc: Exception) -> None:
        """Lambda's on-failure destination record for an asynchronous invocation."""
        from .pollers import LambdaContext, function_name

        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": LambdaContext(function_name(job.handler_name), region=self.region).invoked_function_arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": job.failures,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": str(exc), "errorType": type(exc).__name__},
        }
        self.given_up.append(record)
        if self.on_failure is not None:
            self.on_failure(record)
