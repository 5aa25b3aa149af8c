"""Complaints consumer: an accepted plan is carried out; a received return's refunds are sent.

Both are safe to run again on a redelivered message: a started plan is not started twice, and
only refunds still pending are sent (with the same idempotency key)."""

from __future__ import annotations

from ..events import ComplaintPlanAccepted, ComplaintReturnReceived, Event
from ..services import complaints
from ..topology import COMPLAINTS as QUEUE

__all__ = ["QUEUE", "handle"]


def handle(event: Event) -> str:
    if isinstance(event, ComplaintPlanAccepted):
        return complaints.carry_out(event.data.complaint_id or event.subject_id)
    if isinstance(event, ComplaintReturnReceived):
        complaint_id = event.data.complaint_id or event.subject_id
        issued = complaints.issue_refunds(complaint_id)
        complaints.maybe_complete(complaint_id)
        return f"refunds:{issued}"
    return "ignored"
