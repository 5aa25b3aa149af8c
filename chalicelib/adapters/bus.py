"""EventBridge: domain events onto the bus."""

from __future__ import annotations

import json
from typing import Any

from ..config import settings
from ..topology import EVENT_SOURCE
from .aws import client

MAX_ENTRIES = 10  # PutEvents takes at most ten entries per call


class PublishFailed(Exception):
    """Some entries were not accepted; the caller lets the batch be retried."""


def put_events(events: list[dict[str, Any]]) -> int:
    """Put domain events (each with `type` and `id`) on the bus; raise if any entry fails."""
    bus = settings().bus_name
    for start in range(0, len(events), MAX_ENTRIES):
        chunk = events[start : start + MAX_ENTRIES]
        response = client("events").put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": e["type"],
                    "Detail": json.dumps(e, default=str),
                    "EventBusName": bus,
                    "Resources": [],
                }
                for e in chunk
            ]
        )
        if response.get("FailedEntryCount"):
            failed = [r for r in response["Entries"] if r.get("ErrorCode")]
            raise PublishFailed(f"{len(failed)} of {len(chunk)} events were refused: {failed[:3]}")
    return len(events)
