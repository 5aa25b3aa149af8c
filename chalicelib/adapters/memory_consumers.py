"""`services.ports_consumers.ConsumerRecords` in memory: a dict of (consumer, event) -> (status, lease
end, expiry), with the DynamoDB store's rules (tests/contract/test_consumers.py holds both to them); an
inbound webhook's `InboxEntry` among the store's aggregates, keyed by sender and webhook id, with no
version of its own (`UNVERSIONED`: a save with any version writes it as it is)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..services.ports_consumers import CLAIMED, COMPLETED, IN_PROGRESS, ClaimState, InboxEntry

Claim = tuple[ClaimState, datetime, datetime]  # status, lease until, expires at

# How the in-memory store keys this area's kinds (merged into `adapters.memory.KEYS`).
CONSUMERS_KEYS: dict[type, Callable[[Any], tuple[str, ...]]] = {InboxEntry: lambda e: (e.sender, e.webhook_id)}
UNVERSIONED: frozenset[type] = frozenset({InboxEntry})


class ConsumersMemory:
    _aggregates: dict[tuple[type, tuple[str, ...]], tuple[Any, int]]

    def _consumer_claims(self) -> dict[tuple[str, str], Claim]:
        claims: dict[tuple[str, str], Claim] = self.__dict__.setdefault("_claims_by_consumer", {})
        return claims

    def claim_event(self, consumer: str, key: str, at: datetime, *, lease_seconds: int, ttl_seconds: int) -> ClaimState:
        claims = self._consumer_claims()
        held = claims.get((consumer, key))
        if held is not None and held[2] >= at and not (held[0] == IN_PROGRESS and held[1] < at):
            return held[0]
        claims[(consumer, key)] = (IN_PROGRESS, at + timedelta(seconds=lease_seconds), at + timedelta(seconds=ttl_seconds))
        return CLAIMED

    def complete_event(self, consumer: str, key: str, at: datetime) -> None:
        claims = self._consumer_claims()
        _, lease, expires = claims.get((consumer, key), (IN_PROGRESS, at, at))
        claims[(consumer, key)] = (COMPLETED, lease, expires)

    def release_event(self, consumer: str, key: str) -> None:
        self._consumer_claims().pop((consumer, key), None)

    def keep_webhook(self, entry: InboxEntry) -> bool:
        key = (InboxEntry, (entry.sender, entry.webhook_id))
        if key in self._aggregates:
            return False
        self._aggregates[key] = (copy.deepcopy(entry), 1)
        return True
