"""Scheduled handlers (EventBridge Scheduler in AWS, the scheduler loop locally)."""

from __future__ import annotations

from ..services import catalogue


def end_campaigns() -> list[str]:
    return catalogue.end_due_campaigns()
