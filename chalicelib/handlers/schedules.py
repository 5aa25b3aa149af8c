"""Scheduled handlers (EventBridge Scheduler in AWS, the scheduler loop locally)."""

from __future__ import annotations

from typing import Any

from ..services import catalogue


def end_campaigns() -> list[str]:
    return catalogue.end_due_campaigns()


def escalation_sweep() -> dict[str, int]:
    from ..services import escalations

    return escalations.sweep().as_dict()


def daily_digest() -> dict[str, Any]:
    from ..services import notify

    return notify.daily_digest().as_dict()


def scheduled_exports() -> dict[str, Any]:
    from ..services import exports

    return exports.scheduled()
