"""Complaints consumer: an accepted plan is carried out; a received return's refunds are sent.

Both are safe to run again on a redelivered message: a started plan is not started twice, and
only refunds still pending are sent (with the same idempotency key)."""

from __future__ import annotations

from typing import Any

from ..services import complaints


def handle(event: dict[str, Any]) -> str:
    kind = event.get("type")
    data = event.get("data") or {}
    complaint_id = str(data.get("complaint_id") or event.get("subject_id"))
    if kind == "complaint.plan_accepted":
        return complaints.carry_out(complaint_id)
    if kind == "complaint.return_received":
        issued = complaints.issue_refunds(complaint_id)
        complaints.maybe_complete(complaint_id)
        return f"refunds:{issued}"
    return "ignored"
