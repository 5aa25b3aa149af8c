"""`services.ports_consumers.ConsumerRecords` on the table: the `ProcessedItem` per (consumer, event),
through `repository.claim_event` / `complete_event` / `release_event` (one request each)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from ...services.ports_consumers import ClaimState
from . import repository as repo


class ConsumersDynamo:
    def claim_event(self, consumer: str, key: str, at: datetime, *, lease_seconds: int, ttl_seconds: int) -> ClaimState:
        return cast(ClaimState, repo.claim_event(consumer, key, at, lease_seconds=lease_seconds, ttl_seconds=ttl_seconds))

    def complete_event(self, consumer: str, key: str, at: datetime) -> None:
        repo.complete_event(consumer, key, at)

    def release_event(self, consumer: str, key: str) -> None:
        repo.release_event(consumer, key)
