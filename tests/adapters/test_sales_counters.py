"""Sales counters follow what is actually supplied: lines a supplier refuses at acknowledgement come
off its sales in the settlement's own transactions (on DynamoDB, as the PO consumer runs it)."""

from __future__ import annotations

from chalicelib.domain.permissions import Principal, Role
from chalicelib.handlers import purchase_orders
from chalicelib.services import sales
from tests.adapters.test_refunds import OOS, acknowledged, closed_shop

ACME = Principal("sup-acme", frozenset({Role.SUPPLIER}), supplier_id="acme")


def units(campaign_id: str) -> list[tuple[str, int, int]]:
    return [(i.product_id, i.units, i.amount_cents) for i in sales.supplier_sales(ACME, campaign_id).items]


def test_refused_lines_come_off_the_suppliers_sales_once(aws, campaign_id):
    closed_shop(campaign_id)  # MUG-1 x6 and MUG-2 x1 ordered from acme
    assert units(campaign_id) == [("MUG-1", 6, 6 * 1200), ("MUG-2", 1, 2500)]
    event = acknowledged(campaign_id, "acme", ("MUG-1", 4, OOS), ("MUG-2", 0, OOS))
    purchase_orders.handle(event)
    assert units(campaign_id) == [("MUG-1", 4, 4 * 1200), ("MUG-2", 0, 0)]
    purchase_orders.handle(event)  # redelivered: settles nothing more
    assert units(campaign_id) == [("MUG-1", 4, 4 * 1200), ("MUG-2", 0, 0)]
