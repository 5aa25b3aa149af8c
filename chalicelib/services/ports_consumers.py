"""The consumers' part of the storage port: one idempotency record per (consumer, event).

`handlers/batch.py` claims the record before a consumer's work (in progress for as long as the queue
hides the message), completes it after, and releases (deletes) it when the work fails, so the queue's
redelivery does the work again; a completed record expires after its TTL. See `services.ports`.

An inbound webhook is kept raw before it is answered, as an `InboxEntry` (key: sender, webhook id):
`keep_webhook` creates it once (a second delivery of the id is told apart), `load` reads it back, and
its processing is marked by a `Save` with any version (it has none of its own: written as it is; it
loads at version 1). It expires after its TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

ClaimState = Literal["claimed", "in_progress", "completed"]
CLAIMED: ClaimState = "claimed"
IN_PROGRESS: ClaimState = "in_progress"
COMPLETED: ClaimState = "completed"


@dataclass
class InboxEntry:
    """An inbound webhook as received (see the module docstring); `expires_at`: epoch seconds."""

    sender: str
    webhook_id: str
    body: str
    event_type: str | None
    received_at: datetime
    expires_at: int
    processed_at: datetime | None = None
    outcome: str | None = None  # what processing did (applied, ignored, failed: <reason>)


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

    def keep_webhook(self, entry: InboxEntry) -> bool:
        """Keep the webhook unless its id was kept already (then False, nothing written): one
        conditional write."""
        ...
