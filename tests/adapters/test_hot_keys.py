"""No hot key at 100 orders/s, in counts: a small recorded mix (place, accept, ship, carrier events,
complaints) replayed on moto, every write counted per partition key of the table and of each GSI and
per counter item (`bench.hotkeys`, the meter `make bench` prints from). At 100 orders/s the mix of n
orders lasts n / 100 s, so "at most 1,000 WCU/s on a key" is "at most 10 WCU per order placed" and
"at most 100 writes/s on a counter item" is "at most one write per order placed". Ids are minted in
sequence so that which shard each order lands on, and so every count, is the same on every run."""

from __future__ import annotations

import itertools

import pytest

from bench.dynamo import no_table_snapshots
from bench.hotkeys import INDEXES, WriteMeter, replay
from chalicelib.adapters.dynamodb import keys
from chalicelib.services import orders, shipments

ORDERS = 30

# Index keys every order (or parcel) writes, by index: their family (the key without its shard).
SHARDED = {
    "GSI1": lambda k: k.startswith("SUPPLIER#") and "#DELIVERIES#" in k,
    "GSI2": lambda k: k.startswith("CAMPAIGN#") and "#ORDERS#" in k,
    "GSI3": lambda k: k.startswith("ORDERS#"),
    "GSI4": lambda k: k.startswith(("ORDERS#", "SHIPMENTS#")),
}


@pytest.fixture(scope="module")
def written() -> tuple[WriteMeter, int]:
    from moto import mock_aws

    from chalicelib.adapters.aws import reset_clients
    from tests.adapters.conftest import _SESSION
    from tests.aws import SFN_CONFIG, provisioned

    sequence = itertools.count()
    with pytest.MonkeyPatch.context() as patch, mock_aws(config=SFN_CONFIG), no_table_snapshots():  # type: ignore[arg-type]
        for module in (orders, shipments):
            patch.setattr(module, "new_id", lambda prefix: f"{prefix}_{next(sequence):026d}")
        reset_clients()
        provisioned(session=_SESSION)
        meter = WriteMeter()
        mix = replay(ORDERS, meter)
        reset_clients()
    assert mix.orders == mix.accepted == ORDERS and mix.complaints > 0, mix
    assert mix.parcels >= ORDERS and mix.carrier_events == 3 * mix.parcels and not mix.refused, mix
    return meter, mix.orders


def test_no_partition_key_of_the_table_or_of_any_index_takes_more_than_its_1000_wcu_per_second(written):
    meter, n = written
    for name, wcu in [("table", meter.table_wcu)] + [(i, meter.gsi_wcu[i]) for i in INDEXES]:
        key, top = wcu.most_common(1)[0]
        assert top <= 10 * n, f"{name}: {key} takes {top} WCU for {n} orders ({top * 100 // n} WCU/s at 100 orders/s)"


def test_no_counter_item_takes_more_than_one_write_per_order(written):
    meter, n = written
    assert meter.counters, "the mix moves counters"
    (pk, sk), top = meter.counters.most_common(1)[0]
    assert top <= n, f"{pk} / {sk}: {top} writes for {n} orders"
    # and the counters every order moves are spread: no partition key holds two of their shards
    every_order = [k for k in meter.counters if not k[1].startswith(keys.STATS_STAGE_PREFIX)]
    assert len({pk for pk, _ in every_order}) == len(every_order)


@pytest.mark.parametrize("index", list(SHARDED))
def test_every_index_key_every_order_writes_is_spread_over_its_shards_none_above_its_share(written, index):
    meter, _ = written
    families: dict[str, dict[str, int]] = {}
    for key, count in meter.gsi[index].items():
        if SHARDED[index](key):
            family, _, shard = key.rpartition("#")
            assert shard.isdigit() and int(shard) < keys.INDEX_SHARDS, key
            families.setdefault(family, {})[key] = count
    assert families, f"the mix writes {index}'s sharded keys"
    for family, shards in families.items():
        total = sum(shards.values())
        if total < 4 * keys.INDEX_SHARDS:
            continue  # too few writes for a share to mean anything (a status few orders reach)
        assert len(shards) > keys.INDEX_SHARDS // 2, f"{family}: {len(shards)} shards written"
        assert max(shards.values()) <= 3 * total / keys.INDEX_SHARDS, f"{family}: {shards}"


def test_parcels_leave_their_po_item_as_it_is_but_the_last_and_spread_their_counts_over_its_count_items(written):
    """Every parcel used to rewrite its PO under a version (and its four index copies): one supplier's
    parcels waited for each other on one item. Now the PO item is written once, by the parcel that ends
    its stage, and the parcels' counts go to the PO's count items (no index attributes), a share each."""
    meter, _ = written
    po_items = {pk: n for (pk, sk), n in meter.items.items() if pk.startswith("PO#") and sk == keys.META}
    assert po_items and set(po_items.values()) == {1}, po_items  # each PO: its last parcel, once
    counts: dict[str, dict[str, int]] = {}
    for (pk, sk), n in meter.items.items():
        if sk.startswith(keys.PO_SHIPPED_PREFIX):
            counts.setdefault(pk, {})[sk] = n
    assert set(counts) == set(po_items)
    for shards in counts.values():
        parcels = sum(shards.values())
        assert len(shards) > keys.PO_SHIPPED_SHARDS // 2 and max(shards.values()) <= 3 * parcels / keys.PO_SHIPPED_SHARDS, shards
    # ... and the PO's index keys take no write per parcel (the PO's one write, to each of its four indexes)
    for index, prefix in (("GSI1", "SUPPLIER#"), ("GSI2", "CAMPAIGN#"), ("GSI4", keys.ALL_POS_PK)):
        pos_keys = {k: n for k, n in meter.gsi[index].items() if k.startswith(prefix) and k.endswith(("#POS", "POS"))}
        assert pos_keys and max(pos_keys.values()) <= len(po_items), (index, pos_keys)
