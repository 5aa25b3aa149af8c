"""The order page's lookup counters in memory (`services.ports_track.TrackReads`)."""

from __future__ import annotations


class TrackMemory:
    _attempts: dict[tuple[str, int], int]

    def count_attempt(self, scope: str, window: int, *, expires_at: int) -> int:
        if not hasattr(self, "_attempts"):
            self._attempts = {}
        key = (scope, window)
        self._attempts[key] = self._attempts.get(key, 0) + 1
        return self._attempts[key]
