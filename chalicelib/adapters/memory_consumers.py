"""`services.ports_consumers.ConsumerRecords` in memory: a dict of (consumer, event) -> (status, lease
end, expiry), with the DynamoDB store's rules (tests/contract/test_consumers.py holds both to them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..services.ports_consumers import CLAIMED, COMPLETED, IN_PROGRESS, ClaimState

Claim = tuple[ClaimState, datetime, datetime]  # status, lease until, expires at


class ConsumersMemory:
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
