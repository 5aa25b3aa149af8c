"""Local stand-in for EventBridge Scheduler (moto never fires schedules): calls each
schedule's handler with a scheduled event at its rate.

Rates come from the settings field each `Schedule` names, in minutes; `scale` shrinks them
for demos and tests (0.01 turns five minutes into three seconds). Like the real thing, the
first call comes one period after start.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
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

    def __init__(self, jobs: list[Job], *, region: str, stop: threading.Event) -> None:
        super().__init__("scheduler", stop)
        self.jobs, self.region = jobs, region

    @classmethod
    def from_topology(
        cls, schedules: Any, app_module: Any, settings: Any, *, scale: float, region: str, stop: threading.Event
    ) -> Scheduler:
        start = time.monotonic()
        jobs = []
        for schedule in schedules:
            period = max(0.1, float(getattr(settings, schedule.rate_setting)) * 60.0 * scale)
            jobs.append(Job(schedule.name, schedule.handler, getattr(app_module, schedule.handler), period, start + period))
        return cls(jobs, region=region, stop=stop)

    def step(self) -> bool:
        now = time.monotonic()
        ran = False
        for job in self.jobs:
            if self.stop_event.is_set() or now < job.due:
                continue
            job.due += job.period_s
            if job.due <= now:  # no burst of catch-up runs after a stall
                job.due = now + job.period_s
            job.runs += 1
            ran = True
            try:
                result = self.invoke(job.handler_name, job.handler, scheduled_event(job.name, region=self.region), self.region)
                log.debug("%s ran: %s", job.name, result)
            except Exception:
                self.errors += 1
                log.exception("scheduler: %s failed", job.name)
        return ran
