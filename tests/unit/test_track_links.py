"""Order-page link tokens: signed over the order id and its link generation, checked against the
current and previous keys only."""

from __future__ import annotations

from chalicelib.domain.track_links import LinkKeys, mint, verify


def test_a_token_names_its_order_and_generation_under_the_key_that_signed_it():
    token = mint("ord_01ABC", 2, b"k1")
    claim = verify(token, [b"k1"])
    assert claim is not None and (claim.order_id, claim.generation) == ("ord_01ABC", 2)
    assert len(token) <= 64  # a path segment the API accepts


def test_a_token_under_another_key_or_altered_is_refused():
    token = mint("ord_01ABC", 0, b"k1")
    assert verify(token, [b"k2"]) is None
    assert verify(token.replace("ord_01ABC", "ord_01ABD"), [b"k1"]) is None
    assert verify(token.replace(".0.", ".1."), [b"k1"]) is None
    assert verify("garbage", [b"k1"]) is None


def test_the_keys_accept_current_then_previous_and_nothing_from_an_empty_secret():
    keys = LinkKeys.of({"current": "new", "previous": "old"})
    assert keys.current == b"new" and keys.accepted == [b"new", b"old"]
    assert verify(mint("ord_1", 0, b"old"), keys.accepted) is not None
    assert LinkKeys.of({}).accepted == [] and LinkKeys.of({}).current is None
    assert LinkKeys.of("not an object").current is None
