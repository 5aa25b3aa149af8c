"""The one cursor codec: any JSON value round-trips through a URL-safe, unpadded string, cursors
issued padded before still decode, and what does not decode is an invalid_cursor."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.adapters import cursors
from chalicelib.domain.errors import RuleViolation


def test_a_ranked_position_round_trips_through_a_url_safe_unpadded_cursor():
    value = [2, "2030-01-01T00:00:00+00:00", "exc_ü?>"]
    cursor = cursors.encode(value)
    assert not set(cursor) & set("=+/")
    assert cursors.decode(cursor) == value


def test_a_padded_cursor_issued_before_the_codec_was_shared_still_decodes():
    old = base64.urlsafe_b64encode(json.dumps([1, "2030-01-01T00:00:00", "exc_1"]).encode()).decode()
    assert old.endswith("=")
    assert cursors.decode(old) == [1, "2030-01-01T00:00:00", "exc_1"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "@@@@", base64.urlsafe_b64encode(b"\xff\xfe").decode()])
def test_a_cursor_that_does_not_decode_is_an_invalid_cursor(cursor):
    with pytest.raises(RuleViolation) as err:
        cursors.decode(cursor)
    assert err.value.code == "invalid_cursor"
