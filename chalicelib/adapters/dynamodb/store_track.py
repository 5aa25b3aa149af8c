"""The order page's lookup counters on the table (`services.ports_track.TrackReads`)."""

from __future__ import annotations

from . import keys
from .models import AttemptCounterItem


class TrackDynamo:
    def count_attempt(self, scope: str, window: int, *, expires_at: int) -> int:
        item = AttemptCounterItem(*keys.attempts(scope, window))
        item.update(
            actions=[
                AttemptCounterItem.kind.set(AttemptCounterItem),
                AttemptCounterItem.attempts.add(1),
                AttemptCounterItem.expires_at.set(expires_at),
            ]
        )
        return int(item.attempts or 0)
