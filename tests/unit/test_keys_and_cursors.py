"""Keys of the single table, and the page cursors handed to clients."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.repository import decode_cursor, encode_cursor
from chalicelib.domain.errors import RuleViolation

from .factories import NOW

PLUS_TWO = timezone(timedelta(hours=2))

KEYS = [  # (key, expected PK prefix, expected SK or SK prefix)
    (keys.supplier("acme"), "SUPPLIER#acme", "#META"),
    (keys.suppliers_index("Acme Mugs", "acme"), "SUPPLIERS", "acme mugs#acme"),
    (keys.campaign("c1"), "CAMPAIGN#c1", "#META"),
    (keys.product("c1", "MUG-1"), "CAMPAIGN#c1", "#PRODUCT#MUG-1"),
    (keys.campaigns_by_status("live", NOW, "c1"), "CAMPAIGNS#live", "2025-03-01T12:00:00.000000Z#c1"),
    (keys.order("o1"), "ORDER#o1", "#META"),
    (keys.delivery("o1", "acme"), "ORDER#o1", "DELIVERY#acme"),
    (keys.customer("u1"), "CUSTOMER#u1", "#PROFILE"),
    (keys.idempotency("orders#u1", "k1"), "IDEMPOTENCY#orders#u1#k1", "#META"),
    (keys.processed("notifications", "e1"), "PROCESSED#notifications#e1", "#META"),
]


@pytest.mark.parametrize(("key", "pk", "sk"), KEYS, ids=[k[1] for k in KEYS])
def test_every_key_starts_with_its_prefix(key, pk, sk):
    assert key == (pk, sk)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (keys.campaign_pk("c1"), "CAMPAIGN#c1"),
        (keys.campaigns_status_pk("ended"), "CAMPAIGNS#ended"),
        (keys.order_pk("o1"), "ORDER#o1"),
        (keys.customer_orders_pk("u1"), "CUSTOMER#u1#ORDERS"),
        (keys.campaign_orders_pk("c1", "o1"), f"CAMPAIGN#c1#ORDERS#{keys.index_shard('o1')}"),
        (keys.status_orders_pk("placed", "o1"), f"ORDERS#placed#{keys.index_shard('o1')}"),
        (keys.supplier_deliveries_pk("acme", "o1"), f"SUPPLIER#acme#DELIVERIES#{keys.index_shard('o1')}"),
        (keys.all_orders_pk("o1"), f"ORDERS#{keys.index_shard('o1')}"),
        (keys.all_shipments_pk("s1"), f"SHIPMENTS#{keys.index_shard('s1')}"),
        (keys.created_sk(NOW, "o1"), "2025-03-01T12:00:00.000000Z#o1"),
        (keys.event_sk(NOW, "e1"), "EVENT#2025-03-01T12:00:00.000000Z#e1"),
    ],
)
def test_partition_and_sort_values_are_spelled_in_one_place(value, expected):
    assert value == expected


@pytest.mark.parametrize(
    ("one", "every"),
    [
        (lambda o: keys.campaign_orders_pk("c1", o), keys.campaign_orders_pks("c1")),
        (lambda o: keys.status_orders_pk("placed", o), keys.status_orders_pks("placed")),
        (lambda o: keys.supplier_deliveries_pk("acme", o), keys.supplier_deliveries_pks("acme")),
        (keys.all_orders_pk, keys.all_orders_pks()),
        (keys.all_shipments_pk, keys.all_shipments_pks()),
    ],
    ids=["campaign orders", "orders in a status", "supplier deliveries", "all orders", "all parcels"],
)
def test_an_index_key_every_order_writes_is_spread_over_every_shard_its_readers_read(one, every):
    written = {one(f"o{n}") for n in range(400)}
    assert written == set(every) and len(every) == keys.INDEX_SHARDS > 1


def test_every_counter_every_order_moves_has_its_shards_under_distinct_partition_keys():
    for shards in (keys.order_status_stats_keys(), keys.campaign_summary_keys("c1"), keys.campaign_sales_keys("c1")):
        assert len({pk for pk, _ in shards}) == len(shards) == keys.COUNTER_SHARDS
    assert {keys.order_status_stats(f"o{n}") for n in range(400)} == set(keys.order_status_stats_keys())
    assert {keys.campaign_summary("c1", f"o{n}") for n in range(400)} == set(keys.campaign_summary_keys("c1"))
    assert {keys.campaign_sales("c1", f"o{n}") for n in range(400)} == set(keys.campaign_sales_keys("c1"))


def test_an_item_partition_key_is_the_same_for_its_meta_its_parts_and_its_events():
    assert keys.order("o1")[0] == keys.delivery("o1", "s")[0] == keys.order_pk("o1")
    assert keys.campaign("c1")[0] == keys.product("c1", "x")[0] == keys.campaign_pk("c1")
    assert keys.event_sk(NOW, "e").startswith(keys.EVENT_PREFIX)


def test_a_campaign_body_sorts_apart_from_its_audit_trail():
    body = [keys.campaign("c1")[1], keys.product("c1", "ZZZ")[1]]
    assert all(sk.startswith(keys.CAMPAIGN_BODY_PREFIX) for sk in body)
    assert not keys.event_sk(NOW, "e").startswith(keys.CAMPAIGN_BODY_PREFIX)
    assert max(body) < keys.event_sk(datetime(1970, 1, 1, tzinfo=UTC), "0")


def test_a_timestamp_with_an_offset_is_written_as_utc():
    assert keys.ts(datetime(2025, 3, 1, 14, 0, tzinfo=PLUS_TWO)) == keys.ts(NOW) == "2025-03-01T12:00:00.000000Z"


aware = st.datetimes(
    min_value=datetime(2000, 1, 2),
    max_value=datetime(2099, 12, 30),
    timezones=st.sampled_from([UTC, PLUS_TWO, timezone(timedelta(hours=-7, minutes=-30))]),
)


@settings(max_examples=200)
@given(aware, aware)
def test_timestamps_sort_like_the_instants_they_stand_for(a, b):
    if a < b:
        assert keys.ts(a) < keys.ts(b)
    elif a == b:
        assert keys.ts(a) == keys.ts(b)
    else:
        assert keys.ts(a) > keys.ts(b)


# ---------------------------------------------------------------- cursors

GSI_KEYS = ["PK", "SK", "GSI1PK", "GSI1SK"]
LEK = {
    "PK": {"S": "ORDER#o1"},
    "SK": {"S": "#META"},
    "GSI1PK": {"S": "CUSTOMER#u1#ORDERS"},
    "GSI1SK": {"S": "2025-03-01T12:00:00.000000Z#o1"},
}


def test_a_cursor_decodes_to_the_key_it_was_made_from():
    cursor = encode_cursor(LEK)
    assert cursor is not None and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor, GSI_KEYS) == LEK


@settings(max_examples=100)
@given(st.fixed_dictionaries({k: st.text(min_size=1).map(lambda s: {"S": s}) for k in GSI_KEYS}))
def test_any_last_evaluated_key_survives_the_round_trip(lek):
    assert decode_cursor(encode_cursor(lek), GSI_KEYS) == lek
    assert decode_cursor(encode_cursor(lek), GSI_KEYS, bound=("GSI1PK", lek["GSI1PK"]["S"])) == lek


def test_no_more_pages_means_no_cursor_and_no_cursor_means_the_first_page():
    assert encode_cursor(None) is None and encode_cursor({}) is None
    assert decode_cursor(None, GSI_KEYS) is None and decode_cursor("", GSI_KEYS) is None


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "%%%%",
        base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
        _b64([1, 2, 3]),
        _b64("a string"),
        _b64({**LEK, "Evil": {"S": "x"}}),  # a key this listing does not use
        _b64({k: v for k, v in LEK.items() if k != "SK"}),  # a key missing
        _b64({**LEK, "PK": {"N": "1"}}),  # a number where the table only has strings
        _b64({**LEK, "PK": {"S": 1}}),
        _b64({**LEK, "PK": "ORDER#o1"}),
        _b64({**LEK, "PK": {"S": "a", "N": "1"}}),
        encode_cursor(LEK)[:-3] + "@@@",
    ],
    ids=lambda c: c[:24],
)
def test_a_tampered_cursor_is_an_invalid_cursor(cursor):
    with pytest.raises(RuleViolation) as err:
        decode_cursor(cursor, GSI_KEYS)
    assert err.value.code == "invalid_cursor"


def test_a_cursor_from_another_partition_is_refused():
    with pytest.raises(RuleViolation) as err:
        decode_cursor(encode_cursor(LEK), GSI_KEYS, bound=("GSI1PK", "CUSTOMER#someone-else#ORDERS"))
    assert err.value.code == "invalid_cursor"


def test_a_cursor_from_another_index_is_refused():
    cursor = encode_cursor({"PK": {"S": "a"}, "SK": {"S": "b"}, "GSI3PK": {"S": "ORDERS#placed"}, "GSI3SK": {"S": "x"}})
    with pytest.raises(RuleViolation) as err:
        decode_cursor(cursor, GSI_KEYS)
    assert err.value.code == "invalid_cursor"
