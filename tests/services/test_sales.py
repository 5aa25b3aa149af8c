"""Sales so far per product on the in-memory store: placing adds, a refused or cancelled line and a
withdrawn order take off, and the supplier sees its own products only."""

from __future__ import annotations

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain.errors import Forbidden, NotFound, RuleViolation
from chalicelib.domain.orders import OrderAction
from chalicelib.domain.permissions import Principal, Role
from chalicelib.services import orders, sales
from tests.adapters import shop
from tests.adapters.shop import ALICE, BOB, CARE

ACME = Principal("sup-acme", frozenset({Role.SUPPLIER}), supplier_id="acme")


@pytest.fixture
def campaign_id(store: MemoryStore) -> str:
    shop.suppliers()
    return shop.live_campaign()


def units(campaign_id: str, who: Principal = ACME) -> list[tuple[str, int, int]]:
    return [(i.product_id, i.units, i.amount_cents) for i in sales.supplier_sales(who, campaign_id).items]


def test_placing_orders_adds_their_lines_to_the_suppliers_sales(store, campaign_id):
    shop.place(ALICE, campaign_id, ("MUG-1", 2), ("CAP-1", 1))
    before = store.commits
    shop.place(BOB, campaign_id, ("MUG-1", 1), ("MUG-2", 1))
    assert store.commits == before + 1  # counted inside the order's own transaction
    assert units(campaign_id) == [("MUG-1", 3, 3600), ("MUG-2", 1, 2500)]


def test_a_withdrawn_order_takes_its_lines_off(campaign_id):
    shop.place(ALICE, campaign_id, ("MUG-1", 2))
    gone = shop.place(BOB, campaign_id, ("MUG-1", 4))
    orders.change_order(BOB, gone.order.id, OrderAction.CANCEL)
    assert units(campaign_id) == [("MUG-1", 2, 2400)]


def test_refused_lines_take_their_units_off(campaign_id):
    record = shop.place(ALICE, campaign_id, ("MUG-1", 3))
    from chalicelib.domain.orders import LostLine
    from chalicelib.services.ports_sales import CountSales

    [change] = sales.lines_lost(record.order, "acme", [LostLine("MUG-1", "Mug", 2, 1200)])
    assert isinstance(change, CountSales) and change.lines[0].units == -2 and change.lines[0].amount_cents == -2400
    assert sales.lines_lost(record.order, "acme", []) == []


def test_a_supplier_with_no_product_in_the_campaign_gets_not_found(campaign_id):
    shop.place(ALICE, campaign_id, ("MUG-1", 1))
    stranger = Principal("sup-x", frozenset({Role.SUPPLIER}), supplier_id="nobody")
    with pytest.raises(NotFound):
        sales.supplier_sales(stranger, campaign_id)
    with pytest.raises(Forbidden):
        sales.supplier_sales(ALICE, campaign_id)


def test_staff_name_the_supplier(campaign_id):
    shop.place(ALICE, campaign_id, ("CAP-1", 2))
    assert [(i.product_id, i.units) for i in sales.staff_sales(CARE, campaign_id, "bolt").items] == [("CAP-1", 2)]
    with pytest.raises(RuleViolation):
        sales.staff_sales(CARE, campaign_id, None)
