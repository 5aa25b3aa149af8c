"""The order page's lookup counters (services/ports_track.py), the same on both stores."""

from __future__ import annotations

from chalicelib.services.ports import Store


def test_attempts_count_per_scope_and_window(store: Store):
    assert [store.count_attempt("ip#10.0.0.1", 7, expires_at=2_000) for _ in range(3)] == [1, 2, 3]
    assert store.count_attempt("ip#10.0.0.2", 7, expires_at=2_000) == 1  # another scope
    assert store.count_attempt("ip#10.0.0.1", 8, expires_at=2_000) == 1  # the next window starts again
