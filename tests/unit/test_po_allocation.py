"""From orders to purchase-order lines and back: summing at close, sharing out what a supplier
accepted (first come, first served), and settling each delivery (accepted, cut or rejected)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidTransition, RuleViolation
from chalicelib.domain.orders import DeliveryAction, LostLine, apply_delivery_action, kept_quantities, settle_acknowledgement
from chalicelib.domain.purchase_orders import po_id
from chalicelib.domain.supply import Allocator, POAggregate, allocate

from .factories import NOW, PRODUCTS, D, O, place


def ordered(*lines: tuple[str, int]):
    order = place(*lines)
    for d in order.deliveries:
        apply_delivery_action(order, d.supplier_id, DeliveryAction.SEND_PO)
    return order


# ---------------------------------------------------------------- summing at close


def test_a_po_sums_each_suppliers_lines_across_orders_with_unit_costs_from_the_products():
    agg = POAggregate()
    agg.add(place(("MUG-1", 2), ("CAP-1", 1)).lines)
    agg.add(place(("MUG-1", 3), ("MUG-2", 1)).lines)
    pos = {po.supplier_id: po for po in agg.purchase_orders("cmp-1", "EUR", PRODUCTS, NOW)}

    assert set(pos) == {"acme", "bolt"}
    acme = pos["acme"]
    assert acme.id == po_id("cmp-1", "acme")
    assert [(l.sku, l.ordered_quantity, l.unit_cost_cents) for l in acme.lines] == [("MUG-1", 5, 500), ("MUG-2", 1, 900)]
    assert acme.order_count == 2 and pos["bolt"].order_count == 1
    assert acme.ordered_cents == 5 * 500 + 900


def test_the_sums_hold_nothing_per_order():
    agg = POAggregate()
    for _ in range(1000):
        agg.add(place(("MUG-1", 1)).lines)
    assert agg.quantities == {"acme": {"MUG-1": 1000}} and agg.order_counts == {"acme": 1000}


def test_an_ordered_sku_missing_from_the_campaign_is_refused():
    agg = POAggregate()
    agg.add(place(("MUG-1", 1)).lines)
    with pytest.raises(RuleViolation):
        agg.purchase_orders("cmp-1", "EUR", {}, NOW)


# ---------------------------------------------------------------- sharing out


def test_the_earliest_orders_keep_what_was_accepted():
    kept = allocate({"MUG-1": 4}, [("o1", "MUG-1", 3), ("o2", "MUG-1", 2), ("o3", "MUG-1", 1)])
    assert kept == {("o1", "MUG-1"): 3, ("o2", "MUG-1"): 1, ("o3", "MUG-1"): 0}


def test_a_replayed_order_uses_up_what_it_kept_so_a_rerun_shares_out_the_same():
    first = Allocator({"MUG-1": 4})
    first.take("MUG-1", 3)
    rerun = Allocator({"MUG-1": 4})
    rerun.replay("MUG-1", 3)  # settled before the crash
    assert rerun.take("MUG-1", 2) == first.take("MUG-1", 2) == 1


def test_offering_takes_nothing():
    a = Allocator({"MUG-1": 2})
    assert a.offer("MUG-1", 5) == 2 and a.remaining == {"MUG-1": 2}


@settings(max_examples=200, deadline=None)
@given(accepted=st.integers(0, 30), asks=st.lists(st.integers(1, 9), max_size=12))
def test_sharing_out_never_gives_more_than_asked_or_accepted_and_first_come_first_served(accepted, asks):
    kept = allocate({"S": accepted}, [(f"o{i}", "S", q) for i, q in enumerate(asks)])
    values = [kept[(f"o{i}", "S")] for i in range(len(asks))]
    assert all(0 <= k <= q for k, q in zip(values, asks, strict=True))
    assert sum(values) == min(accepted, sum(asks))
    short = [i for i, (k, q) in enumerate(zip(values, asks, strict=True)) if k < q]
    assert all(values[j] == 0 for j in short[1:])  # after the first order cut short, nobody gets any


# ---------------------------------------------------------------- settling a delivery


def test_a_delivery_keeping_everything_is_accepted_unchanged():
    order = ordered(("MUG-1", 2), ("CAP-1", 1))
    transition, lost = settle_acknowledgement(order, "acme", {"MUG-1": 2})
    assert lost == [] and order.delivery("acme").status is D.ACCEPTED
    assert transition.to_status == O.ORDERED.value
    assert [(l.sku, l.quantity) for l in order.lines] == [("MUG-1", 2), ("CAP-1", 1)]


def test_a_delivery_cut_short_keeps_reduced_lines_and_drops_lines_keeping_nothing():
    order = ordered(("MUG-1", 3), ("MUG-2", 1), ("CAP-1", 1))
    _, lost = settle_acknowledgement(order, "acme", {"MUG-1": 1, "MUG-2": 0})
    assert order.delivery("acme").status is D.ACCEPTED
    assert [(l.sku, l.quantity) for l in order.lines] == [("MUG-1", 1), ("CAP-1", 1)]
    assert lost == [LostLine("MUG-1", "Mug", 2, 1200), LostLine("MUG-2", "Big mug", 1, 2500)]
    assert order.payable_cents == 1200 + 900
    assert order.total_cents == 7000  # what was ordered keeps its meaning
    assert sum(l.amount_cents for l in lost) == 2 * 1200 + 2500


def test_a_delivery_keeping_nothing_is_rejected_and_its_lines_stay_as_the_record():
    order = ordered(("MUG-1", 2), ("CAP-1", 1))
    _, lost = settle_acknowledgement(order, "acme", {"MUG-1": 0})
    assert order.delivery("acme").status is D.REJECTED and order.delivery("bolt").status is D.ORDERED
    assert lost == [LostLine("MUG-1", "Mug", 2, 1200)]
    assert [(l.sku, l.quantity) for l in order.lines] == [("MUG-1", 2), ("CAP-1", 1)]


def test_settling_twice_is_refused_and_a_settled_delivery_tells_what_it_kept():
    order = ordered(("MUG-1", 3), ("MUG-2", 1))
    assert kept_quantities(order, "acme") is None
    settle_acknowledgement(order, "acme", {"MUG-1": 2, "MUG-2": 0})
    assert kept_quantities(order, "acme") == {"MUG-1": 2}
    with pytest.raises(InvalidTransition):
        settle_acknowledgement(order, "acme", {"MUG-1": 2})
    rejected = ordered(("MUG-1", 3))
    settle_acknowledgement(rejected, "acme", {})
    assert kept_quantities(rejected, "acme") == {}


def test_keeping_more_than_was_ordered_is_refused():
    order = ordered(("MUG-1", 2))
    with pytest.raises(RuleViolation):
        settle_acknowledgement(order, "acme", {"MUG-1": 3})
    assert order.delivery("acme").status is D.ORDERED


def test_a_delivery_not_on_a_purchase_order_cannot_be_settled():
    order = place(("MUG-1", 2))  # still pending: the campaign has not closed
    assert kept_quantities(order, "acme") is None
    with pytest.raises(InvalidTransition):
        settle_acknowledgement(order, "acme", {"MUG-1": 2})
