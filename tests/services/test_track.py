"""The order page's lookup limits (services/track.py) on the in-memory store."""

from __future__ import annotations

import pytest

from chalicelib.config import settings
from chalicelib.domain.errors import NotFound
from chalicelib.services import track


def test_the_lookup_is_limited_per_reference_whoever_asks():
    for n in range(settings().track_lookup_limit):
        with pytest.raises(NotFound):
            track.lookup("WB-0000-0000", "x@example.com", client=f"10.0.0.{n}")
    with pytest.raises(track.TooManyAttempts) as refused:
        track.lookup("wb00000000", "x@example.com", client="10.0.1.1")  # the same reference, typed otherwise
    assert 0 < refused.value.retry_after_s <= settings().track_lookup_window_s


def test_the_lookup_is_limited_per_client_whatever_it_asks():
    for n in range(settings().track_lookup_limit):
        with pytest.raises(NotFound):
            track.lookup(f"WB-0000-{n:04d}", "x@example.com", client="10.0.0.1")
    with pytest.raises(track.TooManyAttempts):
        track.lookup("WB-1111-1111", "x@example.com", client="10.0.0.1")
    with pytest.raises(NotFound):
        track.lookup("WB-1111-1111", "x@example.com", client="10.0.0.2")  # another client is not held up
