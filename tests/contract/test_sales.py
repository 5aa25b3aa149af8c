"""What every store does with the sales counters (`services.ports_sales`), in memory and on DynamoDB:
lines add up per supplier and SKU across orders (and so across shards), a negated change takes them
back, and each supplier reads only its own."""

from __future__ import annotations

from chalicelib.services.ports import Store
from chalicelib.services.ports_sales import CountSales, ProductSales, SaleLine
from tests.unit.factories import NOW


def count(store: Store, order_id: str, *lines: SaleLine, campaign_id: str = "cmp_1") -> None:
    store.commit([CountSales(campaign_id, order_id, "EUR", tuple(lines))], what=f"order {order_id}", at=NOW)


def test_lines_add_up_per_supplier_and_sku_across_orders(store: Store) -> None:
    for n in range(6):  # enough orders to land on several shards
        count(store, f"ord_{n}", SaleLine("acme", "MUG-1", "Mug", 2, 2400), SaleLine("bolt", "CAP-1", "Cap", 1, 900))
    count(store, "ord_x", SaleLine("acme", "MUG-2", "Big mug", 1, 2500), SaleLine("acme", "MUG-2", "Big mug", 1, 2500))

    acme = store.campaign_sales("cmp_1", "acme")
    assert acme.currency == "EUR"
    assert acme.products == [ProductSales("MUG-1", "Mug", 12, 14400), ProductSales("MUG-2", "Big mug", 2, 5000)]
    assert store.campaign_sales("cmp_1", "bolt").products == [ProductSales("CAP-1", "Cap", 6, 5400)]


def test_a_negated_change_takes_the_lines_back_to_zero(store: Store) -> None:
    count(store, "ord_1", SaleLine("acme", "MUG-1", "Mug", 3, 3600))
    count(store, "ord_1", SaleLine("acme", "MUG-1", "Mug", -3, -3600))
    assert store.campaign_sales("cmp_1", "acme").products == [ProductSales("MUG-1", "Mug", 0, 0)]


def test_nothing_counted_reads_empty_without_a_currency(store: Store) -> None:
    count(store, "ord_1", SaleLine("acme", "MUG-1", "Mug", 1, 1200), campaign_id="cmp_other")
    empty = store.campaign_sales("cmp_1", "acme")
    assert (empty.currency, empty.products) == (None, [])
    assert store.campaign_sales("cmp_other", "bolt").products == []
