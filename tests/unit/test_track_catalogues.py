"""The order page's catalogues (track/i18n): every language has every key, and every key the page's code
names, every status code the API can send, is in them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.domain.orders import DeliveryStatus, OrderStatus
from chalicelib.domain.shipments import ShipmentStatus

TRACK = Path(__file__).resolve().parents[2] / "track"
CATALOGUES = {p.stem: json.loads(p.read_text()) for p in (TRACK / "i18n").glob("*.json")}


def test_english_and_vietnamese_have_the_same_keys_and_no_empty_text():
    assert {"en", "vi"} <= set(CATALOGUES)
    keys = set(CATALOGUES["en"])
    for language, words in CATALOGUES.items():
        assert set(words) == keys, (language, set(words) ^ keys)
        assert all(isinstance(v, str) and v.strip() for v in words.values()), language


def test_every_key_the_page_names_is_in_the_catalogue():
    source = "\n".join(p.read_text() for p in (TRACK / "js").glob("*.js"))
    named = set(re.findall(r"\bt\('([a-z_.]+)'", source))
    assert named and named <= set(CATALOGUES["en"]), named - set(CATALOGUES["en"])


def test_every_status_the_order_page_shows_has_words():
    words = CATALOGUES["en"]
    assert all(f"status.{s.value}" in words and f"next.{s.value}" in words for s in OrderStatus)
    assert all(f"delivery.{s.value}" in words for s in DeliveryStatus)
    assert all(f"parcel.{s.value}" in words for s in ShipmentStatus)
