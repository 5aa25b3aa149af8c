"""The consumers' part of the storage port: one idempotency record per (consumer, event).

`handlers/batch.py` claims the record before a consumer's work (in progress for as long as the queue
hides the message), completes it after, and releases (deletes) it when the work fails, so the queue's
redelivery does the work again; a completed record expires after its TTL. See `services.ports`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

ClaimState = Literal["claimed", "in_progress", "completed"]
CLAIMED: ClaimState = "claimed"
IN_PROGRESS: ClaimState = "in_progress"
COMPLETED: ClaimState = "completed"


class ConsumerRecords(Protocol):
    def claim_event(self, consumer: str, key: str, at: datetime, *, lease_seconds: int, ttl_seconds: int) -> ClaimState:
        """CLAIMED when this run is to do the work; COMPLETED when a run did it (and its record has not
        expired); IN_PROGRESS when a run holds a lease that has not run out. One conditional write."""
        ...

    def complete_event(self, consumer: str, key: str, at: datetime) -> None:
        """The claimed work is done: later deliveries are skipped until the record expires. One write."""
        ...

    def release_event(self, consumer: str, key: str) -> None:
        """Forget a claim whose work failed, so the redelivery does the work again. One delete."""
        ...
