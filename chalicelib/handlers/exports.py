"""Exports consumer: a requested export (`export.requested`) runs, or resumes after a redelivery."""

from __future__ import annotations

from typing import Any

from ..services import exports


def handle(event: dict[str, Any]) -> str:
    if event.get("type") != "export.requested":
        return "ignored"
    return exports.run_export(str(event["subject_id"])).status
