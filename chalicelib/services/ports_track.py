"""The order page's storage needs beyond the orders' own (services/track.py): counting lookup attempts."""

from __future__ import annotations

from typing import Protocol


class TrackReads(Protocol):
    def count_attempt(self, scope: str, window: int, *, expires_at: int) -> int:
        """Add one attempt to `scope`'s counter for `window` (a window number) and return the count so far,
        itself included: one atomic update (ADD), the counter kept until `expires_at` (epoch seconds, TTL)."""
        ...
